from django.urls import path

from omniguichet.core.http import private_noindex
from omniguichet.teleservices import views

app_name = "teleservices"
urlpatterns = [
    path("compte/services/<slug:code>/", views.web_form, name="web_form"),
    path("compte/demandes/<int:request_id>/", views.web_request, name="web_request"),
    path("compte/demandes/<int:request_id>/document/", views.web_document, name="web_document"),
    path("borne/", views.kiosk_home, name="kiosk_home"),
    path("borne/connexion/", views.kiosk_login, name="kiosk_login"),
    path("borne/fin/", views.kiosk_end, name="kiosk_end"),
    path("borne/services/<slug:code>/", views.kiosk_form, name="kiosk_form"),
    path("borne/demandes/<int:request_id>/", views.kiosk_request, name="kiosk_request"),
    path("borne/demandes/<int:request_id>/document/", views.kiosk_document, name="kiosk_document"),
    path("agent/persons/<int:person_id>/services/", views.agent_services, name="agent_services"),
    path("agent/persons/<int:person_id>/services/<slug:code>/", views.agent_form, name="agent_form"),
    path("agent/requests/<int:request_id>/", views.agent_request, name="agent_request"),
    path("agent/requests/<int:request_id>/document/", views.agent_document, name="agent_document"),
    # Verification pages show a holder's name to whoever has the code: never cached, never indexed.
    path("verify/", private_noindex(views.verify), name="verify_form"),
    path("verify/<str:code>", private_noindex(views.verify), name="verify"),
]
