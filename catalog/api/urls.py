from django.urls import path

from catalog.api import seller_views, views

urlpatterns = [
    path("categories", views.CategoryListApi.as_view(), name="categories"),
    path("products", views.ProductListApi.as_view(), name="products"),
    path("products/<int:product_id>", views.ProductDetailApi.as_view(), name="product-detail"),
    path("feed", views.FeedApi.as_view(), name="feed"),
    path("shops/<int:shop_id>/products", views.ShopProductListApi.as_view(), name="shop-products"),
    path("favorites", views.FavoriteListApi.as_view(), name="favorites"),
    path(
        "favorites/products/<int:target_id>",
        views.FavoriteDeleteApi.as_view(kind="product"),
        name="favorite-product",
    ),
    path("favorites/shops/<int:target_id>", views.FavoriteDeleteApi.as_view(kind="shop"), name="favorite-shop"),
    path("seller/products", seller_views.SellerProductListApi.as_view(), name="seller-products"),
    path("seller/products/<int:product_id>", seller_views.SellerProductApi.as_view(), name="seller-product"),
    path(
        "seller/products/<int:product_id>/images",
        seller_views.SellerProductImageApi.as_view(),
        name="seller-product-images",
    ),
    path(
        "seller/products/<int:product_id>/offerings",
        seller_views.SellerOfferingsApi.as_view(),
        name="seller-product-offerings",
    ),
    path(
        "seller/products/<int:product_id>/offerings/<int:offering_id>",
        seller_views.SellerOfferingApi.as_view(),
        name="seller-product-offering",
    ),
    path(
        "seller/products/<int:product_id>/personalization",
        seller_views.SellerPersonalizationApi.as_view(),
        name="seller-product-personalization",
    ),
]
