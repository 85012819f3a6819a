"""Everything we hold about a person, exported and erased in one place (docs/privacy.md).

Each app that keeps personal data registers a ``Holder`` in its ``AppConfig.ready``: how to
export its part (``GET /me/data``), whether it refuses a deletion for now, and how to erase
its part. ``accounts`` knows nothing of lotteries: ``events`` and ``notifications`` register
themselves, so the arrows still point down (lottery_site <- accounts <- events <- ...).

An app that starts keeping something about people registers it here, or ``GET /me/data`` and
account deletion silently miss it: tests/test_privacy.py checks every model pointing at a user
is named by some holder.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from accounts.models import User


@dataclass(frozen=True)
class Holder:
    """One app's part. ``export(user=, now=, context=)`` returns its sections of the export,
    rendered (JSON-ready; ``context`` is the serializer context, with the request for picture
    URLs); ``refuse_deletion(user=, now=)`` raises an ApplicationError while the person may not
    delete their account yet; ``erase(user=, now=)`` erases, harmless when run twice.
    ``models``: the models of the app that hold something about a person (as "app.Model")."""

    app: str
    export: Callable[..., dict[str, Any]]
    erase: Callable[..., None]
    refuse_deletion: Callable[..., None] | None = None
    models: tuple[str, ...] = field(default_factory=tuple)


HOLDERS: list[Holder] = []


def register(holder: Holder) -> None:
    """Add ``holder`` (once per app: ``ready()`` may run twice in tests)."""
    HOLDERS[:] = [h for h in HOLDERS if h.app != holder.app] + [holder]


def data_export(*, user: User, now: datetime, context: dict) -> dict[str, Any]:
    """Every holder's sections, in registration order (accounts first)."""
    export: dict[str, Any] = {}
    for holder in HOLDERS:
        export.update(holder.export(user=user, now=now, context=context))
    return export


def check_deletion(*, user: User, now: datetime) -> None:
    for holder in HOLDERS:
        if holder.refuse_deletion is not None:
            holder.refuse_deletion(user=user, now=now)


def erase(*, user: User, now: datetime) -> None:
    """The apps on top first, accounts last: the upper ones may still read the user's row."""
    for holder in reversed(HOLDERS):
        holder.erase(user=user, now=now)
