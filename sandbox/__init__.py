"""A local fake Telegram Bot API for tests, the demo and benchmarks. See README.md beside this file."""

from sandbox.people import SimGroup, SimUser, TopicView
from sandbox.records import CallbackAnswer, ChatMessage
from sandbox.server import Call, Refusal, Rejection, Sandbox, Stats

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
