"""The Mini App's initData check (Telegram's HMAC-SHA256 with the key "WebAppData") and the session token."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlencode

from web import auth

TOKEN = "555555555:workspace-test-token"
NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
AGE = timedelta(minutes=5)


def fresh(now: datetime = NOW, token: str = TOKEN, telegram_id: int = 42) -> str:
    return auth.init_data_for(token, telegram_id=telegram_id, first_name="Cees", language="ar", now=now)


def test_a_genuine_fresh_init_data_names_its_user() -> None:
    checked = auth.check_init_data(fresh(), token=TOKEN, now=NOW + timedelta(seconds=30), max_age=AGE)
    assert isinstance(checked, auth.InitUser)
    assert checked.telegram_id == 42 and checked.language_code == "ar"
    assert len(checked.digest) == 64


def test_the_signature_is_the_one_telegram_documents() -> None:
    """Computed here independently: secret = HMAC_SHA256(key="WebAppData", bot token); hash over sorted lines."""
    fields = {"auth_date": str(int(NOW.timestamp())), "query_id": "AAE1", "user": json.dumps({"id": 7})}
    secret = hmac.new(b"WebAppData", TOKEN.encode(), hashlib.sha256).digest()
    check = "\n".join(f"{key}={fields[key]}" for key in sorted(fields))
    signed = urlencode({**fields, "hash": hmac.new(secret, check.encode(), hashlib.sha256).hexdigest()})
    checked = auth.check_init_data(signed, token=TOKEN, now=NOW, max_age=AGE)
    assert isinstance(checked, auth.InitUser) and checked.telegram_id == 7


def test_a_forged_hash_or_a_changed_field_is_refused() -> None:
    pairs = dict(parse_qsl(fresh()))
    forged = urlencode({**pairs, "hash": "0" * 64})
    assert auth.check_init_data(forged, token=TOKEN, now=NOW, max_age=AGE) == auth.Refused.FORGED
    other_user = urlencode({**pairs, "user": json.dumps({"id": 43, "first_name": "Cees"})})
    assert auth.check_init_data(other_user, token=TOKEN, now=NOW, max_age=AGE) == auth.Refused.FORGED


def test_init_data_signed_with_another_bots_token_is_refused() -> None:
    other = fresh(token="666666666:another-bots-token")
    assert auth.check_init_data(other, token=TOKEN, now=NOW, max_age=AGE) == auth.Refused.FORGED


def test_expired_init_data_is_refused() -> None:
    late = NOW + AGE + timedelta(seconds=1)
    assert auth.check_init_data(fresh(), token=TOKEN, now=late, max_age=AGE) == auth.Refused.EXPIRED
    from_the_future = fresh(now=NOW + timedelta(hours=1))
    assert auth.check_init_data(from_the_future, token=TOKEN, now=NOW, max_age=AGE) == auth.Refused.EXPIRED


def test_missing_or_malformed_init_data_is_refused() -> None:
    assert auth.check_init_data(None, token=TOKEN, now=NOW, max_age=AGE) == auth.Refused.MISSING
    assert auth.check_init_data("", token=TOKEN, now=NOW, max_age=AGE) == auth.Refused.MISSING
    assert auth.check_init_data("user=1", token=TOKEN, now=NOW, max_age=AGE) == auth.Refused.MALFORMED
    twice = fresh() + "&user=2"
    assert auth.check_init_data(twice, token=TOKEN, now=NOW, max_age=AGE) == auth.Refused.MALFORMED
    assert auth.check_init_data("x" * 5000, token=TOKEN, now=NOW, max_age=AGE) == auth.Refused.MALFORMED


def test_a_session_token_is_bound_to_the_bot_and_expires() -> None:
    token = auth.issue_session(TOKEN, person_id=5, now=NOW, minutes=30, nonce="n")
    session = auth.read_session(token, token=TOKEN, now=NOW + timedelta(minutes=29))
    assert isinstance(session, auth.WorkspaceSession) and session.person_id == 5 and len(session.csrf) == 32
    assert auth.read_session(token, token=TOKEN, now=NOW + timedelta(minutes=30)) == auth.Refused.EXPIRED
    assert auth.read_session(token, token="666666666:another-bots-token", now=NOW) == auth.Refused.FORGED
    body, _dot, mac = token.partition(".")
    assert auth.read_session(body[:-2] + "xx." + mac, token=TOKEN, now=NOW) == auth.Refused.FORGED
    assert auth.read_session(None, token=TOKEN, now=NOW) == auth.Refused.MISSING
