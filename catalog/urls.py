import os

from django.conf import settings
from django.urls import path

from catalog.views import browse, favorites, media, product

app_name = "catalog"

urlpatterns = [
    path("", browse.home, name="home"),
    path("c/<slug:slug>/", browse.category, name="category"),
    path("listing/<int:pk>/", product.product_detail, name="product_short"),
    path("listing/choice/<int:pk>/", product.choice_status, name="choice"),
    path("listing/<int:pk>/<slug:slug>/", product.product_detail, name="product"),
    path("favorites/", favorites.favorites, name="favorites"),
    path("favorites/listing/<int:pk>/", favorites.toggle_favorite_product, name="favorite_product"),
    path("favorites/shop/<int:pk>/", favorites.toggle_favorite_shop, name="favorite_shop"),
    path("media/<path:path>", media.media, name="media"),
]

# The benchmark's ceiling (scripts/bench_web.py): only with DEBUG off and BENCH_BARE_VIEW=1.
if not settings.DEBUG and os.environ.get("BENCH_BARE_VIEW") == "1":
    urlpatterns.append(path("bench/bare", media.bare, name="bench_bare"))
