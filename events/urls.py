from django.urls import path

from events import views

urlpatterns = [
    path("events", views.EventListView.as_view(), name="events"),
    path("events/<str:event_id>", views.EventDetailView.as_view(), name="event-detail"),
    path("events/<str:event_id>/cancel", views.EventCancelView.as_view(), name="event-cancel"),
    path("events/<str:event_id>/share", views.EventShareView.as_view(), name="event-share"),
    path("events/<str:event_id>/report", views.EventReportView.as_view(), name="event-report"),
    path("wechat/callback", views.WeChatCallbackView.as_view(), name="wechat-callback"),
    path("events/<str:event_id>/entry", views.EntryView.as_view(), name="event-entry"),
    path("events/<str:event_id>/entries", views.EntryListView.as_view(), name="event-entries"),
    path("me/events", views.MyEventsView.as_view(), name="my-events"),
]
