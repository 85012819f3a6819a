"""Keys that must never sign anything in production, because anyone can read them.

No Django imports: settings use it before Django is set up, and so does the system check
(lottery_site/checks.py) afterwards.
"""

import re

# The key of development mode (DJANGO_DEBUG=1 with nothing configured); it is in this repository.
DEV_SECRET_KEY = "dev-insecure-lottery-secret-key-change-me-in-production-0123456789"  # noqa: S105

# A documented example left as it was: "<50+ random characters: ...>" in
# deploy/systemd/lottery.env.example and README.md, or a "change me" of any spelling.
_PLACEHOLDER = re.compile(r"^\s*<.*>\s*$|change[-_ ]?me|replace[-_ ]?me", re.IGNORECASE | re.DOTALL)


def is_placeholder(key: str) -> bool:
    """True for an example's placeholder: a value nobody meant as a key (never right, even in
    development, unlike the development key)."""
    return key != DEV_SECRET_KEY and bool(_PLACEHOLDER.search(key))


def is_public(key: str) -> bool:
    """True for the development key or a placeholder: tokens signed with it can be forged."""
    return key == DEV_SECRET_KEY or is_placeholder(key)
