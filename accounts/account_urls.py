from django.urls import path

from accounts import account_views as views

app_name = "account"

urlpatterns = [
    path("", views.profile, name="profile"),
    path("name/", views.change_name, name="name"),
    path("email/", views.change_email, name="email"),
    path("email/confirm/<str:token>/", views.confirm_email, name="email_confirm"),
    path("password/", views.change_password, name="password"),
    path("addresses/", views.address_list, name="addresses"),
    path("addresses/new/", views.address_add, name="address_add"),
    path("addresses/<int:pk>/edit/", views.address_edit, name="address_edit"),
    path("addresses/<int:pk>/delete/", views.address_delete, name="address_delete"),
    path("addresses/<int:pk>/default/", views.address_make_default, name="address_default"),
]
