from django.conf import settings
from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("etsy.api_urls")),
    # The email provider's delivery webhooks (bounces, complaints: accounts.receivers), basic-auth protected.
    path("anymail/", include("anymail.urls")),
    path("", include("etsy.ops_urls")),
    # A carrier tracking service's status updates (HMAC-signed): orders.webhooks.
    path("webhooks/", include("orders.webhook_urls")),
    path("accounts/", include("accounts.urls")),
    path("account/", include("accounts.account_urls")),
    path("shops/", include("catalog.shop_urls")),
    path("sell/", include("shops.seller_urls")),
    path("search/", include("search.urls")),
    path("cart/", include("cart.urls")),
    path("orders/", include("orders.urls")),
    path("messages/", include("messaging.urls")),
    path("payments/", include("payments.urls")),
    path("cases/", include("cases.urls")),
    path("", include("catalog.urls")),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
