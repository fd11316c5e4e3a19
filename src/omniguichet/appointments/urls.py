from django.urls import path

from omniguichet.appointments import views

app_name = "appointments"
urlpatterns = [
    path("compte/rendez-vous/", views.my_appointments, name="mine"),
    path("compte/rendez-vous/creneaux/", views.my_slots, name="mine_slots"),
    path("compte/rendez-vous/liste-attente/", views.my_waiting_list, name="mine_waiting_list"),
    path("compte/rendez-vous/<int:appointment_id>/", views.my_appointment, name="mine_detail"),
    path("compte/rendez-vous/<int:appointment_id>/ics", views.my_appointment_ics, name="mine_ics"),
    path("compte/rendez-vous/<int:appointment_id>/annuler", views.my_cancel, name="mine_cancel"),
    path("rendez-vous/gerer/<str:token>/", views.manage, name="manage"),
    path("rendez-vous/gerer/<str:token>/ics", views.manage_ics, name="manage_ics"),
    path("rendez-vous/qr/<str:code>/", views.qr, name="qr"),
    path("rendez-vous/visio/<str:room>/", views.video, name="video"),
    path("rendez-vous/offre/<str:token>/", views.offer, name="offer"),
    path("agent/rendez-vous/<int:person_id>/", views.agent_book, name="agent_book"),
    path("agent/rendez-vous/<int:person_id>/creneaux/", views.agent_slots, name="agent_slots"),
    path("agent/callbacks/", views.callbacks, name="callbacks"),
    path("agent/callbacks/<int:appointment_id>/", views.callback_outcome, name="callback_outcome"),
]
