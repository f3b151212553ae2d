"""The order in which the outbox sends: urgent alerts first, then concerns, then everything else.

Lower numbers go first. Within one priority the outbox keeps the order in which messages became due
(`not_before`, then the order they were queued), so one chat's messages of one kind never overtake
each other. A message of a higher priority may overtake lower ones, also in the same chat: that is the
point (an urgent alert must not wait behind a family's earlier chat messages).
"""

from __future__ import annotations

from enum import IntEnum


class Priority(IntEnum):
    URGENT = 0  # a danger sign: the alert to every coordinator, its topic card and the message itself
    CONCERN = 1  # concern alerts and escalation steps, "X has taken this", delivery trouble
    NORMAL = 2  # relayed messages, check-ins, reminders, offers, digests, everything else


# Purposes (the outbox's `purpose` column) that are concerns unless the caller says urgent. The safety
# numbers to someone who wrote a danger sign are as urgent as the alert about it.
_BY_PURPOSE = {"alert": Priority.CONCERN, "safety": Priority.URGENT}


def for_purpose(purpose: str) -> Priority:
    """The priority of a message queued for this purpose when the caller names none."""
    return _BY_PURPOSE.get(purpose, Priority.NORMAL)
