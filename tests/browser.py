"""Helpers for the headless-Chromium tests (the ``chromium_page`` fixture is in conftest)."""

from axe_playwright_python.sync_playwright import Axe
from django.urls import reverse


def log_in(page, live_server, username, password="pw"):
    page.context.clear_cookies()
    page.goto(live_server.url + reverse("login"))
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def serious_violations(page) -> list[str]:
    """axe's serious and critical findings on the page as it stands."""
    return [
        f"{v['id']} ({v['impact']}): {v['help']} – {[n['target'] for n in v['nodes']][:3]}"
        for v in Axe().run(page).response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
