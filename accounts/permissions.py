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

from django.conf import settings
from rest_framework.permissions import BasePermission

from accounts.models import User
from lottery_site import caches
from lottery_site.api import consent_exempt
from lottery_site.errors import ApplicationError

# The claim that carries the privacy policy version the user had accepted when it was issued.
PRIVACY_VERSION_CLAIM = "pv"


# User id -> the policy version this process has seen them accept when their token did not carry
# it. Never wrong while the version stays: acceptances are never withdrawn.
CONSENTED = caches.Memo(
    "auth.consented",
    size=10_000,
    holds="user id -> the privacy policy version they accepted, when their token predates it",
    freshness="never stale: an acceptance is never withdrawn (a deleted account is stopped by "
    "auth.inactive_users); a new PRIVACY_POLICY_VERSION simply no longer matches",
    invalidated_by="nothing (a user who has not accepted is never kept)",
    benchmark="unmeasured (saves one query per request of a token older than its acceptance)",
)


def consent_missing(user_id: int, token_version: str | None) -> bool:
    """Whether the caller must accept the current policy before anything else."""
    current = settings.PRIVACY_POLICY_VERSION
    if not current or token_version == current or CONSENTED.get(user_id) == current:
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
