"""Words for stored values, in the reader's language: a person's name and a role.

(Skills are in `services.skills`, kinds of request in `services.tasks`.)
"""

from __future__ import annotations

from services.i18n import _
from storage.models import Person, Role


def name_of(person: Person | None) -> str:
    """A person's name as others read it (a placeholder when there is none)."""
    if person is None:
        return _("(someone)")
    return person.display_name or _("(no name)")


def role_label(role: str) -> str:
    """A role as the reader reads it."""
    labels: dict[str, str] = {
        Role.FAMILY: _("family"),
        Role.VOLUNTEER: _("volunteer"),
        Role.COORDINATOR: _("coordinator"),
    }
    return labels.get(role, role)
