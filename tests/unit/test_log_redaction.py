"""The log filter hides every secret, whole or in the shapes libraries print it in."""

from __future__ import annotations

import logging
import sys

from services.logs import EventFormatter, RedactingFilter

TOKEN = "123456789:AAExampleSecretHalfOfTheToken"
WEBHOOK = "webhook-secret-value"


def logged(message: str, *args: object) -> str:
    record = logging.LogRecord("httpx", logging.INFO, __file__, 1, message, args, None)
    RedactingFilter([TOKEN, WEBHOOK]).filter(record)
    return EventFormatter().format(record)


def test_the_whole_token_its_secret_half_and_its_url_form_are_hidden() -> None:
    for shape in (TOKEN, TOKEN.partition(":")[2], "123456789%3AAAExampleSecretHalfOfTheToken"):
        line = logged("POST https://api.telegram.org/bot%s/getMe", shape)
        assert "ExampleSecretHalf" not in line and "<token>" in line, line


def test_the_webhook_secret_is_hidden_and_other_words_stay() -> None:
    line = logged("header %s sent for update %d", WEBHOOK, 7)
    assert WEBHOOK not in line and "update 7" in line, line


def test_a_traceback_is_redacted_too() -> None:
    try:
        raise RuntimeError(f"could not reach /bot{TOKEN}/sendMessage")
    except RuntimeError:
        record = logging.LogRecord("telegram", logging.ERROR, __file__, 1, "failed", None, sys.exc_info())
    RedactingFilter([TOKEN]).filter(record)
    line = EventFormatter().format(record)
    assert "RuntimeError" in line and "ExampleSecretHalf" not in line, line
