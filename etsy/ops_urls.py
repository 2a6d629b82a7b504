"""Operations endpoints: /metrics (Prometheus) and /api/health (load balancers, monitors)."""

from django.urls import path

from etsy.health import health_view
from etsy.views_metrics import metrics_view

urlpatterns = [
    path("metrics", metrics_view, name="metrics"),
    path("api/health", health_view, name="health"),
]
