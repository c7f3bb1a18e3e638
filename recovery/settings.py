"""Settings for the recovery tracker.

Everything that differs between a laptop and production comes from the environment:
SECRET_KEY, DEBUG, ALLOWED_HOSTS, DATABASE_URL. Production (DEBUG off) refuses to start
without a real secret key.
"""

import os
import secrets
import sys
from decimal import Decimal
from pathlib import Path

import dj_database_url
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {raw!r}")


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", default=False)

_DEV_SECRET = "dev-only-insecure-key-do-not-use-in-production"
# Serving is the WSGI application or runserver; other management commands (migrate,
# makemigrations, collectstatic) sign nothing and may run without the production key.
_SERVING = Path(sys.argv[0]).name != "manage.py" or sys.argv[1:2] == ["runserver"]
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG and _SERVING:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set SECRET_KEY in the environment, or DEBUG=true for "
            "local development."
        )
    # A throwaway key: development, or a production management command that signs nothing.
    SECRET_KEY = _DEV_SECRET if DEBUG else secrets.token_urlsafe(50)

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost" if DEBUG else "")

INSTALLED_APPS = [
    "recovery.apps.AdministratorsAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "bootstrap",
    "django_tables2",
    "django_filters",
    "crispy_forms",
    "crispy_bootstrap5",
    "simple_history",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "csp",
    "recovery",
    "plans",
    "dashboards",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # First after security, so every response gets the policy (error pages, static files,
    # the admin and downloads included).
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "recovery.middleware.SessionLifetimeMiddleware",
    # Last, as django-axes asks: it turns a locked-out sign-in into its lockout page.
    "axes.middleware.AxesMiddleware",
]

# Sign-in throttling (django-axes): after AXES_FAILURE_LIMIT wrong passwords for one user from
# one address, that user is locked out from that address for AXES_COOLOFF_HOURS; an
# administrator unlocks early by deleting the attempts in the admin (or `axes_reset`).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    # ModelBackend reading the role with the user (one query fewer on every page).
    "recovery.backends.RoleModelBackend",
    # Sessions signed in before it keep working until they end.
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = float(os.environ.get("AXES_COOLOFF_HOURS", "1"))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False
# Administrators sign in to the admin with a one-time password as well (django-otp, TOTP).
ADMIN_REQUIRES_OTP = env_bool("ADMIN_REQUIRES_OTP", default=True)
OTP_TOTP_ISSUER = "Recovery tracker"

ROOT_URLCONF = "recovery.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "recovery.context_processors.roles",
                "csp.context_processors.nonce",
            ],
            "builtins": ["recovery.templatetags.money"],
        },
    },
]

WSGI_APPLICATION = "recovery.wsgi.application"

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Querysets iterated with .iterator() (a form's choices: every ModelChoiceField) fetch
    # their rows in one query rather than through a server-side cursor, which took three
    # round trips (declare, fetch, close) for a handful of rows; and is safe behind a
    # transaction-pooling PgBouncer.
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Wait for a writer instead of failing at once when two officers save together: a
    # transaction takes the write lock when it begins (IMMEDIATE), so the wait applies. A
    # deferred one that read first could not upgrade its lock and failed at once with
    # "database is locked" (a 500), whatever the timeout.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE"}
    )
    DATABASES["default"]["CONN_MAX_AGE"] = 0


def cache_from_url(url: str) -> dict:
    """A cache from CACHE_URL: ``locmem://`` (each process its own, the default),
    ``redis://host:6379/0`` (shared by every process; needs the ``redis`` package), ``db://table``
    (shared, in the database; run ``createcachetable`` once) or ``dummy://`` (none)."""
    scheme, _, rest = url.partition("://")
    # Entries are whole rendered figures keyed by a plan's data version, so they never go
    # stale; the timeout only returns the memory of plans nobody is reading.
    common = {"TIMEOUT": int(os.environ.get("CACHE_SECONDS", str(6 * 3600)))}
    if scheme == "locmem":
        # A long plan's dashboard is a few hundred KB: bound what each process holds.
        return {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": rest or "recovery",
            "OPTIONS": {"MAX_ENTRIES": 200},
            **common,
        }
    if scheme in {"redis", "rediss"}:
        return {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url, **common}
    if scheme == "db" and rest:
        return {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": rest,
            **common,
        }
    if scheme == "dummy":
        return {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}
    raise ImproperlyConfigured(
        f"CACHE_URL must be locmem://, redis://host:port/db, db://table or dummy://, not {url!r}"
    )


CACHES = {"default": cache_from_url(os.environ.get("CACHE_URL") or "locmem://")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "recovery.User"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "login"
# Directors and councillors land on their dashboard, finance managers on the plans.
LOGIN_REDIRECT_URL = "dashboards:landing"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"
USE_I18N = True
USE_TZ = True
USE_THOUSAND_SEPARATOR = False

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    # plotly.js comes from the installed plotly package: no CDN, no copy in the repository.
    "recovery.staticfiles.PlotlyFinder",
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"
DJANGO_TABLES2_TEMPLATE = "django_tables2/bootstrap5-responsive.html"

# Django's database sessions, read with a query written once (recovery.sessions).
SESSION_ENGINE = "recovery.sessions"
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
# Sessions: signed out after SESSION_IDLE_MINUTES without a request, and after
# SESSION_MAX_HOURS whatever happens (a working day by default).
SESSION_COOKIE_AGE = int(os.environ.get("SESSION_IDLE_MINUTES", "60")) * 60
# The idle clock restarts as the user works: recovery.middleware saves the session (and sends
# its cookie again) when it was last saved SESSION_REFRESH_SECONDS ago or more, not on every
# request (which cost each page a transaction and an update).
SESSION_SAVE_EVERY_REQUEST = False
SESSION_REFRESH_SECONDS = int(os.environ.get("SESSION_REFRESH_SECONDS", "60"))
SESSION_MAX_AGE = int(float(os.environ.get("SESSION_MAX_HOURS", "8")) * 3600)
SECURE_CONTENT_TYPE_NOSNIFF = True
# Content-Security-Policy (django-csp): scripts and styles only from the app's own static files,
# no inline script, no event-handler or style attributes, no eval, nothing from elsewhere.
# - Chart data reach the page as JSON (json_script) and static/js/dashboard.js draws them.
# - The one inline <style> element, the print footer that names the authority and month
#   (includes/print_as_at.html), carries the request's nonce.
# - plotly.js adds its rules through the CSSOM (insertRule, element.style), which CSP does not
#   govern, into a <style> element it creates empty: the hash of the empty string allows
#   exactly that element and no text in it.
# - Bootstrap's stylesheet draws its select arrows and toggler icons as data: SVG images.
PLOTLY_EMPTY_STYLE = "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [NONE],
        "script-src": [SELF],
        "style-src": [SELF, NONCE, PLOTLY_EMPTY_STYLE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "manifest-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [NONE],
        "object-src": [NONE],
    }
}
SECURE_REFERRER_POLICY = "same-origin"
# Behind an HTTPS-terminating proxy: trust its X-Forwarded-Proto and name the origins it
# serves (https://recovery.example.gov.uk), so sign-in and every form post pass CSRF.
if env_bool("TRUST_PROXY_SSL_HEADER", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")
if not DEBUG:
    # Safe production defaults; each can be turned off from the environment.
    SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", default=True)
    CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", str(365 * 24 * 3600)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=False)

# Password reset works only through a configured mail server; without one it is not offered.
EMAIL_HOST = os.environ.get("EMAIL_HOST", "")
PASSWORD_RESET_OFFERED = bool(EMAIL_HOST)
if EMAIL_HOST:
    EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "587"))
    EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=True)
    DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "recovery-tracker@localhost")

# Largest plan workbook accepted for import.
WORKBOOK_MAX_BYTES = int(os.environ.get("WORKBOOK_MAX_BYTES", str(5 * 1024 * 1024)))
# How long an uploaded workbook waits for its confirmation before it must be uploaded again.
PENDING_IMPORT_MINUTES = int(os.environ.get("PENDING_IMPORT_MINUTES", "60"))
DATA_UPLOAD_MAX_MEMORY_SIZE = WORKBOOK_MAX_BYTES + 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = WORKBOOK_MAX_BYTES + 1024 * 1024

# Forecast variance RAG thresholds (DESIGN.md): Red when the overspend is at least the lower of
# this share of budget or this amount; Amber for a smaller overspend; Green at or under budget.
RAG_RED_SHARE_OF_BUDGET = Decimal(os.environ.get("RAG_RED_SHARE_OF_BUDGET", "0.05"))
RAG_RED_AMOUNT = Decimal(os.environ.get("RAG_RED_AMOUNT", "100000"))
# A KPI is Amber when it misses its target by no more than this share; Red beyond it.
KPI_TOLERANCE = Decimal(os.environ.get("KPI_TOLERANCE", "0.05"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # A refused request (403) is one line in the log, not a traceback.
    "filters": {"refusals_in_one_line": {"()": "recovery.logging.RefusalsInOneLine"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["refusals_in_one_line"]}
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
    # Django's own loggers through the same handler, with DEBUG on too (its default console
    # handler would print every refusal's traceback).
    "loggers": {
        "django": {
            "handlers": ["console"],
            "level": "INFO" if DEBUG else "WARNING",
            "propagate": False,
        },
    },
}
