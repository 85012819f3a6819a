from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path, re_path
from django.utils.translation import gettext_lazy as _
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from lottery_site import views

# The back office carries the product's name, not Django's.
admin.site.site_header = _("Lottery mini-program back office")
admin.site.site_title = _("Lottery mini-program back office")
admin.site.index_title = _("Lotteries, users and moderation")

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("metrics", views.metrics, name="metrics"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("api/v1/", include("accounts.urls")),
    path("api/v1/", include("events.urls")),
    path("api/v1/", include("draws.urls")),
    path("api/v1/", include("notifications.urls")),
    path("api/v1/", include("clientconfig.urls")),
    path("api/v1/", include("live.urls")),
    # Anything else under /api/ is a JSON 404 in the envelope, never Django's HTML page.
    re_path(r"^api/", views.api_not_found),
    path("admin/", admin.site.urls),
    # The live draws' big screen (an HTML page opened by its link's token).
    path("", include("live.page_urls")),
]

# Development serves uploaded pictures itself (static() is empty with DEBUG off); in production
# nginx serves var/media (README, "Pictures"), or they live in an S3-compatible bucket.
if settings.DEBUG and not settings.MEDIA_S3_BUCKET:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
