from django.urls import path

from orders.api import lifecycle, views

urlpatterns = [
    path("checkout", views.CheckoutApi.as_view(), name="checkout"),
    path("orders", views.OrderListApi.as_view(), name="orders"),
    path("orders/<int:order_id>", views.OrderDetailApi.as_view(), name="order-detail"),
    path("orders/<int:order_id>/review", views.OrderReviewApi.as_view(), name="order-review"),
    path("orders/<int:order_id>/received", lifecycle.OrderReceivedApi.as_view(), name="order-received"),
    path("orders/<int:order_id>/cancellation", lifecycle.OrderCancellationApi.as_view(), name="order-cancellation"),
    path("seller/orders", views.SellerOrderListApi.as_view(), name="seller-orders"),
    path("seller/orders/<int:order_id>", views.SellerOrderDetailApi.as_view(), name="seller-order"),
    path("seller/orders/<int:order_id>/ship", views.SellerShipOrderApi.as_view(), name="seller-order-ship"),
    path("seller/orders/<int:order_id>/cancel", views.SellerCancelOrderApi.as_view(), name="seller-order-cancel"),
    path(
        "seller/orders/<int:order_id>/cancellation",
        lifecycle.SellerCancellationDecisionApi.as_view(),
        name="seller-order-cancellation",
    ),
    path("shops/<int:shop_id>/reviews", views.ShopReviewListApi.as_view(), name="shop-reviews"),
    path("seller/stats", views.SellerStatsApi.as_view(), name="seller-stats"),
    path("seller/reviews/<int:review_id>/reply", views.SellerReviewReplyApi.as_view(), name="seller-review-reply"),
]
