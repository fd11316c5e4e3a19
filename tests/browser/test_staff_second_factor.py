"""In chromium: a staff login in two steps. The first time, the password leads to the enrolment of an
authenticator (QR code and key); the code the test computes from the key shown (RFC 6238, as an app would) opens
the console. The next time, the password leads to the code page only."""

import base64
import hashlib
import hmac
import struct
import time

from tests.conftest import make_user

PASSWORD = "not-used-here-123"


def totp(secret_base32: str, at: float, step: int = 30, digits: int = 6) -> str:
    """The code an authenticator app shows at `at` for this key (written here, independent of django-otp)."""
    text = secret_base32.replace(" ", "").upper()
    key = base64.b32decode(text + "=" * (-len(text) % 8))
    digest = hmac.new(key, struct.pack(">Q", int(at // step)), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    number = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{number % 10**digits:0{digits}d}"


def _password(page, base: str, username: str) -> None:
    page.goto(f"{base}/agent/")
    assert "/agent/login/" in page.url
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.press("#id_password", "Enter")
    page.wait_for_url("**/agent/login/code/**")


def test_staff_login_with_totp_enrolment_then_code(live_server, page, caisse_paris, settings):
    settings.LANGUAGE_CODE = "fr"
    agent = make_user("agent-751", caisse=caisse_paris)
    base = live_server.url

    # First login: the password, then the enrolment page with its QR code and key.
    _password(page, base, agent.username)
    assert page.locator("#totp-qr svg").count() == 1
    secret = page.inner_text("#totp-secret")
    page.fill("#id_code", "000000" if totp(secret, time.time()) != "000000" else "111111")
    page.click("#totp-submit")
    assert "/agent/login/code/" in page.url and page.locator(".fr-alert--error").count() == 1
    time.sleep(1.1)  # django-otp's own delay after a wrong code (1 s)
    page.fill("#id_code", totp(secret, time.time()))
    page.click("#totp-submit")
    page.wait_for_url(f"{base}/agent/")
    assert page.locator("#search, input[name=q]").count() >= 1

    # Logged out, then in again: the code page only (no QR code), with the next code of the app.
    page.context.clear_cookies()
    _password(page, base, agent.username)
    assert page.locator("#totp-qr").count() == 0
    page.fill("#id_code", totp(secret, time.time() + 30))  # a code serves once: the app's next one
    page.click("#totp-submit")
    page.wait_for_url(f"{base}/agent/")
