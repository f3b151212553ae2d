"""How fast one person's messages are relayed to the coordinators (so one person cannot bury them).

A burst of `burst` messages goes on at once; after that one every `every`. Messages above that pace
are not dropped or merged: each gets a later due time, in the order written, so the coordinators still
receive every one, just spread out, and other families' messages are not held up behind them. This is
the generic cell rate algorithm; its whole state is one moment (`theoretical`, the time at which the
person's allowance would be used up if they stopped now), carried from one message to the next.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Pace:
    burst: int = 10
    every: timedelta = timedelta(seconds=10)
    # Messages closer together than this are "in a row": the family needs one acknowledgement, not one each.
    ack_gap: timedelta = timedelta(minutes=2)


@dataclass(frozen=True)
class PaceState:
    """What the previous relayed message of this person left behind."""

    at: datetime  # when it was written
    theoretical: datetime
    held: bool  # whether it was held back (due later than written)


@dataclass(frozen=True)
class Decision:
    due: datetime  # when the copy may be sent (now, or later when above the pace)
    held: bool
    notice: bool  # the first held message of a run: tell the person, once, that theirs are slowed
    ack: bool  # the first message of a run in a row: acknowledge it
    state: PaceState


def next_relay(previous: PaceState | None, *, now: datetime, pace: Pace) -> Decision:
    """The due time of a person's next relayed message, and what to tell them."""
    tolerance = pace.every * max(0, pace.burst - 1)
    theoretical = now if previous is None else max(previous.theoretical, now)
    due = max(now, theoretical - tolerance)
    held = due > now
    state = PaceState(at=now, theoretical=theoretical + pace.every, held=held)
    in_a_row = previous is not None and now - previous.at <= pace.ack_gap
    return Decision(
        due=due,
        held=held,
        notice=held and not (previous is not None and previous.held),
        ack=not held and not in_a_row,
        state=state,
    )


def unpaced(previous: PaceState | None, *, now: datetime) -> Decision:
    """A message that is not paced: a danger sign goes on at once, costs no allowance and needs no ack."""
    if previous is None:
        state = PaceState(at=now, theoretical=now, held=False)
    else:
        state = PaceState(at=now, theoretical=previous.theoretical, held=previous.held)
    return Decision(due=now, held=False, notice=False, ack=False, state=state)
