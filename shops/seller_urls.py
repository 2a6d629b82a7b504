from django.urls import path

from shops import seller_views

app_name = "sell"

urlpatterns = [
    path("", seller_views.start, name="start"),
    path("open/", seller_views.open_shop, name="open"),
]
