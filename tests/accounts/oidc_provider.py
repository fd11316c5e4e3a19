"""A FranceConnect-style OpenID Connect provider for tests, built with django-oauth-toolkit: the platform's own
URLs plus the provider's under /fc/. Identities (the claims FranceConnect gives) are set by the test."""

from django.urls import include, path
from oauth2_provider.oauth2_validators import OAuth2Validator

from omniguichet.urls import urlpatterns as platform_urlpatterns

# username of the provider's user -> the claims the provider certifies
IDENTITIES: dict[str, dict[str, str]] = {}


class ClaimsValidator(OAuth2Validator):
    oidc_claim_scope = None  # every claim, as FranceConnect gives those of the scopes asked for

    def get_additional_claims(self, request):
        return dict(IDENTITIES.get(request.user.username, {}))


urlpatterns = [
    *platform_urlpatterns,
    path("fc/", include("oauth2_provider.urls", namespace="oauth2_provider")),
]
