"""Durations written as people write them, in the request's language: "5 分钟", "1 hour 30 minutes".

A lead of 5 seconds used to read "至少要在 0.0833333 分钟之后": messages built from a setting
in seconds must not do arithmetic a person then has to undo.
"""

from django.utils.translation import ngettext

_UNITS = (
    (86_400, lambda n: ngettext("%(n)d day", "%(n)d days", n)),
    (3_600, lambda n: ngettext("%(n)d hour", "%(n)d hours", n)),
    (60, lambda n: ngettext("%(n)d minute", "%(n)d minutes", n)),
    (1, lambda n: ngettext("%(n)d second", "%(n)d seconds", n)),
)


def humanize_duration(seconds: float) -> str:
    """The two largest non-zero units, rounded down to the second: 90 -> "1 minute 30 seconds"."""
    remaining = max(int(seconds), 0)
    parts = []
    for size, word in _UNITS:
        count, remaining = divmod(remaining, size)
        if count:
            parts.append(word(count) % {"n": count})
        if len(parts) == 2:
            break
    return " ".join(parts) if parts else ngettext("%(n)d second", "%(n)d seconds", 0) % {"n": 0}
