from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_otp.plugins.otp_totp.models import TOTPDevice

from omniguichet.core.staff_otp import current_code


class Command(BaseCommand):
    help = (
        "Print the current second-factor code (TOTP) of a staff login, as its authenticator app would show it. "
        "For the demo (whose staff share a published key) and for support; it reads the device's key."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user", required=True, help="the staff username, e.g. agent-751")

    def handle(self, *args, **options) -> None:
        user = get_user_model().objects.filter(username=options["user"]).first()
        if user is None:
            raise CommandError(f"user: no user named {options['user']!r}")
        device = TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()
        if device is None:
            raise CommandError(f"{user}: no second factor yet (it is enrolled at the first login)")
        self.stdout.write(current_code(device))
