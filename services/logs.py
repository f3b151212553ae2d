"""Logging: one line per event, no message contents, and never the bot token."""

from __future__ import annotations

import json
import logging
import re
from typing import Any
from urllib.parse import quote

# Anything shaped like a bot token, wherever it appears (URLs in library logs, tracebacks).
_TOKEN_PATTERN = re.compile(r"\d{5,12}:[A-Za-z0-9_-]{20,}")


class RedactingFilter(logging.Filter):
    """Replaces the token in every record, including arguments and formatted exceptions."""

    def __init__(self, secrets: list[str]) -> None:
        """A filter that redacts these secrets, their secret halves and their URL-encoded forms."""
        super().__init__()
        # A token's secret half can appear on its own (a URL-encoded colon, a library splitting it), so
        # it is redacted by itself too; longest first, so the whole token goes before its part.
        parts = {part for secret in secrets if secret for part in (secret, secret.partition(":")[2], quote(secret))}
        self._secrets = sorted((part for part in parts if len(part) >= 8), key=len, reverse=True)

    def redact(self, text: str) -> str:
        """A text with the secrets taken out."""
        for secret in self._secrets:
            text = text.replace(secret, "<token>")
        return _TOKEN_PATTERN.sub("<token>", text)

    def filter(self, record: logging.LogRecord) -> bool:
        """Take the secrets out of a record before it is written."""
        message = record.getMessage()
        record.msg = self.redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        return True


class EventFormatter(logging.Formatter):
    """`time level logger event key=value ...`: greppable, one line per event."""

    def format(self, record: logging.LogRecord) -> str:
        """A record as one JSON line."""
        fields: dict[str, Any] = getattr(record, "fields", {}) or {}
        extra = " ".join(f"{key}={json.dumps(value, default=str)}" for key, value in fields.items())
        line = f"{self.formatTime(record)} {record.levelname} {record.name} {record.getMessage()}"
        if extra:
            line = f"{line} {extra}"
        if record.exc_text:
            line = f"{line}\n{record.exc_text}"
        return line


def configure_logging(*, level: str, secrets: list[str]) -> None:
    """Log as JSON lines, with the bot token and secrets taken out of every message."""
    handler = logging.StreamHandler()
    handler.addFilter(RedactingFilter(secrets))
    handler.setFormatter(EventFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # httpx logs every request URL at INFO, and the URL contains the token.
    for noisy in ("httpx", "httpcore", "aiohttp", "apscheduler", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def event(logger: logging.Logger, name: str, level: int = logging.INFO, **fields: Any) -> None:
    """Log one event with ids as fields. Callers pass ids and counts, never what people wrote."""
    logger.log(level, name, extra={"fields": fields})
