from django.urls import path

from shops.api import views

urlpatterns = [
    path("shops", views.OpenShopApi.as_view(), name="shops"),
    path("shops/<int:shop_id>", views.ShopDetailApi.as_view(), name="shop-detail"),
    path("shops/<int:shop_id>/products", views.ShopProductListApi.as_view(), name="shop-products"),
    path("shops/<int:shop_id>/reviews", views.ShopReviewListApi.as_view(), name="shop-reviews"),
    path("seller/shop", views.SellerShopApi.as_view(), name="seller-shop"),
    path("seller/stats", views.SellerStatsApi.as_view(), name="seller-stats"),
]
