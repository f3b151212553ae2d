"""Formatting in the reader's language and zone, and the safety of values put into HTML."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.i18n import format_when, h, hi, isolate, use_language
from domain import invites


def test_dates_are_local_and_in_the_readers_language_across_dst() -> None:
    summer = datetime(2026, 10, 24, 13, 0, tzinfo=UTC)  # 15:00 in Amsterdam (CEST)
    winter = datetime(2026, 11, 24, 14, 0, tzinfo=UTC)  # 15:00 in Amsterdam (CET)
    assert format_when(winter, "Europe/Amsterdam", "nl") == "dinsdag 24 november om 15:00"
    assert format_when(summer, "Europe/Amsterdam", "nl").endswith("om 15:00")
    assert format_when(winter, "Europe/Amsterdam", "en") == "Tuesday 24 November at 15:00"


def test_html_values_are_escaped_and_isolated_in_right_to_left_text() -> None:
    assert h("<b>Ali & Co</b>") == "&lt;b&gt;Ali &amp; Co&lt;/b&gt;"
    assert isolate("Ali", "ar") == "\u2068Ali\u2069"
    assert isolate("Ali", "nl") == "Ali"
    with use_language("nl"):
        assert hi("<i>") == "&lt;i&gt;"


def test_invite_tokens_round_trip_and_forgeries_are_refused() -> None:
    token = invites.new_token()
    assert invites.token_from_payload(invites.payload_for(token)) == token
    assert len(invites.payload_for(token)) <= 64
    for forged in ["", "i", "i../../x", "x" + token, "i" + "a" * 80, "i<b>aaaaaaaaaaaaaaaaaaaaaaa</b>"]:
        assert invites.token_from_payload(forged) is None
    now = datetime(2026, 11, 24, tzinfo=UTC)
    assert invites.check(found=False, used_at=None, expires_at=None, now=now) == invites.InviteProblem.UNKNOWN
    assert invites.check(found=True, used_at=now, expires_at=now, now=now) == invites.InviteProblem.USED
    assert invites.check(found=True, used_at=None, expires_at=now, now=now) == invites.InviteProblem.EXPIRED
    assert invites.hash_token(token) != token
