from django.urls import path

from live import views

urlpatterns = [
    path("events/<str:event_id>/live", views.LiveView.as_view(), name="live"),
    path(
        "events/<str:event_id>/live/messages",
        views.LiveMessagesView.as_view(),
        name="live-messages",
    ),
    path("events/<str:event_id>/live/proof", views.LiveProofView.as_view(), name="live-proof"),
    path("events/<str:event_id>/live/lock", views.LiveLockView.as_view(), name="live-lock"),
    path("events/<str:event_id>/live/pause", views.LivePauseView.as_view(), name="live-pause"),
    path("events/<str:event_id>/live/resume", views.LiveResumeView.as_view(), name="live-resume"),
    path("events/<str:event_id>/live/end", views.LiveEndView.as_view(), name="live-end"),
    path(
        "events/<str:event_id>/live/rounds/next",
        views.LiveNextRoundView.as_view(),
        name="live-next-round",
    ),
    path("events/<str:event_id>/live/screens", views.ScreensView.as_view(), name="live-screens"),
    path(
        "events/<str:event_id>/live/screens/<str:screen_id>",
        views.ScreenRevokeView.as_view(),
        name="live-screen-revoke",
    ),
]
