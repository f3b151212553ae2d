"""The coordinators' workspace: which Mini App initData were already used (each is accepted once)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from storage.db import Session
from storage.models import WorkspaceNonce


def use_once(*, session: Session, digest: str, now: datetime, forget_before: datetime) -> bool:
    """Record this initData as used; False when it was used before. Entries older than `forget_before` go."""
    session.execute(delete(WorkspaceNonce).where(col(WorkspaceNonce.used_at) < forget_before))
    if session.get(WorkspaceNonce, digest) is not None:
        return False
    try:
        with session.begin_nested():
            session.add(WorkspaceNonce(digest=digest, used_at=now))
            session.flush()
    except IntegrityError:
        return False  # another instance took it at the same moment
    return True
