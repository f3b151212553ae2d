"""Referrals by professionals: the short lists a referral is made of, and its single-use link.

A referral holds no diagnosis: the reason is one of a few keys, shown to the family in its own language.
The link works like an invite (only its hash is stored) with its own prefix, so the two never mix.
"""

from __future__ import annotations

import re

PREFIX = "r"
_PAYLOAD = re.compile(r"^r([A-Za-z0-9_-]{20,40})$")

REASONS = ("parenting", "alone", "health", "newcomer", "practical", "other")
CONTACT_WAYS = ("chat", "phone", "referrer")
VALID_DAYS = 30


def payload_for(token: str) -> str:
    """The deep-link payload of a referral (t.me/<bot>?start=<payload>)."""
    return f"{PREFIX}{token}"


def token_from_payload(payload: str) -> str | None:
    """The token in a referral's deep-link payload, or None when the payload is not a referral."""
    match = _PAYLOAD.match(payload.strip())
    return match.group(1) if match else None


def month_of(year: int, month: int) -> str:
    """The month a count is kept under ("2026-12")."""
    return f"{year:04d}-{month:02d}"
