"""The demo's staff logins get the published demo TOTP key, and `omniguichet totp` prints their current code."""

from io import StringIO

import pytest
from django.core.management import call_command
from django_otp.plugins.otp_totp.models import TOTPDevice

from omniguichet.core import staff_otp
from omniguichet.demo.services import DEMO_TOTP_KEY_HEX, ensure_demo_users
from omniguichet.referential.models import User


@pytest.mark.django_db
def test_demo_staff_have_the_demo_totp_key_and_the_command_prints_the_code():
    ensure_demo_users()
    ensure_demo_users()  # idempotent: one device each
    for username in ("agent-751", "supervisor"):
        device = TOTPDevice.objects.get(user__username=username)
        assert device.confirmed and device.key == DEMO_TOTP_KEY_HEX
        out = StringIO()
        call_command("totp", user=username, stdout=out)
        assert out.getvalue().strip() == staff_otp.current_code(device)
    assert TOTPDevice.objects.count() == User.objects.filter(username__startswith="agent-").count() + 1


def test_a_demo_database_seeded_before_the_second_factor_gets_it(make_person, caisse_paris):
    """`make demo` runs `seed --if-empty`: on an older demo database it seeds nothing but gives the demo staff
    their TOTP device, so that the README's `omniguichet totp` works there too."""
    make_person()
    User.objects.create_user(username="agent-751", password="x" * 12, role="manager", caisse=caisse_paris)
    call_command("seed", persons=1, if_empty=True, stdout=StringIO())
    assert TOTPDevice.objects.get(user__username="agent-751").key == DEMO_TOTP_KEY_HEX
