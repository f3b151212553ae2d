"""`python -m bot`, with the leases shortened: for tests in which a killed process's claims must run out.

A dead instance's claims end only when their leases do (60 s for a message being sent, 2 minutes
for an update being handled, 15 s for the sender's turn). Tests that kill a process and want the
next one to take over set WAAKVLAM_TEST_LEASE_SECONDS; everything else is the bot as shipped.
"""

from __future__ import annotations

import os
import sys
from datetime import timedelta

import bot.inbox
import bot.sender
import bot.tick
from bot.__main__ import main

seconds = float(os.environ.get("WAAKVLAM_TEST_LEASE_SECONDS") or 0)
if seconds > 0:
    lease = timedelta(seconds=seconds)
    bot.sender.CLAIM_LEASE = lease
    bot.sender.SENDER_LEASE = lease
    bot.inbox.HANDLING_LEASE = lease
    bot.tick.JOB_LEASE = lease

if __name__ == "__main__":
    sys.exit(main(["run"]))
