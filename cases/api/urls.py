from django.urls import path

from cases.api import views

urlpatterns = [
    path("orders/<int:order_id>/case", views.OrderCaseApi.as_view(), name="order-case"),
    path("cases", views.CaseListApi.as_view(), name="cases"),
    path("cases/<int:case_id>", views.CaseDetailApi.as_view(), name="case-detail"),
    path("cases/<int:case_id>/messages", views.CaseMessageApi.as_view(), name="case-messages"),
    path("cases/<int:case_id>/escalate", views.CaseEscalateApi.as_view(), name="case-escalate"),
    path("cases/<int:case_id>/close", views.CaseCloseApi.as_view(), name="case-close"),
    path("seller/cases", views.SellerCaseListApi.as_view(), name="seller-cases"),
    path("seller/cases/<int:case_id>", views.SellerCaseDetailApi.as_view(), name="seller-case"),
    path("seller/cases/<int:case_id>/messages", views.SellerCaseMessageApi.as_view(), name="seller-case-messages"),
    path("seller/cases/<int:case_id>/refund", views.SellerCaseRefundApi.as_view(), name="seller-case-refund"),
]
