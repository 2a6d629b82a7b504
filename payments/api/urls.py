from django.urls import path

from payments.api import views

urlpatterns = [
    path("seller/payments", views.SellerPaymentsApi.as_view(), name="seller-payments"),
    path("seller/orders/<int:order_id>/refund", views.SellerRefundOrderApi.as_view(), name="seller-order-refund"),
]
