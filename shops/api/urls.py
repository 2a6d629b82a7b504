from django.urls import path

from shops.api import views

urlpatterns = [
    path("shops", views.OpenShopApi.as_view(), name="shops"),
    path("shops/<int:shop_id>", views.ShopDetailApi.as_view(), name="shop-detail"),
    path("seller/shop", views.SellerShopApi.as_view(), name="seller-shop"),
]
