"""Throttles, counted in the shared cache (Redis in production).

Login is limited per client IP, everything else per user. Rates come from the environment
(THROTTLE_LOGIN_RATE, THROTTLE_USER_RATE); the defaults allow for carrier NAT, where many real
users share one address.
"""

from rest_framework import throttling


class LoginRateThrottle(throttling.AnonRateThrottle):
    scope = "login"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class UserRateThrottle(throttling.UserRateThrottle):
    scope = "user"

    def get_cache_key(self, request, view):
        user = request.user
        if user is None or not getattr(user, "is_authenticated", False):
            return None  # unauthenticated calls are refused anyway, or limited per IP
        return self.cache_format % {"scope": self.scope, "ident": user.pk}


class PublicRateThrottle(LoginRateThrottle):
    """Public, unauthenticated reads (draw proofs, entrant lists): per client IP."""

    scope = "public"
