"""The big screen's page: HTML, outside /api/ (no envelope), opened by its link's token."""

from django.urls import path

from live import views

urlpatterns = [
    path("live/screen/<str:token>/", views.screen, name="live-screen"),
]
