"""Serializer fields shared by every app."""

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers


class AwareDateTimeField(serializers.DateTimeField):
    """ISO 8601 with an explicit offset; a datetime without one is ambiguous and refused."""

    default_error_messages = {
        "naive": _("The time must include a UTC offset, e.g. 2026-01-01T20:00:00+08:00."),
    }

    def to_internal_value(self, value):
        parsed = super().to_internal_value(value)
        if isinstance(value, str) and _lacks_offset(value):
            self.fail("naive")
        return parsed

    def to_representation(self, value):
        # In TIME_ZONE (the service never activates another): the default zone, looked up
        # once, not the current one, whose context-local lookup costs several times the
        # conversion, for each of the times in every response (~10-20 µs a response in a loop:
        # docs/benchmarks.md, "The join in one round trip, key prepared once, times in one
        # zone").
        if value is None:
            return None
        return value.astimezone(timezone.get_default_timezone()).isoformat()


def _lacks_offset(text: str) -> bool:
    tail = text.strip()[10:]  # after the date part
    return not (tail.endswith(("Z", "z")) or "+" in tail or "-" in tail)
