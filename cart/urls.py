from django.urls import path

from cart import views

app_name = "cart"

urlpatterns = [
    path("", views.cart_detail, name="detail"),
    path("add/<int:pk>/", views.add, name="add"),
    path("update/<int:pk>/", views.update, name="update"),
    path("remove/<int:pk>/", views.remove, name="remove"),
]
