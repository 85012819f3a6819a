from django.urls import path

from events import claim_views, views

urlpatterns = [
    path("events", views.EventListView.as_view(), name="events"),
    path("events/<str:event_id>", views.EventDetailView.as_view(), name="event-detail"),
    path("events/<str:event_id>/cancel", views.EventCancelView.as_view(), name="event-cancel"),
    path("events/<str:event_id>/share", views.EventShareView.as_view(), name="event-share"),
    path("events/<str:event_id>/report", views.EventReportView.as_view(), name="event-report"),
    path("wechat/callback", views.WeChatCallbackView.as_view(), name="wechat-callback"),
    path("events/<str:event_id>/entry", views.EntryView.as_view(), name="event-entry"),
    path("events/<str:event_id>/entries", views.EntryListView.as_view(), name="event-entries"),
    path("events/<str:event_id>/flags", views.EventFlagsView.as_view(), name="event-flags"),
    path(
        "events/<str:event_id>/exclusions",
        views.EventExclusionsView.as_view(),
        name="event-exclusions",
    ),
    path("events/<str:event_id>/claim", claim_views.ClaimView.as_view(), name="event-claim"),
    path("events/<str:event_id>/claims", claim_views.ClaimListView.as_view(), name="event-claims"),
    path(
        "events/<str:event_id>/claim-rows",
        claim_views.ClaimRowListView.as_view(),
        name="event-claim-rows",
    ),
    path(
        "events/<str:event_id>/claims.xlsx",
        claim_views.ClaimXlsxView.as_view(),
        name="event-claims-xlsx",
    ),
    path(
        "events/<str:event_id>/claims.csv",
        claim_views.ClaimCsvView.as_view(),
        name="event-claims-csv",
    ),
    path(
        "events/<str:event_id>/claims/<str:claim_id>/ship",
        claim_views.ClaimShipView.as_view(),
        name="event-claim-ship",
    ),
    path("square", views.SquareView.as_view(), name="square"),
    path("me/events", views.MyEventsView.as_view(), name="my-events"),
]
