from django.urls import path

from messaging import views

app_name = "messaging"

urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("new/", views.new, name="new"),
    path("custom/", views.custom_request, name="custom"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/block/", views.block, name="block"),
    path("<int:pk>/report/<int:message_id>/", views.report, name="report"),
]
