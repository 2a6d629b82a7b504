from django.urls import path

from accounts.api import views

urlpatterns = [
    path("auth/register", views.RegisterApi.as_view(), name="auth-register"),
    path("auth/token", views.TokenApi.as_view(), name="auth-token"),
    path("me", views.MeApi.as_view(), name="me"),
]
