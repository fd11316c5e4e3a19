from django.urls import path

from omniguichet.reception import views

app_name = "reception"
urlpatterns = [
    path("", views.sites, name="sites"),
    path("<int:site_id>/kiosk", views.kiosk, name="kiosk"),
    path("<int:site_id>/display", views.display, name="display"),
    path("<int:site_id>/desk", views.desk, name="desk"),
    path("<int:site_id>/call-next", views.call_next, name="call_next"),
    path("tickets/<int:ticket_id>/close", views.close, name="close"),
]
