"""Offers of a request to volunteers, and taking them back when it was taken or closed.

Every offer is an outbox row linked to its `RequestOffer`, so its buttons can be withdrawn: an offer
message not sent yet is never sent; a sent one is edited (outbox) to "already taken, thank you", without
buttons; one being sent at that very moment is edited a minute later (the `request.withdraw` job).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from services import timeline
from services.callbacks import Button
from services.i18n import _, h, hi, use_language
from services.logs import event
from services.request_basics import name_of, schedule, summary, tell
from storage import outbox_store, people
from storage import requests as store
from storage.db import Session
from storage.models import HelpRequest, OutboxMessage, OutboxStatus, Person, RequestOffer

logger = logging.getLogger(__name__)

ACCEPT = Button("vo", "acc", int)  # vo:acc:<offer>
DECLINE = Button("vo", "no", int)  # vo:no:<offer>
OFFER = "vo"  # the prefix of both (read by conversations.volunteering)
# Outbox purposes: an edit that withdraws an offer may find the message gone or already edited, which is
# no news for anyone (see `quiet_withdrawals`).
PURPOSE_OFFER = "offer"
PURPOSE_WITHDRAW = "withdraw"
WITHDRAW_RETRY = timedelta(minutes=1)


def offer_buttons(offer_id: int) -> list[list[tuple[str, str]]]:
    """Accept / Not this time, in the current language."""
    return [[(_("✅ Accept"), ACCEPT.data(offer_id)), (_("Not this time"), DECLINE.data(offer_id))]]


def _offer_text(session: Session, request: HelpRequest, volunteer: Person, how: str, placed_by: Person | None) -> str:
    """The offer's words, in the current language: why this volunteer is asked, and the summary."""
    if how == "support":
        intro = _("🙋 <b>The family you support asks you first.</b>")
    elif how == "again":
        intro = _("🙋 <b>This request is open again. Can you help?</b>")
    elif how == "placed" and placed_by is not None:
        intro = _("🙋 <b>{coordinator} asks whether you could help with this.</b>").format(
            coordinator=hi(name_of(placed_by))
        )
    else:
        intro = _("🙋 <b>Can you help?</b>")
    return "\n".join(
        [
            intro,
            summary(session, request, volunteer),
            "",
            _("Tap Accept to take it; you then get the address. Not this time is fine too."),
        ]
    )


def send_offer(
    *,
    session: Session,
    request: HelpRequest,
    volunteer: Person,
    now: datetime,
    how: str = "wave",
    placed_by: Person | None = None,
) -> bool:
    """Offer a request to one volunteer (an outbox message with Accept / Not this time); once per volunteer.

    `how` is "support" for the family's own support volunteer, "placed" when a coordinator asks by name
    (an earlier "not this time" is then asked again), "again" when a request reopens for those whose
    offer was withdrawn because someone else had taken it, otherwise "wave".
    """
    assert request.id is not None and volunteer.id is not None
    offer = store.record_offer(session=session, request_id=request.id, volunteer_id=volunteer.id, now=now)
    suffix = ""
    if offer is None:
        existing = store.find_offer(session=session, request_id=request.id, volunteer_id=volunteer.id)
        if existing is None or existing.response == store.OfferResponse.PENDING:
            return False
        if how == "again" and existing.response != store.OfferResponse.WITHDRAWN:
            return False
        if how not in ("placed", "again"):
            return False
        store.offer_again(session=session, offer=existing, now=now)
        offer = existing
        suffix = f":again{int(now.timestamp())}"
    assert offer.id is not None
    with use_language(volunteer.language):
        text = _offer_text(session, request, volunteer, how, placed_by)
        buttons = offer_buttons(offer.id)
    key = f"offer:{request.id}:{volunteer.id}{suffix}"
    tell(session=session, person=volunteer, key=key, text=text, now=now, buttons=buttons, purpose=PURPOSE_OFFER)
    store.link_offer_message(session=session, offer_id=offer.id, dedupe_key=key)
    timeline.note(session=session, about=request, kind="request_offered", now=now, by=volunteer)
    return True


# --- withdrawing offers ---------------------------------------------------------------------------


def withdraw_offers(
    *, session: Session, request: HelpRequest, now: datetime, closed: bool, keep: int | None = None
) -> int:
    """Take back the buttons of every offer still waiting for an answer (but `keep`'s). Returns how many."""
    assert request.id is not None
    count = 0
    for offer in store.offers_for(session=session, request_id=request.id):
        if offer.volunteer_id == keep or offer.id is None:
            continue
        if not store.respond_offer(session=session, offer_id=offer.id, response=store.OfferResponse.WITHDRAWN, now=now):
            continue
        count += 1
        withdraw_message(session=session, offer=offer, now=now, closed=closed)
    return count


def withdraw_message(*, session: Session, offer: RequestOffer, now: datetime, closed: bool) -> None:
    """Never send an offer not sent yet; edit a sent one; try again shortly for one being sent right now."""
    assert offer.id is not None
    if offer.outbox_id is None:
        return
    if store.withdraw_unsent(session=session, outbox_id=offer.outbox_id):
        return
    row = store.outbox_row(session=session, outbox_id=offer.outbox_id)
    if row is None or row.status == OutboxStatus.FAILED:
        return
    if row.status == OutboxStatus.SENDING or row.telegram_message_id is None:
        schedule(session, "request.withdraw", offer.id, now + WITHDRAW_RETRY, now, f"{offer.id}:{int(closed)}")
        return
    volunteer = people.get_person(session=session, person_id=offer.volunteer_id)
    if volunteer is None:
        return
    with use_language(volunteer.language):
        text = offer_ended_text(str(row.payload.get("text", "")), withdrawn_note(closed=closed))
    edit_sent_offer(
        session=session, row=row, volunteer=volunteer, key=f"withdraw:{offer.id}:{row.id}", text=text, now=now
    )


def withdrawn_note(*, closed: bool) -> str:
    """The note under a withdrawn offer: no longer needed, or taken by someone else."""
    if closed:
        return _("This request is no longer needed. Thank you!")
    return _("Already taken by someone else. Thank you!")


def offer_ended_text(original: str, note: str) -> str:
    """An offer message after it ended: the summary stays (so the volunteer knows which it was), a note below.

    The handler of a late tap and the outbox edit build the same text, so whichever comes second is the
    harmless "message is not modified".
    """
    # The first line ("Can you help?") and the closing hint go; the summary in between stays.
    body = "\n".join(original.split("\n")[1:]).split("\n\n")[0] if original else ""
    return f"{body}\n\n<i>{h(note)}</i>" if body else f"<i>{h(note)}</i>"


def edit_sent_offer(
    *, session: Session, row: OutboxMessage, volunteer: Person, key: str, text: str, now: datetime
) -> None:
    """Edit a sent offer to the text it ends with, without buttons (an outbox edit)."""
    outbox_store.enqueue(
        session=session,
        dedupe_key=key,
        chat_id=row.chat_id,
        person_id=volunteer.id,
        method="editMessageText",
        payload={"chat_id": row.chat_id, "message_id": row.telegram_message_id, "text": text, "parse_mode": "HTML"},
        now=now,
        purpose=PURPOSE_WITHDRAW,
    )


def quiet_withdrawals(hook: Callable[..., None]) -> Callable[..., None]:
    """Wrap the sender's 'undeliverable' hook: a withdrawal that finds its message already edited ("message
    is not modified") or deleted by the volunteer is nobody's concern, so coordinators are not alerted."""

    def wrapped(*, session: Session, row: OutboxMessage, reason: str, now: datetime) -> None:
        """The sender's hook, except for withdrawals."""
        if row.purpose == PURPOSE_WITHDRAW:
            event(logger, "request.withdraw_skipped", id=row.id, reason=reason[:60])
            return
        hook(session=session, row=row, reason=reason, now=now)

    return wrapped
