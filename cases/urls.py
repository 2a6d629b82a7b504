from django.urls import path

from cases import views

app_name = "cases"

urlpatterns = [
    path("", views.case_list, name="list"),
    path("orders/<int:order_id>/open/", views.open_case, name="open"),
    path("<int:case_id>/message/", views.message, name="message"),
    path("<int:case_id>/escalate/", views.escalate, name="escalate"),
    path("<int:case_id>/close/", views.close, name="close"),
]
