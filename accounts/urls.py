from django.urls import path

from accounts import views

urlpatterns = [
    path("auth/login", views.LoginView.as_view(), name="auth-login"),
    path("auth/refresh", views.RefreshView.as_view(), name="auth-refresh"),
    path("auth/logout", views.LogoutView.as_view(), name="auth-logout"),
    path("me", views.MeView.as_view(), name="me"),
    path("me/data", views.MyDataView.as_view(), name="me-data"),
    path("me/privacy-consent", views.PrivacyConsentView.as_view(), name="me-privacy-consent"),
    path("uploads", views.UploadView.as_view(), name="uploads"),
]
