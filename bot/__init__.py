"""Waakvlam's wiring: settings, application factory, inbox, sender, tick, web server and CLI."""

import os

# PTB 22.2 announced that time periods (such as a 429's retry_after) become timedeltas; the bot reads both,
# so it opts in now instead of warning on every flood answer.
os.environ.setdefault("PTB_TIMEDELTA", "true")
