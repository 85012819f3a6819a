"""How long the anti-fraud signals are kept (docs/privacy.md, "Retention while the account lives").

A join's network key and WeChat risk rank (``Entry.network``, ``Entry.risk_rank``) and an
exclusion's network key serve the creator's flags (``events.fraud``): before the lock, to
exclude, and after the draw, should a winner be disqualified as a fake or duplicate account.
``FRAUD_SIGNAL_ERASE_AFTER_DAYS`` after an event was drawn or canceled they are blanked, to the
values account deletion writes (``entries.entries_forget_fraud_signals``, which does it per
person, at once). The entries and exclusions stay: the proof names and counts them.

``Event.signals_erased_at`` records that an event's signals are gone, so a sweep reads only
the finished events still to do (an index on ``(status, signals_erased_at)``), never the
entries of every event ever drawn. Nothing writes a signal after the lock (joins, withdrawals
and exclusions end there), so an event done once stays done.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q

from events import read_model
from events.models import Entry, Event, Exclusion

# Events per sweep: the first sweeps after an upgrade drain the events finished before it a
# batch at a time, each in its own short transaction.
ERASE_BATCH = 200


def events_erase_fraud_signals_due(*, now: datetime) -> int:
    """Blank the anti-fraud signals of the events drawn or canceled at least
    ``FRAUD_SIGNAL_ERASE_AFTER_DAYS`` before ``now``; how many entries and exclusions lost theirs.

    Each event is taken by a conditional UPDATE of its ``signals_erased_at`` in the transaction
    that blanks its rows: running it twice, or in two workers at once, blanks nothing more. An
    event canceled before 1.1.0 recorded no cancel time; its draw time stands in (a cancel comes
    before it, or settles at it).
    """
    cutoff = now - timedelta(days=settings.FRAUD_SIGNAL_ERASE_AFTER_DAYS)
    finished = Q(status=Event.Status.OPENED, drawn_at__lte=cutoff) | Q(
        Q(canceled_at__lte=cutoff) | Q(canceled_at__isnull=True, draw_at__lte=cutoff),
        status=Event.Status.CANCELED,
    )
    # No ORDER BY: "ORDER BY id LIMIT n" can lead MariaDB to walk the primary key through every
    # event instead of the index's few rows; which due events come first does not matter.
    due = Event.objects.filter(
        finished,
        status__in=[Event.Status.OPENED, Event.Status.CANCELED],
        signals_erased_at__isnull=True,
    ).values_list("pk", flat=True)[:ERASE_BATCH]
    return sum(_erase(event_id=event_id, now=now) for event_id in due)


def _erase(*, event_id: int, now: datetime) -> int:
    with transaction.atomic():
        taken = Event.objects.filter(pk=event_id, signals_erased_at__isnull=True).update(
            signals_erased_at=now
        )
        if not taken:
            return 0  # another sweep got there first
        entries = Entry.objects.filter(event_id=event_id).exclude(network="", risk_rank=None)
        exclusions = Exclusion.objects.filter(event_id=event_id).exclude(network="")
        erased = entries.update(network="", risk_rank=None) + exclusions.update(network="")
        read_model.event_changed(event_id=event_id, what="signals")
    return erased
