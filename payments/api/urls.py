from django.urls import path

from payments.api import views

urlpatterns = [
    path("seller/payments", views.SellerPaymentsApi.as_view(), name="seller-payments"),
]
