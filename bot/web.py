"""The HTTP side: Telegram's webhook, `/healthz` and `/metrics` (Prometheus text format).

The webhook answers 200 only after the update is stored in the inbox, so Telegram keeps retrying an
update we could not store. A wrong or missing secret token gets 403 and nothing is stored.
With `METRICS_TOKEN` set, /metrics needs `Authorization: Bearer <token>` (401 otherwise). /healthz needs
nothing and shows only whether the loops and the database are alive and how much work waits (counts).
"""

from __future__ import annotations

import hmac
import json
import logging
import time
from collections.abc import Awaitable, Callable

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from bot.inbox import store_raw_updates
from services.context import Services
from services.logs import event
from storage import metrics
from web.demo import demo_user

logger = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 (a header name)
WEBHOOK_PATH = "/telegram/webhook"
MAX_BODY = 1_000_000


class Liveness:
    """What /healthz reports about the loops; filled in by the runtime."""

    def __init__(self) -> None:
        """No loops yet; the runtime adds a probe per loop (the monotonic time of its last sign of life)."""
        self.probes: dict[str, Callable[[], float]] = {}
        self.stale_after = 60.0

    def report(self) -> dict[str, bool]:
        """Each loop by name: True while it has shown life within `stale_after` seconds."""
        now = time.monotonic()
        return {name: (now - probe()) < self.stale_after for name, probe in self.probes.items()}


Endpoint = Callable[[Request], Awaitable[Response]]


def build_web_app(
    *, services: Services, liveness: Liveness, on_stored: Callable[[], None], counters: dict[str, int]
) -> Starlette:
    """The web server's routes: Telegram's webhook, the health check, the metrics and the workspace."""
    return Starlette(
        routes=[
            Route(WEBHOOK_PATH, _webhook(services, on_stored, counters), methods=["POST"]),
            Route("/healthz", _healthz(services, liveness), methods=["GET"]),
            Route("/metrics", _prometheus(services, counters), methods=["GET"]),
            *_workspace_routes(services),
        ]
    )


def _workspace_routes(services: Services) -> list[BaseRoute]:
    """The coordinators' workspace (WORKSPACE_ENABLED): web/, under /workspace/; nothing when it is off."""
    if not services.settings.workspace_enabled:
        return []
    # Imported only when on: its views, Jinja2 and the templates cost a bot without the workspace ~4 MiB.
    from web.app import workspace_routes

    return workspace_routes(services, demo_user=demo_user(services.settings.token()))


def _webhook(services: Services, on_stored: Callable[[], None], counters: dict[str, int]) -> Endpoint:
    """The webhook endpoint: checks the secret, stores the update in the inbox, then answers 200."""
    secret = services.settings.webhook_secret.get_secret_value() if services.settings.webhook_secret else ""

    async def webhook(request: Request) -> Response:
        """One update from Telegram: 200 only once it is stored, so Telegram retries what we could not store."""
        given = request.headers.get(SECRET_HEADER, "")
        # Constant time, so the secret cannot be guessed byte by byte from response times.
        if not secret or not hmac.compare_digest(given.encode(), secret.encode()):
            counters["webhook_refused"] = counters.get("webhook_refused", 0) + 1
            return PlainTextResponse("forbidden", status_code=403)
        body = await request.body()
        if len(body) > MAX_BODY:
            return PlainTextResponse("too large", status_code=413)
        try:
            raw = json.loads(body)
        except ValueError:
            counters["webhook_bad_json"] = counters.get("webhook_bad_json", 0) + 1
            return PlainTextResponse("bad request", status_code=400)
        if not isinstance(raw, dict) or not isinstance(raw.get("update_id"), int):
            return PlainTextResponse("bad request", status_code=400)
        try:
            store_raw_updates(services, [raw])
        except Exception:
            logger.exception("webhook.store_failed")
            # Not 200: Telegram will deliver this update again.
            return PlainTextResponse("unavailable", status_code=503)
        counters["webhook_updates"] = counters.get("webhook_updates", 0) + 1
        on_stored()
        return PlainTextResponse("ok")

    return webhook


def _healthz(services: Services, liveness: Liveness) -> Endpoint:
    """The health endpoint: whether the loops and the database are alive, and how much work waits."""

    async def healthz(request: Request) -> Response:
        """200 when every loop is alive and the database answers, 503 otherwise."""
        loops = liveness.report()
        try:
            with services.db.session() as session:
                backlog = metrics.backlog(session=session, now=services.clock.now())
            database = True
        except Exception as error:
            event(logger, "health.database_unreachable", logging.WARNING, error=type(error).__name__)
            backlog, database = {}, False
        healthy = database and all(loops.values())
        body = {"ok": healthy, "database": database, "loops": loops, **backlog}
        return JSONResponse(body, status_code=200 if healthy else 503)

    return healthz


def _prometheus(services: Services, counters: dict[str, int]) -> Endpoint:
    """The metrics endpoint, in Prometheus text format; behind a bearer token when `METRICS_TOKEN` is set."""
    metrics_token = services.settings.metrics_token.get_secret_value() if services.settings.metrics_token else ""

    async def prometheus(request: Request) -> Response:
        """The counters and the backlog, for a scraper that shows the token (when one is set)."""
        if metrics_token:
            scheme, _space, given = request.headers.get("Authorization", "").partition(" ")
            # Constant time, like the webhook secret.
            if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), metrics_token.encode()):
                counters["metrics_refused"] = counters.get("metrics_refused", 0) + 1
                return PlainTextResponse(
                    "unauthorized", status_code=401, headers={"WWW-Authenticate": 'Bearer realm="metrics"'}
                )
        with services.db.session() as session:
            text = metrics.render(session=session, now=services.clock.now(), counters=counters)
        return PlainTextResponse(text, media_type="text/plain; version=0.0.4")

    return prometheus
