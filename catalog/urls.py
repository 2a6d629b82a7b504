import os

from django.conf import settings
from django.urls import path

from catalog import views

app_name = "catalog"

urlpatterns = [
    path("", views.home, name="home"),
    path("c/<slug:slug>/", views.category, name="category"),
    path("listing/<int:pk>/", views.product_detail, name="product_short"),
    path("listing/choice/<int:pk>/", views.choice_status, name="choice"),
    path("listing/<int:pk>/<slug:slug>/", views.product_detail, name="product"),
    path("favorites/", views.favorites, name="favorites"),
    path("favorites/listing/<int:pk>/", views.toggle_favorite_product, name="favorite_product"),
    path("favorites/shop/<int:pk>/", views.toggle_favorite_shop, name="favorite_shop"),
    path("media/<path:path>", views.media, name="media"),
]

# The benchmark's ceiling (scripts/bench_web.py): only with DEBUG off and BENCH_BARE_VIEW=1.
if not settings.DEBUG and os.environ.get("BENCH_BARE_VIEW") == "1":
    urlpatterns.append(path("bench/bare", views.bare, name="bench_bare"))
