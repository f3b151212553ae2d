"""What volunteers can help with: the keys stored with a profile and their labels (translated when shown)."""

from __future__ import annotations

from services.i18n import N_, _

SKILL_LABELS = {
    "babysitting": N_("Babysitting"),
    "lift": N_("A ride"),
    "groceries": N_("Groceries"),
    "meal": N_("A meal"),
    "company": N_("Company or a walk"),
    "homework": N_("Homework help"),
    "chores": N_("Small chores"),
}


def skill_label(skill: str) -> str:
    """A skill's label in the current language (an unknown key as it is)."""
    return _(SKILL_LABELS[skill]) if skill in SKILL_LABELS else skill
