"""Invite links: single use, expiring, and only their hash is stored."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime
from enum import StrEnum

PREFIX = "i"
_PAYLOAD = re.compile(r"^i([A-Za-z0-9_-]{20,40})$")
INVITABLE_ROLES = ("family", "volunteer", "referrer", "coordinator")


class InviteProblem(StrEnum):
    MALFORMED = "malformed"
    UNKNOWN = "unknown"
    USED = "used"
    EXPIRED = "expired"


def new_token() -> str:
    """A fresh random invite token (24 URL-safe characters), unguessable."""
    return secrets.token_urlsafe(18)


def payload_for(token: str) -> str:
    """The deep-link payload (t.me/<bot>?start=<payload>): letters, digits, _ and - only."""
    return f"{PREFIX}{token}"


def token_from_payload(payload: str) -> str | None:
    """The token in an invite deep-link payload, or None when the payload is not an invite."""
    match = _PAYLOAD.match(payload.strip())
    return match.group(1) if match else None


def hash_token(token: str) -> str:
    """What is stored of a token (its SHA-256), so the database never holds a usable invite link."""
    return hashlib.sha256(token.encode()).hexdigest()


def check(*, found: bool, used_at: datetime | None, expires_at: datetime | None, now: datetime) -> InviteProblem | None:
    """Why an invite cannot be used, or None when it can."""
    if not found or expires_at is None:
        return InviteProblem.UNKNOWN
    if used_at is not None:
        return InviteProblem.USED
    if expires_at <= now:
        return InviteProblem.EXPIRED
    return None
