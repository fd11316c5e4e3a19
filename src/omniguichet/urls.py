from django.contrib import admin
from django.urls import include, path

from omniguichet.api import api
from omniguichet.core.admin import StaffAdminSite
from omniguichet.core.observability import metrics
from omniguichet.core.production import healthz, readyz
from omniguichet.views import accessibility, home

# The admin asks for the staff's second factor too: its login form takes the TOTP code with the password, and a
# session is let in only once verified (the password is throttled in accounts.backends.PasswordBackend, the code
# in core.staff_otp, both audited).
admin.site.__class__ = StaffAdminSite

urlpatterns = [
    path("", home, name="home"),
    # Health (docs/production.md): no authentication, no personal data, never cached.
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("metrics", metrics, name="metrics"),
    # django-dsfr's footer links its "Accessibilité" mention to the URL of this name.
    path("accessibilite/", accessibility, name="footer-accessibility-status"),
    path("admin/", admin.site.urls),
    path("agent/", include("omniguichet.crm.urls")),
    path("api/v1/", api.urls),
    path("compte/", include("omniguichet.accounts.urls")),
    path("", include("omniguichet.teleservices.urls")),
    path("analytics/", include("omniguichet.analytics.urls")),
    path("", include("omniguichet.cases.urls")),
    path("", include("omniguichet.baskets.urls")),
    path("", include("omniguichet.documents.urls")),
    path("", include("omniguichet.appointments.urls")),
    path("reception/", include("omniguichet.reception.urls")),
    path("", include("omniguichet.messaging.urls")),
    path("", include("omniguichet.telephony.urls")),
]
