"""Formatting in the reader's language and zone, and the safety of values put into HTML."""

from __future__ import annotations

from datetime import UTC, datetime

from domain import invites
from services.i18n import format_when, h, hi, isolate, use_language


def test_dates_are_local_and_in_the_readers_language_across_dst() -> None:
    summer = datetime(2026, 10, 24, 13, 0, tzinfo=UTC)  # 15:00 in Amsterdam (CEST)
    winter = datetime(2026, 11, 24, 14, 0, tzinfo=UTC)  # 15:00 in Amsterdam (CET)
    assert format_when(winter, "Europe/Amsterdam", "nl") == "dinsdag 24 november om 15:00"
    assert format_when(summer, "Europe/Amsterdam", "nl").endswith("om 15:00")
    assert format_when(winter, "Europe/Amsterdam", "en") == "Tuesday 24 November at 15:00"


def test_html_values_are_escaped_and_names_isolated_in_every_language() -> None:
    assert h("<b>Ali & Co</b>") == "&lt;b&gt;Ali &amp; Co&lt;/b&gt;"
    assert isolate("Ali", "ar") == "\u2068Ali\u2069"
    assert isolate("Ali", "nl") == "\u2068Ali\u2069"
    for language in ("nl", "en", "ar", "tr", "pl", "uk"):
        with use_language(language):
            assert hi("<i>") == "\u2068&lt;i&gt;\u2069"


def test_a_bidi_override_in_a_name_cannot_reverse_the_rest_of_the_message() -> None:
    # "Ali" + RIGHT-TO-LEFT OVERRIDE would show the rest of a left-to-right line backwards; inside the
    # isolate the override ends at the PDI. A PDI in the name cannot close the isolate early.
    for name in ("Ali\u202e", "\u202eAli", "Ali\u202b", "Ali\u2067", "Ali\u2069\u202e"):
        with use_language("en"):
            shown = hi(name)
        assert shown.startswith("\u2068") and shown.endswith("\u2069")
        assert shown.count("\u2068") == 1 and shown.count("\u2069") == 1
    assert hi(hi("Ali")) == hi("Ali"), "isolating twice gives one isolate"


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
