from django.urls import path

from omniguichet.telephony import views

app_name = "telephony"
urlpatterns = [
    path("agent/telephonie/", views.console, name="console"),
    path("agent/telephonie/appel/", views.screen_pop, name="screen_pop"),
    path("agent/telephonie/flux/", views.screen_pop_stream, name="screen_pop_stream"),
]
