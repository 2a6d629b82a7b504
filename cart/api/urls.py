from django.urls import path

from cart.api import views

urlpatterns = [
    path("cart", views.CartApi.as_view(), name="cart"),
    path("cart/items", views.CartItemListApi.as_view(), name="cart-items"),
    path("cart/items/<int:line_id>", views.CartItemApi.as_view(), name="cart-item"),
]
