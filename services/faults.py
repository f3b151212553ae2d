"""Fault injection for the crash tests (tests/delivery): inert unless WAAKVLAM_CRASH_AT is set.

`WAAKVLAM_CRASH_AT=<point>` is read once, when this module is imported. The process then kills
itself with SIGKILL (no cleanup, no `finally`, like a power cut or the OOM killer) the first time it
reaches that point. Unset or empty, every `crash_point()` call is a comparison and nothing else.
The points, in the order a message passes them (see docs/delivery.md):

- `after_inbox_store`: updates are committed to the inbox, not yet confirmed to Telegram or handled;
- `before_handle`: an update is claimed for handling (committed `processing`), not yet handled;
- `after_reply`: a handler's reply to the person reached Telegram, the handler has not finished
  (for an urgent message: the concern, the alerts and the safety numbers are committed, the numbers sent);
- `before_send`: an outbox row is committed and claimed by the sender, Telegram not yet called;
- `after_send`: Telegram accepted the message, its row is not yet marked `sent`.
"""

from __future__ import annotations

import os
import signal

POINTS = frozenset({"after_inbox_store", "before_handle", "after_reply", "before_send", "after_send"})

CRASH_AT = os.environ.get("WAAKVLAM_CRASH_AT", "").strip() or None
if CRASH_AT is not None and CRASH_AT not in POINTS:
    raise ValueError(f"WAAKVLAM_CRASH_AT must be one of {sorted(POINTS)}, not {CRASH_AT!r}")


def crash_point(name: str) -> None:
    """Die here, at once and uncleanly, if WAAKVLAM_CRASH_AT names this point."""
    if name == CRASH_AT:
        os.kill(os.getpid(), signal.SIGKILL)
