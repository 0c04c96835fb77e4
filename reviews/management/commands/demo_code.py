"""The current second-factor code of a demo account, for trying the platform
without an authenticator app. Refused outside DEBUG and for any account that is
not a demo account: in a deployment, codes come only from the person's device."""

import time

from allauth.mfa import app_settings as mfa_settings
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from reviews.demo import demo_totp_secret

DEMO_DOMAIN = "@demo.test"


class Command(BaseCommand):
    help = "Print the current TOTP code (or, with --secret, the secret) of a demo account. DEBUG only."

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument("--secret", action="store_true", help="print the secret for an authenticator app")

    def handle(self, email, secret=False, **options):
        if not settings.DEBUG:
            raise CommandError("demo_code works only in the embedded development mode (DJANGO_DEBUG).")
        if not email.endswith(DEMO_DOMAIN):
            raise CommandError(f"Only demo accounts ({DEMO_DOMAIN}) have a known secret.")
        key = demo_totp_secret(email)
        if secret:
            self.stdout.write(key)
            return
        counter = int(time.time()) // mfa_settings.TOTP_PERIOD
        self.stdout.write(format_hotp_value(hotp_value(key, counter)))
