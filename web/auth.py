"""Who is asking: Telegram's signed Mini App `initData`, checked once, exchanged for a short workspace session.

Telegram signs the `initData` it hands the Mini App ("Validating data received via the Mini App"): the
data-check-string is every field but `hash`, sorted by key, as `key=value` lines joined by "\\n"; the secret
key is HMAC-SHA256 of the bot token with the key "WebAppData"; `hash` is the hex HMAC-SHA256 of the
data-check-string with that secret key. We also require `auth_date` to be at most
`WORKSPACE_INIT_MAX_AGE_SECONDS` old, and accept each `initData` once (its digest is stored,
`storage.workspace.use_once`): a replayed one is refused. The first request exchanges it for a session token
(signed with a key derived from the bot token, valid `WORKSPACE_SESSION_MINUTES`), which the page keeps in
memory and sends as `Authorization: Bearer …` with every later request; a cross-site page can neither read
nor send it. POSTs also need the session's CSRF token and a same-origin `Origin`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from urllib.parse import parse_qsl, urlencode

INIT_HEADER = "X-Telegram-Init-Data"
SESSION_HEADER = "X-Workspace-Session"
MAX_INIT_LENGTH = 4096


class Refused(StrEnum):
    """Why an initData or a session token was not accepted (every one answered 401)."""

    MISSING = "missing"
    MALFORMED = "malformed"
    FORGED = "forged"  # the hash does not match: changed, or signed with another bot's token
    EXPIRED = "expired"
    REPLAYED = "replayed"


@dataclass(frozen=True)
class InitUser:
    """The Telegram user a checked initData names, and the digest that makes it used-once."""

    telegram_id: int
    language_code: str | None
    auth_date: datetime
    digest: str


def _secret_key(token: str) -> bytes:
    """Telegram's secret key for Mini App data: HMAC-SHA256 of the bot token, keyed with "WebAppData"."""
    return hmac.new(b"WebAppData", token.encode(), hashlib.sha256).digest()


def _check_string(pairs: dict[str, str]) -> str:
    """The data-check-string: every field but `hash`, sorted by key, `key=value` joined by newlines."""
    return "\n".join(f"{key}={pairs[key]}" for key in sorted(pairs) if key != "hash")


def sign_init_data(token: str, fields: dict[str, str]) -> str:
    """An initData query string signed as Telegram signs it (for tests and the demo, which hold the token)."""
    digest = hmac.new(_secret_key(token), _check_string(fields).encode(), hashlib.sha256).hexdigest()
    return urlencode({**fields, "hash": digest})


def init_data_for(token: str, *, telegram_id: int, first_name: str, language: str, now: datetime) -> str:
    """A signed initData for one user at `now`, as a Mini App would receive it."""
    user = json.dumps({"id": telegram_id, "first_name": first_name, "language_code": language}, separators=(",", ":"))
    nonce = hashlib.sha256(f"{telegram_id}:{now.timestamp()}".encode()).hexdigest()[:16]
    return sign_init_data(token, {"auth_date": str(int(now.timestamp())), "query_id": nonce, "user": user})


def check_init_data(raw: str | None, *, token: str, now: datetime, max_age: timedelta) -> InitUser | Refused:
    """The user a genuine, fresh initData names, or why it is refused (replay is checked by the caller)."""
    if not raw:
        return Refused.MISSING
    if len(raw) > MAX_INIT_LENGTH:
        return Refused.MALFORMED
    try:
        items = parse_qsl(raw, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        return Refused.MALFORMED
    pairs = dict(items)
    if len(pairs) != len(items) or "hash" not in pairs:
        return Refused.MALFORMED
    expected = hmac.new(_secret_key(token), _check_string(pairs).encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, pairs["hash"].lower()):
        return Refused.FORGED
    try:
        auth_date = datetime.fromtimestamp(int(pairs["auth_date"]), tz=now.tzinfo)
        user = json.loads(pairs["user"])
        telegram_id = int(user["id"])
    except (KeyError, ValueError, TypeError):
        return Refused.MALFORMED
    if now - auth_date > max_age or auth_date - now > timedelta(minutes=1):
        return Refused.EXPIRED
    language = user.get("language_code") if isinstance(user.get("language_code"), str) else None
    digest = hashlib.sha256(pairs["hash"].encode()).hexdigest()
    return InitUser(telegram_id=telegram_id, language_code=language, auth_date=auth_date, digest=digest)


# --- the session ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class WorkspaceSession:
    """A checked coordinator's session: whose it is, until when, and the CSRF token its forms carry."""

    person_id: int
    expires: datetime
    csrf: str


def _session_key(token: str) -> bytes:
    """The key that signs workspace sessions, derived from the bot token (another bot's sessions never fit)."""
    return hmac.new(b"WaakvlamWorkspaceSession", token.encode(), hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    """URL-safe base64 without padding."""
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    """The bytes of `_b64`'s text."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def issue_session(token: str, *, person_id: int, now: datetime, minutes: int, nonce: str) -> str:
    """A signed session token for this coordinator, valid `minutes` from now."""
    body = _b64(
        json.dumps({"p": person_id, "e": int((now + timedelta(minutes=minutes)).timestamp()), "n": nonce}).encode()
    )
    mac = _b64(hmac.new(_session_key(token), body.encode(), hashlib.sha256).digest())
    return f"{body}.{mac}"


def read_session(value: str | None, *, token: str, now: datetime) -> WorkspaceSession | Refused:
    """The session a token stands for, or why it is refused (forged, expired, missing)."""
    if not value:
        return Refused.MISSING
    body, _dot, mac = value.partition(".")
    expected = _b64(hmac.new(_session_key(token), body.encode(), hashlib.sha256).digest())
    if not mac or not hmac.compare_digest(expected, mac):
        return Refused.FORGED
    try:
        data = json.loads(_unb64(body))
        person_id, expires = int(data["p"]), datetime.fromtimestamp(int(data["e"]), tz=now.tzinfo)
    except (KeyError, ValueError, TypeError):
        return Refused.MALFORMED
    if expires <= now:
        return Refused.EXPIRED
    csrf = _b64(hmac.new(_session_key(token), f"csrf:{value}".encode(), hashlib.sha256).digest())[:32]
    return WorkspaceSession(person_id=person_id, expires=expires, csrf=csrf)
