from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from omniguichet.core.errors import ServiceError
from omniguichet.core.services import issue_token, revoke_tokens


class Command(BaseCommand):
    help = "Print a bearer token for the API (/api/v1), or revoke tokens."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user", required=True, help="username the token acts as")
        parser.add_argument(
            "--days", type=int, default=None, help="lifetime in days (default from settings: 30)"
        )
        parser.add_argument("--label", default="", help="what the token is for")
        parser.add_argument(
            "--revoke",
            metavar="PREFIX",
            nargs="?",
            const="",
            default=None,
            help="revoke the token with this prefix, or all the user's tokens without one",
        )

    def handle(self, *args, **options) -> None:
        user = get_user_model().objects.filter(username=options["user"]).first()
        if user is None:
            raise CommandError(f"user: no user named {options['user']!r}")
        try:
            if options["revoke"] is not None:
                count = revoke_tokens(user=user, prefix=options["revoke"] or None)
                self.stdout.write(f"{count} token(s) revoked.")
                return
            token, secret = issue_token(user=user, days=options["days"], label=options["label"])
        except ServiceError as exc:
            raise CommandError(exc.message) from exc
        self.stderr.write(f"Token {token.prefix}… for {user}, expires {token.expires_at:%Y-%m-%d %H:%M %Z}.")
        self.stdout.write(secret)
