"""A local fake Telegram Bot API for tests, the demo and benchmarks. See README.md beside this file."""

from sandbox.calls import Call, Refusal, Rejection, Stats
from sandbox.people import SimGroup, SimUser, TopicView
from sandbox.records import CallbackAnswer, ChatMessage
from sandbox.server import Sandbox

__all__ = [
    "Call",
    "CallbackAnswer",
    "ChatMessage",
    "Refusal",
    "Rejection",
    "Sandbox",
    "SimGroup",
    "SimUser",
    "Stats",
    "TopicView",
]
