from django.urls import path

from accounts.api import views, views_me

urlpatterns = [
    path("auth/register", views.RegisterApi.as_view(), name="auth-register"),
    path("auth/token", views.TokenApi.as_view(), name="auth-token"),
    path("me", views.MeApi.as_view(), name="me"),
    path("me/email", views_me.MeEmailApi.as_view(), name="me-email"),
    path("me/email/confirm", views_me.MeEmailConfirmApi.as_view(), name="me-email-confirm"),
    path("me/password", views_me.MePasswordApi.as_view(), name="me-password"),
    path("me/addresses", views_me.MeAddressListApi.as_view(), name="me-addresses"),
    path("me/addresses/<int:address_id>", views_me.MeAddressDetailApi.as_view(), name="me-address"),
]
