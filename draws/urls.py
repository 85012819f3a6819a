from django.urls import path

from draws import views

urlpatterns = [
    path("events/<str:event_id>/proof", views.ProofView.as_view(), name="event-proof"),
    path("events/<str:event_id>/winners", views.WinnersView.as_view(), name="event-winners"),
    path("events/<str:event_id>/entrants", views.EntrantsView.as_view(), name="event-entrants"),
    path("events/<str:event_id>/entrants/me", views.MyEntryView.as_view(), name="event-entrant-me"),
    path("events/<str:event_id>/draw", views.DrawNowView.as_view(), name="event-draw"),
    path(
        "events/<str:event_id>/winners/<str:user_id>/disqualify",
        views.DisqualifyView.as_view(),
        name="event-winner-disqualify",
    ),
]
