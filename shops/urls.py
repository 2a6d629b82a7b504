from django.urls import path

from shops import views

app_name = "shops"

urlpatterns = [
    path("<slug:slug>/", views.shop_detail, name="detail"),
]
