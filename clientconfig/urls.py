from django.urls import path

from clientconfig import views

urlpatterns = [path("config", views.ConfigView.as_view(), name="config")]
