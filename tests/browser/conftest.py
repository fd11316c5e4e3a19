import os

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def page():
    """A page of Debian's chromium driven by playwright (no browser download)."""
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls made by the test around it are
    # ordinary synchronous calls.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(locale="fr-FR")
        context.set_default_timeout(10_000)
        yield context.new_page()
        context.close()
        browser.close()


def give_second_factor(page, username: str) -> None:
    """The second step of a staff login, after the password: the TOTP code of the user's device, computed here as
    the authenticator app would (a login without a device is enrolled on this page first)."""
    from omniguichet.core import staff_otp
    from omniguichet.referential.models import User

    page.wait_for_url("**/agent/login/code/**")
    device = staff_otp.device_for(User.objects.get(username=username)).device
    page.fill("#id_code", staff_otp.current_code(device))
    page.click("#totp-submit")


@pytest.fixture
def asgi_server(live_server):
    """The platform under ASGI, as the push process serves it (uvicorn, in a thread of this process), on the live
    server's test database; its address."""
    from bench.screen_pop import serve_asgi_in_thread

    from omniguichet.telephony import stream

    base, server, thread = serve_asgi_in_thread()
    yield base
    server.should_exit = True
    thread.join(15)
    stream.close_hubs()
