"""/api/v1/: each app's api/urls.py is included here, then the schema and its docs.

Unknown paths under /api/v1/ answer 404 in the API's error format.
"""

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from etsy.api.errors import api_not_found
from etsy.api.views import NoStoreMixin


class SchemaApi(NoStoreMixin, SpectacularAPIView):
    pass


app_name = "api"

# Django tries the patterns in order, and the writes under load come first: an add-to-cart was matched against the
# 25 patterns of accounts, catalog and shops before its own (no two apps' patterns match the same path, and the
# schema lists its operations sorted, so the order changes neither what answers nor the schema).
urlpatterns = [
    path("", include("cart.api.urls")),
    path("", include("orders.api.urls")),
    path("", include("accounts.api.urls")),
    path("", include("catalog.api.urls")),
    path("", include("shops.api.urls")),
    path("", include("search.api.urls")),
    path("", include("messaging.api.urls")),
    path("", include("payments.api.urls")),
    path("", include("cases.api.urls")),
    path("schema", SchemaApi.as_view(), name="schema"),
    path("docs", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
    re_path(r"^.*$", api_not_found),
]
