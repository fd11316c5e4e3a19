from django.urls import path

from omniguichet.messaging import views

app_name = "messaging"

urlpatterns = [
    path("compte/messages/nouveau/", views.new_message_view, name="new"),
    path("compte/messages/conversation/<int:thread_id>/", views.thread_view, name="thread"),
    path("compte/messages/piece/<int:attachment_id>/", views.attachment_view, name="attachment"),
    path("agent/messages/", views.queue_view, name="queue"),
    path("agent/messages/<int:thread_id>/", views.agent_thread_view, name="agent_thread"),
    path("agent/messages/<int:thread_id>/prendre/", views.claim_view, name="claim"),
    path("agent/messages/<int:thread_id>/repondre/", views.answer_view, name="answer"),
    path("agent/messages/<int:thread_id>/clore/", views.close_view, name="close"),
    path("agent/messages/<int:thread_id>/objet/", views.motive_view, name="motive"),
    path("agent/messages/<int:thread_id>/rattacher/", views.attach_view, name="attach"),
    path("agent/messages/piece/<int:attachment_id>/", views.agent_attachment_view, name="agent_attachment"),
]
