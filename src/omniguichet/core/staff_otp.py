"""The staff's second factor: a TOTP device per staff login (django-otp), enrolled at the first login, checked at
every login after the password. Wrong codes are throttled (core.throttle, per login and per address) on top of
django-otp's own per-device throttle, and written in the audit of failed logins."""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass

from django.db import transaction
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from omniguichet.core import throttle
from omniguichet.core.actors import Channel

DEVICE_NAME = "authenticator"


@dataclass
class Enrolment:
    device: TOTPDevice
    enrolling: bool  # True: the device is new and unconfirmed; show its secret and QR code

    @property
    def secret(self) -> str:
        """The key as authenticator apps take it (base32, in groups of four)."""
        text = base64.b32encode(self.device.bin_key).decode().rstrip("=")
        return " ".join(text[i : i + 4] for i in range(0, len(text), 4))

    def qr_svg(self) -> str:
        import segno

        return segno.make(self.device.config_url, error="m", micro=False).svg_inline(scale=4)


def device_for(user) -> Enrolment:
    """The user's confirmed device, or else their unconfirmed one (created on first need)."""
    confirmed = TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()
    if confirmed is not None:
        return Enrolment(device=confirmed, enrolling=False)
    with transaction.atomic():
        pending = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
        if pending is None:
            pending = TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)
    return Enrolment(device=pending, enrolling=True)


def verify(*, user, code: str, address: str) -> TOTPDevice | None:
    """The device when `code` is its current code (an enrolling device becomes confirmed); None otherwise. While
    too many wrong codes were given, raises core.throttle.Throttled."""
    keys = throttle.code_keys(f"staff:{user.pk}", address)
    throttle.check_all(keys)
    enrolment = device_for(user)
    token = "".join(str(code or "").split())
    device = enrolment.device
    if len(token) == 6 and token.isdigit() and device.verify_token(token):
        if enrolment.enrolling:
            TOTPDevice.objects.filter(pk=device.pk).update(confirmed=True)
            device.confirmed = True
        return device
    throttle.hit_all(keys)
    from omniguichet.core.models import LoginFailure

    LoginFailure.objects.create(
        user=user, at=throttle.now(), channel=Channel.BACKOFFICE, factor="code",
        address=throttle.shown_address(address),
    )  # fmt: skip
    return None


def set_device(*, user, key_hex: str) -> TOTPDevice:
    """Give the user one confirmed device with this key (the demo's fixed secret); replaces any other."""
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        return TOTPDevice.objects.create(user=user, name=DEVICE_NAME, key=key_hex, confirmed=True)


def current_code(device: TOTPDevice, at: float | None = None) -> str:
    """The code the device shows now (the demo's `omniguichet totp` command and the tests)."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() if at is None else at
    return f"{totp.token():0{device.digits}d}"
