from django.urls import path

from notifications import views

urlpatterns = [
    path("me/subscriptions", views.SubscriptionsView.as_view(), name="me-subscriptions"),
    path("me/notifications", views.NotificationsView.as_view(), name="me-notifications"),
    path(
        "me/notifications/read", views.NotificationsReadView.as_view(), name="me-notifications-read"
    ),
]
