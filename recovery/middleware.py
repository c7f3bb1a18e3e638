"""Session lifetime: a signed-in session ends ``SESSION_MAX_AGE`` seconds after sign-in,
however busy it is; and after ``SESSION_COOKIE_AGE`` seconds without a request (the idle limit
is the session's own age, renewed as the user works).

The idle clock is restarted at most once every ``SESSION_REFRESH_SECONDS`` (a minute): saving
the session on every request cost each page three queries (a transaction and an update) for a
clock that needs no finer grain. The session may therefore end up to a minute before a full
idle period has passed since the last request, never after it."""

import time

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login

SIGNED_IN_AT = "signed_in_at"
REFRESHED_AT = "refreshed_at"


def stamp_sign_in(sender, request, user, **kwargs):
    """At sign-in: the working day's clock and the idle clock start now."""
    session = getattr(request, "session", None)
    if session is not None:
        now = int(time.time())
        session[SIGNED_IN_AT] = now
        session[REFRESHED_AT] = now


class SessionLifetimeMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = int(time.time())
            session = request.session
            started = session.setdefault(SIGNED_IN_AT, now)
            if now - started > settings.SESSION_MAX_AGE:
                logout(request)
                return redirect_to_login(request.get_full_path())
            if now - session.get(REFRESHED_AT, 0) >= settings.SESSION_REFRESH_SECONDS:
                # Saved (with a new expiry, and its cookie sent again) at the response.
                session[REFRESHED_AT] = now
        return self.get_response(request)
