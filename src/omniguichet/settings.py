"""Settings driven by the environment.

DATABASE_URL selects the database (default: a SQLite file under var/). SECRET_KEY comes from the environment
or from a file generated once under var/ (never committed).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import dj_database_url

PACKAGE_DIR = Path(__file__).resolve().parent
BASE_DIR = PACKAGE_DIR.parent.parent
VAR_DIR = Path(os.environ.get("OMNIGUICHET_VAR_DIR", BASE_DIR / "var")).resolve()


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _secret_key() -> str:
    from_env = os.environ.get("SECRET_KEY")
    if from_env:
        return from_env
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        # Created with 0600 so that only the platform's own user can read it.
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(64))
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = _env_bool("DEBUG", False)
ALLOWED_HOSTS = [h.strip() for h in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "ninja",
    "widget_tweaks",
    "dsfr",
    "django_tasks",
    "django_tasks_db",
    "omniguichet.core",
    "omniguichet.referential",
    "omniguichet.accounts",
    "omniguichet.crm",
    "omniguichet.demo",
    "omniguichet.appointments",
    "omniguichet.reception",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "omniguichet.urls"
WSGI_APPLICATION = "omniguichet.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PACKAGE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "dsfr.context_processors.site_config",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'omniguichet.sqlite3'}"),
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "0")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server read while the worker writes; IMMEDIATE avoids "database is locked" on upgrade
    # from a read to a write transaction.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# A batch of 10,000 contacts or case events is a few megabytes of JSON; Django's default (2.5 MB) is too small.
DATA_UPLOAD_MAX_MEMORY_SIZE = int(os.environ.get("DATA_UPLOAD_MAX_MEMORY_SIZE", str(32 * 1024 * 1024)))
AUTH_USER_MODEL = "referential.User"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "crm:login"
LOGIN_REDIRECT_URL = "crm:console"
LOGOUT_REDIRECT_URL = "crm:login"

LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", "Français"), ("en", "English")]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
TIME_ZONE = "Europe/Paris"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"

TASKS = {
    "default": {
        "BACKEND": os.environ.get("TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default"],
    }
}

# API bearer tokens: lifetime in days when none is given.
API_TOKEN_DEFAULT_DAYS = int(os.environ.get("API_TOKEN_DEFAULT_DAYS", "30"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}

# Appointments and reception (issue 7). Messages go through appointments.services.notify to this provider; the
# file sink writes JSON lines to <APPOINTMENTS_SINK_DIR>/sms.jsonl and email.jsonl (to be rewired to the
# outbound message ledger).
APPOINTMENTS_NOTIFICATION_PROVIDER = os.environ.get(
    "APPOINTMENTS_NOTIFICATION_PROVIDER", "omniguichet.appointments.services.FileSinkProvider"
)
APPOINTMENTS_SINK_DIR = Path(os.environ.get("APPOINTMENTS_SINK_DIR", VAR_DIR / "outbox"))
APPOINTMENTS_LINK_MAX_AGE_DAYS = int(os.environ.get("APPOINTMENTS_LINK_MAX_AGE_DAYS", "90"))
APPOINTMENTS_MAX_OFFERS = int(os.environ.get("APPOINTMENTS_MAX_OFFERS", "3"))
APPOINTMENTS_OFFER_HOURS = int(os.environ.get("APPOINTMENTS_OFFER_HOURS", "24"))
# How long the free-slot search may reuse a site's weekly pattern (hours, availability); booking never does.
APPOINTMENTS_SCHEDULE_CACHE_SECONDS = int(os.environ.get("APPOINTMENTS_SCHEDULE_CACHE_SECONDS", "60"))
# Where an insured person logs in before the account's appointment pages (the online account's login page).
APPOINTMENTS_PERSON_LOGIN_URL = os.environ.get("APPOINTMENTS_PERSON_LOGIN_URL", "/compte/connexion/")
# The address of the platform as persons reach it (links in SMS and e-mails).
OMNIGUICHET_PUBLIC_URL = os.environ.get("OMNIGUICHET_PUBLIC_URL", "http://127.0.0.1:8000")
