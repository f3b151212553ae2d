"""The coordinators' workspace: a Telegram Mini App served by the bot's own web server under /workspace/.

`/workspace/` is a page without data; its script (web/static/app.js) reads the Mini App's `initData` from
the address Telegram opened and sends it with the first request (`X-Telegram-Init-Data`), which is checked
(`web.auth`) and answered with a session token for the later ones. Every other answer is a server-rendered
fragment (Jinja2, autoescaped) in the coordinator's language. 401: no, forged, expired, another bot's or a
replayed initData (or session). 403: not a coordinator, or no rights over what is asked
(`services.permissions.authorize`, as in the chat). Actions call the same services as the chat's buttons.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from importlib import resources
from typing import Any
from urllib.parse import parse_qsl, quote, urlparse

import jinja2
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from domain.cases import CLOSE_REASONS, CaseState
from domain.checkins import Rhythm
from services import cases, claims, family_card, question_decisions, workspace
from services.approvals import MODE_APPROVE, approval_start, finish_approval
from services.concerns import audit_opened
from services.context import Services
from services.i18n import N_, _, is_rtl, ngettext, normalise_language, use_language
from services.insight import period_text, suppression_note
from services.logs import event
from services.permissions import Action, authorize
from services.request_basics import local_today
from storage import concerns as concern_store
from storage import people
from storage.models import Person
from web import auth, pages, team_pages

logger = logging.getLogger(__name__)

PREFIX = "/workspace"
STATIC = {"app.js": "text/javascript", "app.css": "text/css"}
MAX_FORM = 10_000
# No external fonts, scripts or trackers; Telegram Web shows Mini Apps in a frame.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'self' https://web.telegram.org https://*.telegram.org"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
TAKE_NOTES = {
    claims.TakeOutcome.TAKEN: N_("You have taken this. The others can see it."),
    claims.TakeOutcome.ALREADY_YOURS: N_("You have already taken this."),
}
DECIDE_NOTES = {
    question_decisions.Decided.DECIDED: N_("The decision is recorded; the family is told in plain words."),
    question_decisions.Decided.ALREADY: N_("This was decided already."),
}

_templates = jinja2.Environment(
    loader=jinja2.PackageLoader("web", "templates"),
    autoescape=True,
    extensions=["jinja2.ext.i18n"],
    undefined=jinja2.StrictUndefined,
)
_templates.install_gettext_callables(gettext=_, ngettext=ngettext, newstyle=False)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Who:
    """The coordinator behind a request, the CSRF token of their session, and a new session token to hand out."""

    person: Person
    csrf: str
    new_session: str | None = None


class Refusal(Exception):
    """A request refused with this status (401 or 403) and a short reason for the log."""

    def __init__(self, status: int, reason: str) -> None:
        """The refusal's status code and reason."""
        super().__init__(reason)
        self.status = status
        self.reason = reason


def _headers(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The security headers every workspace answer carries."""
    return {**SECURITY_HEADERS, **(extra or {})}


def render(name: str, *, language: str, **values: Any) -> str:
    """A template in this language, with the page's direction."""
    with use_language(language):
        return _templates.get_template(name).render(lang=language, dir="rtl" if is_rtl(language) else "ltr", **values)


class Workspace:
    """The workspace's endpoints over one `Services`."""

    def __init__(self, services: Services, *, demo_user: int | None = None) -> None:
        """The endpoints; `demo_user` (the demo only, see `bot.web`) signs in at /workspace/demo."""
        self.services = services
        self.demo_user = demo_user

    # --- who is asking ----------------------------------------------------------------------------

    def _token(self) -> str:
        """The bot token, which signs the initData and our sessions."""
        token = self.services.settings.token()
        if not token:
            raise Refusal(401, "no token")
        return token

    def authenticate(self, headers: dict[str, str]) -> Who:
        """The coordinator a request comes from (401 or 403 as a `Refusal`); runs in a worker thread."""
        token, now, settings = self._token(), self.services.clock.now(), self.services.settings
        bearer = headers.get("authorization", "")
        if bearer.lower().startswith("bearer "):
            session = auth.read_session(bearer[7:].strip(), token=token, now=now)
            if isinstance(session, auth.Refused):
                raise Refusal(401, f"session {session}")
            with self.services.db.session() as db:
                known = people.get_person(session=db, person_id=session.person_id)
                person = workspace.coordinator(session=db, person=known, now=now)
            if person is None:
                raise Refusal(403, "not a coordinator")
            return Who(person, session.csrf)
        checked = auth.check_init_data(
            headers.get(auth.INIT_HEADER.lower()),
            token=token,
            now=now,
            max_age=timedelta(seconds=settings.workspace_init_max_age_seconds),
        )
        if isinstance(checked, auth.Refused):
            raise Refusal(401, f"init {checked}")
        forget = now - timedelta(seconds=settings.workspace_init_max_age_seconds * 2 + 120)
        # The used-once mark stands even when the person is refused: a refused initData is not tried again.
        with self.services.db.session() as db:
            signed = workspace.sign_in(
                session=db, telegram_id=checked.telegram_id, digest=checked.digest, now=now, forget_before=forget
            )
        if signed.outcome == workspace.SignIn.REPLAYED:
            raise Refusal(401, "init replayed")
        person = signed.coordinator
        if person is None or person.id is None:
            raise Refusal(403, "not a coordinator")
        minutes = settings.workspace_session_minutes
        new = auth.issue_session(token, person_id=person.id, now=now, minutes=minutes, nonce=checked.digest[:16])
        session = auth.read_session(new, token=token, now=now)
        assert not isinstance(session, auth.Refused)
        event(logger, "workspace.session", person=person.id)
        return Who(person, session.csrf, new)

    # --- the endpoints ----------------------------------------------------------------------------

    def endpoint(self, work: Callable[[Who, Request, dict[str, str]], Response], *, post: bool = False) -> Any:
        """An endpoint: authenticate, check a POST's origin and CSRF token, run `work` in a worker thread."""

        async def handle(request: Request) -> Response:
            """One request: 401/403 when refused, the rendered answer otherwise."""
            form: dict[str, str] = {}
            if post:
                if not _same_origin(request):
                    return _refused(403)
                body = await request.body()
                if len(body) > MAX_FORM:
                    return PlainTextResponse("too large", status_code=413, headers=_headers())
                form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
            headers = {key.lower(): value for key, value in request.headers.items()}

            def run() -> Response:
                """Authenticate and do the work (in a worker thread: the bot's loop never waits for the database)."""
                try:
                    who = self.authenticate(headers)
                    if post and not hmac.compare_digest(form.get("csrf", ""), who.csrf):
                        raise Refusal(403, "csrf")
                    response = work(who, request, form)
                except Refusal as refusal:
                    event(logger, "workspace.refused", status=refusal.status, reason=refusal.reason)
                    return _refused(refusal.status)
                if who.new_session:
                    response.headers[auth.SESSION_HEADER] = who.new_session
                return response

            return await run_in_threadpool(run)

        return handle

    def _serve(self, who: Who, service: Callable[..., Any], **values: Any) -> Any:
        """`service` for this coordinator now, in one database session and in their language (as the chat calls it)."""
        now = self.services.clock.now()
        with self.services.db.session() as db, use_language(who.person.language):
            return service(session=db, services=self.services, coordinator=who.person, now=now, **values)

    def _say(self, who: Who, text: str) -> str:
        """An `N_`-marked text in the coordinator's language."""
        with use_language(who.person.language):
            return _(text)

    def _page(self, who: Who, name: str, **values: Any) -> Response:
        """A rendered fragment with the security headers."""
        values.setdefault("note", None)
        text = render(name, language=who.person.language, csrf=who.csrf, **values)
        return HTMLResponse(text, headers=_headers())

    def families(self, who: Who, request: Request, form: dict[str, str]) -> Response:
        """The families list, filtered by area, case state and 'needs attention'."""
        area = request.query_params.get("area", "")
        attention = request.query_params.get("attention") == "1"
        state = request.query_params.get("state", "")
        listed = self._serve(
            who, pages.family_list, area=int(area) if area.isdigit() else None, attention=attention, state=state
        )
        return self._page(who, "families.html", listing=listed)

    def waiting(self, who: Who, request: Request, form: dict[str, str]) -> Response:
        """The waiting list: the team's waiting families, longest waiting first, with the days waited (/waiting)."""
        found = self._serve(who, workspace.waiting_list)
        if found is None:
            raise Refusal(403, "waiting")
        return self._page(who, "waiting.html", waiting=found)

    def family(self, who: Who, request: Request, form: dict[str, str], note: str | None = None) -> Response:
        """A family's page (403 without rights over the family); every view is an audit entry."""
        family_id = int(request.path_params["family_id"])
        now = self.services.clock.now()
        with self.services.db.session() as db, use_language(who.person.language):
            page = pages.family_page(
                session=db, services=self.services, coordinator=who.person, family_id=family_id, now=now
            )
            if page is not None:
                audit_opened(db, who.person, family_id, now, "workspace")
        if page is None:
            raise Refusal(403, "family")
        return self._page(who, "family.html", page=page, note=note, zone=self.services.settings.timezone)

    def take(self, who: Who, request: Request, form: dict[str, str]) -> Response:
        """'I'll take this' for one of the family's concerns (services.claims.take_concern, as in the chat)."""
        concern_id = int(form.get("concern", "0")) if form.get("concern", "").isdigit() else 0
        now = self.services.clock.now()
        with self.services.db.session() as db, use_language(who.person.language):
            concern = concern_store.get_concern(session=db, concern_id=concern_id)
            if concern is None or concern.family_id != int(request.path_params["family_id"]):
                note = _("This no longer works.")
            elif concern.closed_at is not None:
                note = _("This concern is already closed.")
            elif not authorize(session=db, actor=who.person, action=Action.CLAIM_CONCERN, concern=concern, now=now):
                raise Refusal(403, "concern")
            else:
                result = claims.take_concern(
                    session=db, services=self.services, concern=concern, coordinator=who.person, now=now
                )
                note = _(TAKE_NOTES.get(result.outcome, N_("Someone else has already taken this.")))
        return self.family(who, request, form, note)

    def rhythm(self, who: Who, request: Request, form: dict[str, str]) -> Response:
        """A new check-in rhythm (services.family_card.change, as the card's buttons)."""
        rhythm = form.get("rhythm", "")
        if rhythm not in set(Rhythm):
            return self.family(who, request, form, self._say(who, N_("This no longer works.")))
        view = self._serve(who, family_card.change, family_id=int(request.path_params["family_id"]), rhythm=rhythm)
        if view.note is not None or view.stale:
            raise Refusal(403, "rhythm")
        return self.family(who, request, form, self._say(who, N_("The check-in rhythm is changed.")))

    def decide(self, who: Who, request: Request, form: dict[str, str]) -> Response:
        """A casework decision about a question (services.question_decisions.decide, as in the chat)."""
        choice, _sep, reason = form.get("choice", "").partition(":")
        decision_id = int(form["decision"]) if form.get("decision", "").isdigit() else 0
        result = self._serve(who, question_decisions.decide, decision_id=decision_id, choice=choice, reason=reason)
        note = DECIDE_NOTES.get(result.outcome, N_("This no longer works."))
        return self.family(who, request, form, self._say(who, note))

    # --- a family's case (services.cases, as the case screen's buttons) ---------------------------------

    def _may_move_case(self, who: Who, family_id: int) -> None:
        """403 unless the coordinator may move this family's case (the refusal audited, as in the chat)."""
        with self.services.db.session() as db:
            allowed = authorize(
                session=db,
                actor=who.person,
                action=Action.MOVE_CASE,
                family_id=family_id,
                now=self.services.clock.now(),
                audit="refused",
            )
        if not allowed:
            raise Refusal(403, "case")

    def _case_moved(self, who: Who, request: Request, form: dict[str, str], note: str | None, done: str) -> Response:
        """The family's page after a case action: the service's note, or else `done` (`N_`-marked)."""
        return self.family(who, request, form, note if note is not None else self._say(who, done))

    def move(self, who: Who, request: Request, form: dict[str, str]) -> Response:
        """Move the case along (services.cases.move_case): the state the page showed comes with the form, so a
        page from before a colleague's change is refused kindly and shows the case as it stands now."""
        family_id = int(request.path_params["family_id"])
        self._may_move_case(who, family_id)
        target, reason = form.get("target", ""), form.get("reason") or None
        with use_language(who.person.language):
            if target not in set(CaseState):
                return self.family(who, request, form, _("This no longer works."))
            if target == CaseState.CLOSED and reason not in CLOSE_REASONS:
                return self.family(who, request, form, _("Please choose why the case closes."))
        view = self._serve(
            who,
            cases.move_case,
            family_id=family_id,
            expected=form.get("expected", ""),
            target=target,
            reason=reason if target == CaseState.CLOSED else None,
        )
        return self._case_moved(who, request, form, view.note, N_("This no longer works."))

    def plan_talk(self, who: Who, request: Request, form: dict[str, str]) -> Response:
        """Plan an intake talk at a local day and time (services.cases.plan_talk; the family is told)."""
        family_id = int(request.path_params["family_id"])
        self._may_move_case(who, family_id)
        try:
            local = datetime.fromisoformat(form.get("when", "")).replace(tzinfo=None, second=0, microsecond=0)
        except ValueError:
            with use_language(who.person.language):
                return self.family(who, request, form, _("Please give a day and a time."))
        view = self._serve(who, cases.plan_talk, family_id=family_id, local=local)
        return self._case_moved(who, request, form, view.note, N_("The intake talk is planned; the family is told."))

    def talk_held(self, who: Who, request: Request, form: dict[str, str]) -> Response:
        """Mark an intake talk held (services.cases.talk_held), once."""
        family_id = int(request.path_params["family_id"])
        self._may_move_case(who, family_id)
        talk_id = int(form["talk"]) if form.get("talk", "").isdigit() else 0
        view = self._serve(who, cases.talk_held, family_id=family_id, talk_id=talk_id)
        return self._case_moved(who, request, form, view.note, N_("This no longer works."))

    def volunteers(self, who: Who, request: Request, form: dict[str, str], note: str | None = None) -> Response:
        """Volunteers awaiting approval and VOGs soon to stop counting."""
        now = self.services.clock.now()
        page = self._serve(who, team_pages.volunteer_page)
        if page is None:
            raise Refusal(403, "volunteers")
        today = local_today(self.services, now).isoformat()
        return self._page(who, "volunteers.html", page=page, note=note, today=today)

    def approve(self, who: Who, request: Request, form: dict[str, str]) -> Response:
        """Approve a volunteer with the VOG date (services.approvals, as the chat's approval dialogue)."""
        volunteer_id = int(request.path_params["volunteer_id"])
        now = self.services.clock.now()
        try:
            vog = date.fromisoformat(form["vog"]) if form.get("vog") else None
        except ValueError:
            vog = None
        with self.services.db.session() as db, use_language(who.person.language):
            start = approval_start(session=db, person=who.person, volunteer_id=volunteer_id, mode=MODE_APPROVE, now=now)
            if start.volunteer is None or not workspace.may_approve(
                session=db, coordinator=who.person, volunteer_id=volunteer_id, now=now
            ):
                raise Refusal(403, "approve")
            if not start.expected:
                note = _("This volunteer is already approved.")
            else:
                done = finish_approval(
                    session=db,
                    services=self.services,
                    person=who.person,
                    volunteer_id=volunteer_id,
                    mode=MODE_APPROVE,
                    vog=vog,
                    for_children=form.get("children") == "yes",
                    now=now,
                )
                if done.problem is None:
                    note = _("{name} is approved and has been told.").format(name=done.name)
                elif done.problem == "vog_in_future":
                    note = _("The VOG date cannot be in the future.")
                else:
                    note = _("This volunteer is already approved.")
        return self.volunteers(who, request, form, note)

    def figures(self, who: Who, request: Request, form: dict[str, str]) -> Response:
        """The anonymous figures of a period, as /stats (audited)."""
        period = request.query_params.get("period", "4w")
        found = self._serve(who, team_pages.figures, period=period, export=False)
        if found is None:
            raise Refusal(403, "period")
        with use_language(who.person.language):
            view = team_pages.figures_view(found)
            shown = period_text(found.period, who.person.language)
            note = pages.plain(suppression_note(found.threshold))
        return self._page(
            who, "figures.html", view=view, period=period, periods=team_pages.PERIODS, shown=shown, footnote=note
        )

    def figures_csv(self, who: Who, request: Request, form: dict[str, str]) -> Response:
        """/export's CSV of the same figures (audited as an export)."""
        period = request.query_params.get("period", "4w")
        found = self._serve(who, team_pages.figures, period=period, export=True)
        if found is None:
            raise Refusal(403, "period")
        headers = _headers({"Content-Disposition": f'attachment; filename="waakvlam-{period}.csv"'})
        return Response(found.csv, media_type="text/csv; charset=utf-8", headers=headers)

    # --- what needs no session --------------------------------------------------------------------

    async def shell(self, request: Request) -> Response:
        """The page Telegram opens: no data, only the script that signs in with the initData."""
        # Before the sign-in only the device's language is known (for the few words of a refusal).
        wanted = request.headers.get("accept-language", "").split(",")[0].split(";")[0].strip()
        return HTMLResponse(render("shell.html", language=normalise_language(wanted or None)), headers=_headers())

    async def static(self, request: Request) -> Response:
        """The workspace's own script and style sheet (nothing else is served from the package)."""
        name = request.path_params["name"]
        if name not in STATIC:
            return PlainTextResponse("not found", status_code=404, headers=_headers())
        text = resources.files("web").joinpath("static", name).read_text(encoding="utf-8")
        return Response(text, media_type=STATIC[name], headers=_headers({"Cache-Control": "no-cache"}))

    async def demo(self, request: Request) -> Response:
        """The demo's sign-in: a freshly signed initData for the demo coordinator (registered by the demo only)."""
        assert self.demo_user is not None
        init = auth.init_data_for(
            self._token(), telegram_id=self.demo_user, first_name="Demo", language="nl", now=self.services.clock.now()
        )
        return RedirectResponse(f"{PREFIX}/#tgWebAppData={quote(init)}", status_code=303, headers=_headers())

    def routes(self) -> list[BaseRoute]:
        """The workspace's routes, mounted at /workspace."""
        e = self.endpoint
        inner: list[BaseRoute] = [
            Route("/", self.shell, methods=["GET"]),
            Route("/static/{name}", self.static, methods=["GET"]),
            Route("/api/families", e(self.families), methods=["GET"]),
            Route("/api/family/{family_id:int}", e(self.family), methods=["GET"]),
            Route("/api/family/{family_id:int}/take", e(self.take, post=True), methods=["POST"]),
            Route("/api/family/{family_id:int}/rhythm", e(self.rhythm, post=True), methods=["POST"]),
            Route("/api/family/{family_id:int}/decide", e(self.decide, post=True), methods=["POST"]),
            Route("/api/family/{family_id:int}/case", e(self.move, post=True), methods=["POST"]),
            Route("/api/family/{family_id:int}/talk", e(self.plan_talk, post=True), methods=["POST"]),
            Route("/api/family/{family_id:int}/held", e(self.talk_held, post=True), methods=["POST"]),
            Route("/api/waiting", e(self.waiting), methods=["GET"]),
            Route("/api/volunteers", e(self.volunteers), methods=["GET"]),
            Route("/api/volunteers/{volunteer_id:int}/approve", e(self.approve, post=True), methods=["POST"]),
            Route("/api/figures", e(self.figures), methods=["GET"]),
            Route("/api/figures.csv", e(self.figures_csv), methods=["GET"]),
        ]
        if self.demo_user is not None:
            inner.append(Route("/demo", self.demo, methods=["GET"]))
        return [Mount(PREFIX, routes=inner)]


def _same_origin(request: Request) -> bool:
    """A POST from the workspace's own page: its Origin (or, without one, Sec-Fetch-Site) says so."""
    origin = request.headers.get("origin")
    host = request.headers.get("x-forwarded-host") or request.headers.get("host", "")
    if origin:
        return urlparse(origin).netloc == host
    return request.headers.get("sec-fetch-site") == "same-origin"


def _refused(status: int) -> Response:
    """401 or 403, with no detail (the log has the reason)."""
    return PlainTextResponse("unauthorized" if status == 401 else "forbidden", status_code=status, headers=_headers())


def workspace_routes(services: Services, *, demo_user: int | None = None) -> list[BaseRoute]:
    """The workspace's routes for `bot.web.build_web_app` (empty unless WORKSPACE_ENABLED)."""
    if not services.settings.workspace_enabled:
        return []
    return Workspace(services, demo_user=demo_user).routes()
