from django.urls import path

from orders import views

app_name = "orders"

urlpatterns = [
    path("", views.history, name="history"),
    path("checkout/", views.checkout, name="checkout"),
    path("checkout/<uuid:checkout_id>/", views.confirmation, name="confirmation"),
    path("checkout/<uuid:checkout_id>/authenticate/", views.authenticate, name="authenticate"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/review/", views.review, name="review"),
    path("<int:pk>/received/", views.received, name="received"),
    path("<int:pk>/cancellation/", views.request_cancellation, name="cancellation"),
]
