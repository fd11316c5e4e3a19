from django.urls import include, path

from omniguichet.accounts import views

app_name = "accounts"
urlpatterns = [
    path("", views.home, name="home"),
    path("connexion/", views.login_view, name="login"),
    path("connexion/code/", views.second_factor_view, name="second_factor"),
    path("deconnexion/", views.logout_view, name="logout"),
    path("activation/", views.activation_view, name="activation"),
    path("activation/code/", views.activation_code_view, name="activation_code"),
    path("mot-de-passe/", views.reset_view, name="reset"),
    path("mot-de-passe/code/", views.reset_code_view, name="reset_code"),
    path("preferences/", views.preferences_view, name="preferences"),
    path("acces-a-mon-dossier/", views.accesses_view, name="accesses"),
    path("messages/", views.inbox_view, name="inbox"),
    path("messages/<int:message_id>/", views.inbox_message_view, name="inbox_message"),
    path("messages/lu/", views.inbox_read_all_view, name="inbox_read_all"),
    path("franceconnect/confirmer/", views.franceconnect_confirm, name="franceconnect_confirm"),
    # authenticate/ (start: state, nonce, PKCE) and callback/ of mozilla-django-oidc.
    path("franceconnect/", include("mozilla_django_oidc.urls")),
]
