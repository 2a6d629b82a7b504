from django.urls import path

from messaging.api import views

urlpatterns = [
    path("conversations", views.ConversationListApi.as_view(), name="conversations"),
    path("conversations/<int:conversation_id>", views.ConversationDetailApi.as_view(), name="conversation"),
    path(
        "conversations/<int:conversation_id>/messages",
        views.ConversationMessagesApi.as_view(),
        name="conversation-messages",
    ),
    path("conversations/<int:conversation_id>/read", views.ConversationReadApi.as_view(), name="conversation-read"),
]
