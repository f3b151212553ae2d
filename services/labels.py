"""Words for stored values, in the reader's language: a person's name, a skill, a kind of request, a role."""

from __future__ import annotations

from services.i18n import N_, _
from storage.models import Person, Role

# What a volunteer can help with (also the kinds of request, with "other").
SKILL_LABELS = {
    "babysitting": N_("Babysitting"),
    "lift": N_("A ride"),
    "groceries": N_("Groceries"),
    "meal": N_("A meal"),
    "company": N_("Company or a walk"),
    "homework": N_("Homework help"),
    "chores": N_("Small chores"),
}
KIND_LABELS = {**SKILL_LABELS, "other": N_("Something else")}
KIND_EMOJI = {
    "babysitting": "🧸",
    "lift": "🚗",
    "groceries": "🛒",
    "meal": "🍲",
    "company": "🚶",
    "homework": "📚",
    "chores": "🔧",
    "other": "🤝",
}
# A check-in answer at a glance.
ANSWER_EMOJI = {"good": "😊", "so_so": "😐", "not_good": "😟", "talk": "💬"}


def name_of(person: Person | None) -> str:
    """The name a person gave, or a placeholder for nobody known / no name."""
    if person is None:
        return _("(someone)")
    return person.display_name or _("(no name)")


def skill_label(skill: str) -> str:
    """A skill as the reader reads it (an unknown one as stored)."""
    return _(SKILL_LABELS[skill]) if skill in SKILL_LABELS else skill


def kind_label(kind: str) -> str:
    """A kind of request with its emoji, as the reader reads it (an unknown one as stored)."""
    label = KIND_LABELS.get(kind)
    return f"{KIND_EMOJI.get(kind, '')} {_(label)}".strip() if label else kind


def role_label(role: str) -> str:
    """A role as the reader reads it."""
    labels: dict[str, str] = {
        Role.FAMILY: _("family"),
        Role.VOLUNTEER: _("volunteer"),
        Role.COORDINATOR: _("coordinator"),
    }
    return labels.get(role, role)
