"""The privacy consent gate: no service beyond public pages before the policy is accepted.

With PRIVACY_POLICY_VERSION set, a signed-in caller who has not accepted that version gets
403 ``privacy_consent_required`` (40320, ``data`` = the version and the policy's URL) from every
view but the methods it names ``privacy_consent_exempt`` (``lottery_site.api``). Unset (the
default), nothing is required: clients that send no consent keep working.

It costs nothing on the hot paths: the version a user accepted travels in their tokens
(``accounts.services.tokens_for``). A token older than the acceptance costs one query, once per
process (``CONSENTED``): acceptances are never withdrawn (deleting the account stops its tokens
another way), so a positive answer stays true until the version changes.
"""

import threading

from django.conf import settings
from rest_framework.permissions import BasePermission

from accounts.models import User
from lottery_site.api import consent_exempt
from lottery_site.errors import ApplicationError

# The claim that carries the privacy policy version the user had accepted when it was issued.
PRIVACY_VERSION_CLAIM = "pv"


class ConsentMemo:
    """User ids this process has seen accept a version their token did not carry: bounded."""

    SIZE = 10_000

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._versions: dict[int, str] = {}

    def has(self, user_id: int, version: str) -> bool:
        return self._versions.get(user_id) == version

    def put(self, user_id: int, version: str) -> None:
        with self._lock:
            if len(self._versions) >= self.SIZE:
                self._versions.clear()
            self._versions[user_id] = version

    def clear(self) -> None:
        with self._lock:
            self._versions.clear()


CONSENTED = ConsentMemo()


def consent_missing(user_id: int, token_version: str | None) -> bool:
    """Whether the caller must accept the current policy before anything else."""
    current = settings.PRIVACY_POLICY_VERSION
    if not current or token_version == current or CONSENTED.has(user_id, current):
        return False
    if User.objects.filter(pk=user_id, privacy_version=current).exists():
        CONSENTED.put(user_id, current)
        return False
    return True


def consent_refusal() -> ApplicationError:
    return ApplicationError(
        "privacy_consent_required",
        data={
            "version": settings.PRIVACY_POLICY_VERSION,
            "url": settings.PRIVACY_POLICY_URL,
        },
    )


class PrivacyConsented(BasePermission):
    """After IsAuthenticated (REST_FRAMEWORK's default permissions): a caller without a token
    is told to log in first, not to accept a policy."""

    def has_permission(self, request, view) -> bool:
        if not settings.PRIVACY_POLICY_VERSION or consent_exempt(view, request.method):
            return True
        user = request.user
        if user is None or not user.is_authenticated:
            return True
        token = request.auth
        version = token.get(PRIVACY_VERSION_CLAIM) if token is not None else None
        if consent_missing(user.pk, version):
            raise consent_refusal()
        return True
