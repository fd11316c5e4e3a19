from django.urls import path

from omniguichet.crm import views

app_name = "crm"
urlpatterns = [
    path("", views.console, name="console"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("login/code/", views.second_factor, name="second_factor"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("search/", views.search, name="search"),
    path("persons/<int:person_id>/", views.record, name="record"),
    path("persons/<int:person_id>/timeline/", views.timeline, name="timeline"),
    path("persons/<int:person_id>/contacts/", views.add_contact, name="add_contact"),
]
