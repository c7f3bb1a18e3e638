"""Production posture: throttled sign-in, sessions that end, no reset without mail, HTTPS
behind a proxy, a clean deploy check, and refusals logged in one line."""

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client, override_settings
from django.urls import NoReverseMatch, reverse

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def _sign_in(client, username, password, **extra):
    return client.post(reverse("login"), {"username": username, "password": password}, **extra)


@override_settings(AXES_FAILURE_LIMIT=3)
def test_sign_in_is_locked_after_the_configured_failures_and_an_admin_unlocks(authority):
    UserFactory(username="fiona.finance", authority=authority, role="finance", password="right-1")
    client = Client()
    for _ in range(2):
        assert _sign_in(client, "fiona.finance", "wrong").status_code == 200
    # The third failure locks the account from this address; the right password then waits.
    assert _sign_in(client, "fiona.finance", "wrong").status_code == 429
    locked = _sign_in(client, "fiona.finance", "right-1")
    assert locked.status_code == 429
    assert "Signing in is paused for this account" in locked.content.decode()
    assert "Try again in 1 hour," in locked.content.decode()  # not "1:00:00"
    assert "_auth_user_id" not in client.session
    # Another address is not locked out by this one's failures.
    other = Client(REMOTE_ADDR="10.0.0.9")
    assert _sign_in(other, "fiona.finance", "right-1").status_code == 302
    # An administrator unlocks: the attempts are deleted (admin, or the axes_reset command).
    from axes.models import AccessAttempt

    AccessAttempt.objects.filter(username="fiona.finance").delete()
    assert _sign_in(client, "fiona.finance", "right-1").status_code == 302


def test_sessions_end_when_idle_and_after_a_working_day(client, finance_manager, settings):
    assert settings.SESSION_COOKIE_AGE == 60 * 60 and settings.SESSION_REFRESH_SECONDS == 60
    assert settings.SESSION_MAX_AGE == 8 * 3600
    client.force_login(finance_manager)
    assert client.get(reverse("plans:plan_list")).status_code == 200
    session = client.session
    session["signed_in_at"] -= settings.SESSION_MAX_AGE + 1
    session.save()
    response = client.get(reverse("plans:plan_list"))
    assert response.status_code == 302 and reverse("login") in response.url


def test_the_idle_clock_restarts_as_the_user_works(client, finance_manager, settings):
    """The session (and its cookie) is saved again, with a fresh expiry, once its last save is
    SESSION_REFRESH_SECONDS old; not on every request."""
    from django.contrib.sessions.models import Session

    client.force_login(finance_manager)
    assert client.get(reverse("plans:plan_list")).status_code == 200
    key = client.session.session_key
    expiry = Session.objects.get(session_key=key).expire_date
    again = client.get(reverse("plans:plan_list"))
    assert settings.SESSION_COOKIE_NAME not in again.cookies  # within the minute: not saved
    assert Session.objects.get(session_key=key).expire_date == expiry
    session = client.session
    session["refreshed_at"] -= settings.SESSION_REFRESH_SECONDS
    session.save()
    expiry = Session.objects.get(session_key=key).expire_date
    later = client.get(reverse("plans:plan_list"))
    assert later.status_code == 200 and settings.SESSION_COOKIE_NAME in later.cookies
    assert Session.objects.get(session_key=key).expire_date > expiry


def test_password_reset_is_not_offered_without_a_mail_server(client):
    with pytest.raises(NoReverseMatch):
        reverse("password_reset")
    assert client.get("/accounts/password_reset/").status_code in (302, 404)
    assert "reset" not in client.get(reverse("login")).content.decode().lower()


@override_settings(
    SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https"),
    CSRF_TRUSTED_ORIGINS=["https://recovery.example.gov.uk"],
    ALLOWED_HOSTS=["recovery.example.gov.uk"],
    SESSION_COOKIE_SECURE=True,
    CSRF_COOKIE_SECURE=True,
)
def test_sign_in_and_a_form_post_through_an_https_proxy(authority):
    UserFactory(username="fiona.finance", authority=authority, role="finance", password="right-1")
    proxy = {
        "HTTP_HOST": "recovery.example.gov.uk",
        "HTTP_X_FORWARDED_PROTO": "https",
        "HTTP_ORIGIN": "https://recovery.example.gov.uk",
        "HTTP_REFERER": "https://recovery.example.gov.uk/accounts/login/",
    }
    client = Client(enforce_csrf_checks=True)
    page = client.get(reverse("login"), **proxy)
    token = page.cookies["csrftoken"].value
    response = client.post(
        reverse("login"),
        {"username": "fiona.finance", "password": "right-1", "csrfmiddlewaretoken": token},
        **proxy,
    )
    assert response.status_code == 302  # signed in, not 403
    form = client.get(reverse("plans:plan_create"), **proxy)
    token = form.cookies.get("csrftoken", page.cookies["csrftoken"]).value
    created = client.post(
        reverse("plans:plan_create"),
        {
            "title": "Through the proxy",
            "code": "via-proxy",
            "kind": "mtfs",
            "status": "draft",
            "first_year": "2017/18",
            "last_year": "2018/19",
            "csrfmiddlewaretoken": token,
        },
        **proxy,
    )
    assert created.status_code == 302, created.content.decode()[:500]


def test_the_deploy_check_is_clean_in_the_documented_production_configuration(tmp_path):
    env = {
        **os.environ,
        "DEBUG": "false",
        "SECRET_KEY": "x" * 60 + "-not-a-real-key-but-long-and-varied-0123456789",
        "ALLOWED_HOSTS": "recovery.example.gov.uk",
        "CSRF_TRUSTED_ORIGINS": "https://recovery.example.gov.uk",
        "TRUST_PROXY_SSL_HEADER": "true",
        "SECURE_HSTS_PRELOAD": "true",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'deploy.sqlite3'}",
        "DJANGO_SETTINGS_MODULE": "recovery.settings",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_refusal_is_logged_in_one_line(client, torbay_users, mtfs, caplog):
    client.force_login(torbay_users["scrutiny"])
    with caplog.at_level(logging.WARNING, logger="django.request"):
        response = client.get(reverse("plans:line_create", args=[mtfs.pk]))
    assert response.status_code == 403
    [record] = [r for r in caplog.records if getattr(r, "status_code", None) == 403]
    from recovery.logging import RefusalsInOneLine

    RefusalsInOneLine().filter(record)
    assert record.exc_info is None


def test_no_500_on_out_of_range_pages_and_periods(client, torbay_users, mtfs):
    client.force_login(torbay_users["finance"])
    lists = [reverse("plans:plan_list"), reverse("plans:line_list", args=[mtfs.pk])]
    for url in lists:
        for size in ["-1", "0", "abc", "99999999999999999999", "5"]:
            assert client.get(url, {"per_page": size}).status_code == 200, (url, size)
        for page in ["-3", "0", "abc", "99999999999999999999"]:
            assert client.get(url, {"page": page}).status_code in (200, 404), (url, page)
    # A period out of range on an edit form is a message on the field, not a 500.
    from plans.models import OverspendForecast

    forecast = OverspendForecast.objects.filter(plan=mtfs).first()
    edit = reverse("plans:forecast_edit", args=[mtfs.pk, forecast.pk])
    for period in ["13", "0", "１２", "9" * 30]:
        response = client.post(
            edit,
            {
                "year": forecast.year,
                "period": period,
                "scenario": forecast.scenario,
                "overspend": "1m",
                "version": forecast.version,
            },
        )
        assert response.status_code in (200, 400), period


def test_a_post_to_another_authoritys_read_only_page_is_a_404(client, seeded):
    from plans.models import Plan

    telford = Plan.objects.get(authority__slug="telford")
    torbay_user = UserFactory(
        authority=Plan.objects.get(code="mtfs-2017-21").authority, role="director"
    )
    client.force_login(torbay_user)
    for name in ("dashboards:plan_dashboard", "dashboards:report", "dashboards:report_xlsx"):
        assert client.post(reverse(name, args=[telford.pk])).status_code == 404, name
