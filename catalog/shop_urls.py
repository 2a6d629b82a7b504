"""/shops/<slug>/: the storefront, a listing page of one shop (the "shops" URL namespace is kept)."""

from django.urls import path

from catalog import shop_views as views

app_name = "shops"

urlpatterns = [
    path("<slug:slug>/", views.shop_detail, name="detail"),
]
