"""A URLconf for tests only: the real one plus views that crash, to see how crashes render."""

from django.urls import path
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import AllowAny

from lottery_site.urls import urlpatterns as real_urlpatterns


@api_view(["GET"])
@permission_classes([AllowAny])
def drf_crash(request):
    raise RuntimeError("boom inside a DRF view")


def plain_crash(request):
    raise RuntimeError("boom inside a plain Django view")


urlpatterns = [
    path("api/v1/test/drf-crash", drf_crash),
    path("api/v1/test/plain-crash", plain_crash),
    *real_urlpatterns,
]
