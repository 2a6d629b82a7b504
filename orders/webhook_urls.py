from django.urls import path

from orders import webhooks

urlpatterns = [path("tracking", webhooks.tracking_webhook, name="tracking-webhook")]
