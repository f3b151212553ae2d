"""The words of a family's case: its states, the buttons that move it, the reasons to close it, and what the
family is told at each change (plain words, no jargon: the family never sees the name of a state)."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from domain.cases import CaseState
from services.i18n import N_, _, format_day, h, ngettext
from storage.case_tables import CaseStep

STATE_LABELS = {
    CaseState.REFERRED: N_("Referred"),
    CaseState.INTAKE: N_("Intake"),
    CaseState.WAITING: N_("Waiting list"),
    CaseState.ACTIVE: N_("Active support"),
    CaseState.WAAKVLAM: N_("Waakvlam (check-ins only)"),
    CaseState.CLOSED: N_("Closed"),
}

# The button that moves a case: by (from, to), else by (None, to).
MOVE_LABELS: dict[tuple[CaseState | None, CaseState], str] = {
    (CaseState.REFERRED, CaseState.INTAKE): N_("📥 Take this referral: intake"),
    (CaseState.CLOSED, CaseState.INTAKE): N_("🔄 Reopen the case"),
    (None, CaseState.INTAKE): N_("📥 Intake"),
    (None, CaseState.WAITING): N_("⏳ Intake done: on the waiting list"),
    (CaseState.WAAKVLAM, CaseState.ACTIVE): N_("▶️ Active support again"),
    (None, CaseState.ACTIVE): N_("▶️ Support starts"),
    (None, CaseState.WAAKVLAM): N_("🕯 Waakvlam: check-ins only"),
    (None, CaseState.CLOSED): N_("⏹ Close the case"),
}

CLOSE_REASON_LABELS = {
    "goal_reached": N_("Goals reached"),
    "family_stopped": N_("The family stopped"),
    "moved": N_("The family moved away"),
    "elsewhere": N_("Better helped elsewhere"),
    "no_contact": N_("No contact with the family"),
    "other": N_("Another reason"),
}

TIMELINE_LABELS = {
    "case_referred": N_("Referred by a professional"),
    "case_intake": N_("Case: intake"),
    "case_waiting": N_("Case: on the waiting list"),
    "case_active": N_("Case: active support"),
    "case_waakvlam": N_("Case: waakvlam (check-ins only)"),
    "case_closed": N_("Case closed"),
    "case_reopened": N_("Case reopened"),
    "case_asked_again": N_("Asked for help again: back to active support"),
    "intake_planned": N_("Intake talk planned"),
    "intake_held": N_("Intake talk held"),
}


def weeks_of(wait: timedelta) -> int:
    """A wait in whole weeks, at least one."""
    return max(1, round(wait.days / 7))


def wait_sentence(wait: timedelta | None) -> str:
    """How long families usually wait, in words (in the current language), or how they will hear."""
    if wait is None:
        return _("We will tell you as soon as support can start.")
    weeks = weeks_of(wait)
    return ngettext(
        "Families usually wait about {count} week.", "Families usually wait about {count} weeks.", weeks
    ).format(count=weeks)


def family_news(current: CaseState, target: CaseState, wait: str) -> str:
    """What the family is told when its case changes (in the current language)."""
    if current == CaseState.CLOSED and target == CaseState.INTAKE:
        return _("Welcome back. A coordinator will get in touch with you for a talk about what you need.")
    if target == CaseState.INTAKE:
        return _("A coordinator is now looking after you and will get in touch for a first talk (the intake).")
    if target == CaseState.WAITING:
        return (
            _("Thank you for the talk. You are now on our waiting list until a helper is free for you.")
            + " "
            + wait
            + " "
            + _("Until then you can write to us here at any time.")
        )
    if target == CaseState.ACTIVE and current == CaseState.WAAKVLAM:
        return _("Your support is active again. Your coordinator will tell you what happens next.")
    if target == CaseState.ACTIVE:
        return _("Good news: your support starts now. Your coordinator will tell you what happens next.")
    if target == CaseState.WAAKVLAM:
        return _(
            "Things are going well, so we now only check in with you now and then. If you need more help, "
            "tap \u201cWe need help again\u201d (also in /menu), or just write here."
        )
    return _(
        "Your support through Waakvlam has ended. Thank you for your trust. If you ever need us again, just write here."
    )


def step_line(step: CaseStep, zone: str, language: str) -> str:
    """One step of a case for the case screen: the day, the change and (for closing) the reason."""
    day = format_day(step.at.astimezone(ZoneInfo(zone)).date(), language)
    target = _(STATE_LABELS.get(CaseState(step.to_state), step.to_state))
    if step.from_state is None:
        line = f"{h(day)} · {h(target)}"
    else:
        source = _(STATE_LABELS.get(CaseState(step.from_state), step.from_state))
        line = f"{h(day)} · {h(source)} → {h(target)}"
    if step.reason in CLOSE_REASON_LABELS:
        line += f" ({h(_(CLOSE_REASON_LABELS[step.reason]))})"
    return line
