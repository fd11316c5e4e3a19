"""Settings driven by the environment.

DATABASE_URL selects the database (default: a SQLite file under var/). SECRET_KEY comes from the environment
or from a file generated once under var/ (never committed).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import dj_database_url

from omniguichet.core.keys import key_from_file

PACKAGE_DIR = Path(__file__).resolve().parent
BASE_DIR = PACKAGE_DIR.parent.parent
VAR_DIR = Path(os.environ.get("OMNIGUICHET_VAR_DIR", BASE_DIR / "var")).resolve()


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _secret_key() -> str:
    return os.environ.get("SECRET_KEY") or key_from_file(
        VAR_DIR / "secret_key", lambda: secrets.token_urlsafe(64)
    )


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
    "django_otp",
    "django_otp.plugins.otp_totp",
    "widget_tweaks",
    "dsfr",
    "django_tasks",
    "django_tasks_db",
    # django-oauth-toolkit is a dependency for the OIDC provider the identity app will be; until then only the tests
    # use it (a fake FranceConnect, tests/settings.py adds it): installed here it would cost every command's start-up
    # its validators and jwcrypto (bench/RESULTS.md, start-up).
    "omniguichet.core",
    # django-ninja's templates and static files without importing ninja at start-up (see the class).
    "omniguichet.core.apps.NinjaAssetsConfig",
    "omniguichet.referential",
    "omniguichet.accounts",
    "omniguichet.crm",
    "omniguichet.cases",
    "omniguichet.outreach",
    "omniguichet.teleservices",
    "omniguichet.demo",
    "omniguichet.analytics",
    "omniguichet.baskets",
    "omniguichet.documents",
    "omniguichet.appointments",
    "omniguichet.messaging",
    "omniguichet.ops",
    "omniguichet.reception",
    "omniguichet.telephony",
]

MIDDLEWARE = [
    # First: the request's id on every log line and its duration in the metrics (docs/production.md).
    "omniguichet.core.observability.RequestContext",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "omniguichet.core.middleware.RefuseNulBytes",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "omniguichet.core.guards.StaffSessionGuard",
    "omniguichet.core.guards.ThrottledPage",
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
        # Persistent connections: opening one costs more than a whole record request (a TCP and authentication
        # round trip on PostgreSQL, the PRAGMAs on SQLite); health checks drop a connection the server closed.
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "300")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server read while the worker writes; IMMEDIATE avoids "database is locked" on upgrade
    # from a read to a write transaction.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        # A page cache of 64 MB per connection (the default is 2 MB): the contact table's indexes are large,
        # and every insert walks them.
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-65536;",
    }


def _pool_options(value: str) -> dict[str, int]:
    """OMNIGUICHET_DB_POOL: "MAX" or "MIN:MAX" connections per process (docs/production.md)."""
    from django.core.exceptions import ImproperlyConfigured

    try:
        sizes = [int(part) for part in value.split(":")]
    except ValueError:
        sizes = []
    if len(sizes) == 1:
        sizes = [min(2, sizes[0]), sizes[0]]
    if len(sizes) != 2 or not 0 <= sizes[0] <= sizes[1] or sizes[1] < 1:
        raise ImproperlyConfigured(
            f"OMNIGUICHET_DB_POOL={value!r}: give the pool's size per process, MAX or MIN:MAX (e.g. 8 or 2:8)"
        )
    return {"min_size": sizes[0], "max_size": sizes[1], "timeout": 10}


# Connection pooling on PostgreSQL (docs/production.md): Django's native pool (psycopg_pool), one per process.
# A request takes a connection from the pool and gives it back when it ends; persistent connections are then off.
DB_POOL = os.environ.get("OMNIGUICHET_DB_POOL", "").strip()
if DB_POOL and DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = _pool_options(DB_POOL)

# A read replica (docs/production.md): the warehouse export and the dashboards read from it when it is set
# (core.routers); everything else, and every write, stays on "default".
REPLICA_URL = os.environ.get("OMNIGUICHET_REPLICA_URL", "").strip()
if REPLICA_URL:
    DATABASES["replica"] = dj_database_url.parse(REPLICA_URL, conn_max_age=0 if DB_POOL else 300,
                                                 conn_health_checks=True)  # fmt: skip
    if DB_POOL and DATABASES["replica"]["ENGINE"] == "django.db.backends.postgresql":
        DATABASES["replica"].setdefault("OPTIONS", {})["pool"] = _pool_options(DB_POOL)
DATABASE_ROUTERS = ["omniguichet.core.routers.ReplicaRouter"]

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

# The task queue: the database (default: a laptop, one machine) or Redis through django-tasks' RQ backend (workers
# on several machines; docs/production.md). Redis also holds the cache then.
TASK_QUEUE = os.environ.get("OMNIGUICHET_TASK_QUEUE", "database")
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
# On Redis: how many times a task may run again after its worker died under it (core.rq), and how often the workers
# look for such tasks (the lease itself is WORKER_HEARTBEAT_SECONDS / WORKER_LEASE_SECONDS below).
TASK_RETRIES = int(os.environ.get("OMNIGUICHET_TASK_RETRIES", "3"))
RQ_MAINTENANCE_SECONDS = int(os.environ.get("OMNIGUICHET_RQ_MAINTENANCE_SECONDS", "60"))
if TASK_QUEUE == "redis":
    TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
    RQ_QUEUES = {"default": {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 3600}}
    # Every queue django-rq opens (workers, registries' cleaning, the admin) reads jobs with django-tasks-rq's class:
    # RQ's own cannot run its failure callback, and the cleaning of abandoned jobs stops at the first one.
    RQ = {"JOB_CLASS": "django_tasks_rq.Job", "WORKER_CLASS": "omniguichet.core.rq.Worker"}
    INSTALLED_APPS.append("django_rq")

# The cache, shared by every process (docs/production.md): Redis (Django's RedisCache) when REDIS_URL is set or the
# task queue is on Redis, else a table of the database (`core_cache`, created by the migrations). Clearing a Redis
# cache empties its whole database: REDIS_CACHE_URL can give it another database number than the queue's.
CACHE_ON_REDIS = bool(os.environ.get("REDIS_URL")) or TASK_QUEUE == "redis"
CACHES: dict[str, dict[str, object]]
if CACHE_ON_REDIS:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ.get("REDIS_CACHE_URL", REDIS_URL),
            "KEY_PREFIX": "omniguichet",
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "core_cache",
            "OPTIONS": {"MAX_ENTRIES": 20_000},
        }
    }
# The throttling counters (core.throttle): in the cache when it is Redis (atomic INCR, expiry by TTL), else in the
# table core.Throttle (rows updated under a lock: the database cache cannot count atomically).
THROTTLE_STORAGE = os.environ.get("OMNIGUICHET_THROTTLE_STORAGE", "cache" if CACHE_ON_REDIS else "database")
if THROTTLE_STORAGE not in {"cache", "database"}:
    raise ValueError(f"OMNIGUICHET_THROTTLE_STORAGE must be 'cache' or 'database', not {THROTTLE_STORAGE!r}")

# API bearer tokens: lifetime in days when none is given.
API_TOKEN_DEFAULT_DAYS = int(os.environ.get("API_TOKEN_DEFAULT_DAYS", "30"))

# Task workers (core.workers): each renews its lease this often; a task running on a worker silent for longer than
# the lease is queued again (the worker was killed).
WORKER_HEARTBEAT_SECONDS = float(os.environ.get("OMNIGUICHET_WORKER_HEARTBEAT_SECONDS", "5"))
WORKER_LEASE_SECONDS = float(os.environ.get("OMNIGUICHET_WORKER_LEASE_SECONDS", "60"))
# Log lines carry the request's id and never personal data (core.observability); JSON lines in production.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request": {"()": "omniguichet.core.observability.RequestIdFilter"}},
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {"()": "omniguichet.core.observability.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["request"],
            "formatter": os.environ.get("OMNIGUICHET_LOG_FORMAT", "text"),
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}
# /metrics (Prometheus): from these networks, or with this bearer token (docs/production.md).
OMNIGUICHET_METRICS_NETWORKS = [
    n.strip()
    for n in os.environ.get("OMNIGUICHET_METRICS_NETWORKS", "127.0.0.1/32,::1/128").split(",")
    if n.strip()
]
OMNIGUICHET_METRICS_TOKEN = os.environ.get("OMNIGUICHET_METRICS_TOKEN", "")

# --- cases and outbound messages (outreach) ---
# E-mail: SMTP when EMAIL_HOST is set, otherwise files under var/outbox/email for the demo.
if os.environ.get("EMAIL_HOST"):
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = os.environ["EMAIL_HOST"]
    EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = VAR_DIR / "outbox" / "email"
# E-mail received by the platform (omniguichet mailin, docs/messaging.md): one address per caisse,
# <code>@<domain>; larger messages are refused at SMTP time (552).
OMNIGUICHET_MAILIN_DOMAIN = os.environ.get("OMNIGUICHET_MAILIN_DOMAIN", "courriel.example").lower()
OMNIGUICHET_MAILIN_PORT = int(os.environ.get("OMNIGUICHET_MAILIN_PORT", "2525"))
OMNIGUICHET_MAILIN_MAX_BYTES = int(os.environ.get("OMNIGUICHET_MAILIN_MAX_BYTES", str(25 * 1024 * 1024)))
OUTREACH_EMAIL_FROM = os.environ.get("OUTREACH_EMAIL_FROM", "ne-pas-repondre@omniguichet.example")
OUTREACH_OUTBOX_DIR = Path(os.environ.get("OUTREACH_OUTBOX_DIR", VAR_DIR / "outbox"))
OUTREACH_SMS_PROVIDER = os.environ.get("OUTREACH_SMS_PROVIDER", "file")  # "file" (demo) or "http"
OUTREACH_SMS_URL = os.environ.get("OUTREACH_SMS_URL", "")
OUTREACH_SMS_TOKEN = os.environ.get("OUTREACH_SMS_TOKEN", "")
OUTREACH_PUBLIC_URL = os.environ.get("OUTREACH_PUBLIC_URL", "http://127.0.0.1:8000")
OUTREACH_SMS_DAILY_CAP = int(os.environ.get("OUTREACH_SMS_DAILY_CAP", "3"))
# No SMS from 20:00 to 08:00 Europe/Paris (24 and 0: no quiet hours, for tests and benches that run at night).
OUTREACH_SMS_QUIET_FROM = int(os.environ.get("OUTREACH_SMS_QUIET_FROM", "20"))
OUTREACH_SMS_QUIET_UNTIL = int(os.environ.get("OUTREACH_SMS_QUIET_UNTIL", "8"))
# Caps of other channels, per person and 24 hours: "push=5,email=10" (SMS: OUTREACH_SMS_DAILY_CAP).
OUTREACH_DAILY_CAPS = {
    name.strip(): int(cap)
    for name, cap in (
        item.split("=") for item in os.environ.get("OUTREACH_DAILY_CAPS", "").split(",") if item.strip()
    )
}
OUTREACH_CLAIM_SECONDS = int(os.environ.get("OUTREACH_CLAIM_SECONDS", "60"))
OUTREACH_SWEEP_SECONDS = float(os.environ.get("OUTREACH_SWEEP_SECONDS", "30"))
OUTREACH_RETRY_BASE_SECONDS = int(os.environ.get("OUTREACH_RETRY_BASE_SECONDS", "60"))
OUTREACH_MAX_ATTEMPTS = int(os.environ.get("OUTREACH_MAX_ATTEMPTS", "6"))
OUTREACH_DISPATCH_BATCH = int(os.environ.get("OUTREACH_DISPATCH_BATCH", "1000"))
# Online account (accounts app).
ACCOUNT_SESSION_SECONDS = int(os.environ.get("ACCOUNT_SESSION_SECONDS", "1800"))
# Staff sessions (agent console, admin): an idle timeout and an absolute lifetime of one working day.
# The agent's screen-pop as server-sent events from a thread of a WSGI server: right for the development server
# and the tests' live server, wrong for gunicorn's sync workers (one held per agent), where the push process serves
# it under ASGI instead (telephony/stream.py, docs/telephony.md).
SCREEN_POP_WSGI_STREAM = _env_bool("SCREEN_POP_WSGI_STREAM", DEBUG)
STAFF_SESSION_IDLE_SECONDS = int(os.environ.get("STAFF_SESSION_IDLE_SECONDS", "1800"))
STAFF_SESSION_MAX_SECONDS = int(os.environ.get("STAFF_SESSION_MAX_SECONDS", str(10 * 3600)))
# Staff second factor: TOTP (django-otp); the issuer shown by authenticator apps.
OTP_TOTP_ISSUER = "omniguichet"
# Throttling service (core.throttle): overrides of its limits, {name: (free, first delay s, max delay s, window
# s)}; see docs/security.md. Behind a reverse proxy, the META header that carries the client address
# (e.g. HTTP_X_REAL_IP); empty: REMOTE_ADDR.
THROTTLE_LIMITS: dict[str, tuple[int, int, int, int]] = {}
THROTTLE_CLIENT_IP_HEADER = os.environ.get("THROTTLE_CLIENT_IP_HEADER", "")
KIOSK_IDLE_SECONDS = int(os.environ.get("KIOSK_IDLE_SECONDS", "90"))

# FranceConnect-style login (accounts app, mozilla-django-oidc). Empty endpoints hide the button.
AUTHENTICATION_BACKENDS = [
    "omniguichet.accounts.backends.PasswordBackend",
    "omniguichet.accounts.backends.FranceConnectBackend",
]
OIDC_RP_CLIENT_ID = os.environ.get("OIDC_RP_CLIENT_ID", "")
OIDC_RP_CLIENT_SECRET = os.environ.get("OIDC_RP_CLIENT_SECRET", "")
OIDC_OP_AUTHORIZATION_ENDPOINT = os.environ.get("OIDC_OP_AUTHORIZATION_ENDPOINT", "")
OIDC_OP_TOKEN_ENDPOINT = os.environ.get("OIDC_OP_TOKEN_ENDPOINT", "")
OIDC_OP_USER_ENDPOINT = os.environ.get("OIDC_OP_USER_ENDPOINT", "")
OIDC_OP_JWKS_ENDPOINT = os.environ.get("OIDC_OP_JWKS_ENDPOINT", "")
OIDC_RP_SIGN_ALGO = os.environ.get("OIDC_RP_SIGN_ALGO", "RS256")
OIDC_RP_SCOPES = "openid given_name family_name birthdate gender birthplace birthcountry email"
OIDC_USE_NONCE = True
OIDC_USE_PKCE = True
OIDC_AUTHENTICATION_CALLBACK_URL = "accounts:oidc_authentication_callback"
# Our callback: the account's session, its landing page and its second factor.
OIDC_CALLBACK_CLASS = "omniguichet.accounts.views.FranceConnectCallbackView"
LOGIN_REDIRECT_URL_FAILURE = "/compte/franceconnect/confirmer/"
# Analytics: the pseudonymised contact warehouse (Parquet) and its indicators (DuckDB). The pseudonym key comes
# from OMNIGUICHET_PSEUDONYM_KEY or from a file generated once under var/ (like SECRET_KEY).
ANALYTICS_WAREHOUSE_DIR = Path(os.environ.get("OMNIGUICHET_WAREHOUSE_DIR", VAR_DIR / "warehouse")).resolve()
ANALYTICS_DUCKDB_MEMORY_LIMIT = os.environ.get("OMNIGUICHET_DUCKDB_MEMORY_LIMIT", "3GB")
# Bonus weights per indicator ("demat_rate=2,recontact_rate=1"); unnamed indicators weigh 1.
ANALYTICS_BONUS_WEIGHTS = os.environ.get("OMNIGUICHET_BONUS_WEIGHTS", "")
# --- documents (pieces deposited by persons; see docs/documents.md) ---------------------------------------------
# AES-256-GCM keys (urlsafe base64 of 32 bytes), newest first; older keys still decrypt after a rotation.
# Default: a key generated once under var/ (0600), like SECRET_KEY. In production: from the environment.
OMNIGUICHET_DOCUMENT_KEY = os.environ.get("OMNIGUICHET_DOCUMENT_KEY", "")
OMNIGUICHET_DOCUMENT_MAX_FILE_BYTES = int(
    os.environ.get("OMNIGUICHET_DOCUMENT_MAX_FILE_BYTES", str(10 * 1024 * 1024))
)
OMNIGUICHET_DOCUMENT_MAX_DEPOSIT_BYTES = int(
    os.environ.get("OMNIGUICHET_DOCUMENT_MAX_DEPOSIT_BYTES", str(20 * 1024 * 1024))
)
OMNIGUICHET_DOCUMENT_MAX_FILES = int(os.environ.get("OMNIGUICHET_DOCUMENT_MAX_FILES", "10"))
OMNIGUICHET_DOCUMENT_MAX_PAGES = int(os.environ.get("OMNIGUICHET_DOCUMENT_MAX_PAGES", "50"))
OMNIGUICHET_DOCUMENT_MAX_PIXELS = int(os.environ.get("OMNIGUICHET_DOCUMENT_MAX_PIXELS", str(40_000_000)))
# The time the checks of one PDF may take (seconds, between objects): a hostile file is refused, not chewed on.
OMNIGUICHET_DOCUMENT_PDF_CHECK_SECONDS = float(os.environ.get("OMNIGUICHET_DOCUMENT_PDF_CHECK_SECONDS", "2"))
# Antivirus: the clamd unix socket (e.g. /run/clamav/clamd.ctl); empty = no scan.
OMNIGUICHET_CLAMD_SOCKET = os.environ.get("OMNIGUICHET_CLAMD_SOCKET", "")
# Storage of the encrypted files: the filesystem under var/documents, or S3-compatible object storage
# (OMNIGUICHET_DOCUMENT_STORAGE=s3, needs `pip install omniguichet[s3]` and the AWS_* variables of django-storages).
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    "documents": (
        {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": os.environ.get("OMNIGUICHET_DOCUMENT_BUCKET", "omniguichet-documents"),
                "endpoint_url": os.environ.get("AWS_S3_ENDPOINT_URL") or None,
                "default_acl": "private",
                "file_overwrite": False,
            },
        }
        if os.environ.get("OMNIGUICHET_DOCUMENT_STORAGE", "filesystem") == "s3"
        else {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {
                "location": str(VAR_DIR / "documents"),
                "directory_permissions_mode": 0o700,
                "file_permissions_mode": 0o600,
            },
        }
    ),
}
# Appointments and reception (issue 7). Messages to persons go through the outbound message ledger.
APPOINTMENTS_LINK_MAX_AGE_DAYS = int(os.environ.get("APPOINTMENTS_LINK_MAX_AGE_DAYS", "90"))
APPOINTMENTS_MAX_OFFERS = int(os.environ.get("APPOINTMENTS_MAX_OFFERS", "3"))
APPOINTMENTS_OFFER_HOURS = int(os.environ.get("APPOINTMENTS_OFFER_HOURS", "24"))
# How long the free-slot search may reuse a site's weekly pattern (hours, availability); booking never does.
APPOINTMENTS_SCHEDULE_CACHE_SECONDS = int(os.environ.get("APPOINTMENTS_SCHEDULE_CACHE_SECONDS", "60"))
# Where an insured person logs in before the account's appointment pages (the online account's login page).
APPOINTMENTS_PERSON_LOGIN_URL = os.environ.get("APPOINTMENTS_PERSON_LOGIN_URL", "/compte/connexion/")
# The address of the platform as persons reach it (links in SMS and e-mails).
OMNIGUICHET_PUBLIC_URL = os.environ.get("OMNIGUICHET_PUBLIC_URL", "http://127.0.0.1:8000")
# Appointments still booked this long after their end, without a visit or call-back outcome, are marked missed
# (task appointments.tasks.sweep_missed every APPOINTMENTS_SWEEP_SECONDS, command `mark_missed_appointments`).
APPOINTMENTS_MISSED_AFTER_MINUTES = int(os.environ.get("APPOINTMENTS_MISSED_AFTER_MINUTES", "60"))
APPOINTMENTS_SWEEP_SECONDS = int(os.environ.get("APPOINTMENTS_SWEEP_SECONDS", "900"))

# PostgreSQL: the contact table and the ledger are partitioned by month (docs/scale.md). A task creates the
# partitions of this month and of the next PARTITIONS_MONTHS_AHEAD ones, every PARTITIONS_AHEAD_SECONDS.
PARTITIONS_MONTHS_AHEAD = int(os.environ.get("OMNIGUICHET_PARTITIONS_MONTHS_AHEAD", "3"))
PARTITIONS_AHEAD_SECONDS = int(os.environ.get("OMNIGUICHET_PARTITIONS_AHEAD_SECONDS", "86400"))
# The other end (core.retention, docs/scale.md "Retention of old months"): the months of a table older than its
# retention (in months, empty: kept for ever) leave it, dropped or archived, checked every PARTITIONS_RETENTION_SECONDS.
# Read and checked by core.retention.policies() (a wrong value stops the start with the variable's name).
PARTITIONS_RETENTION = {
    "crm_contact": (
        os.environ.get("OMNIGUICHET_CONTACTS_RETENTION_MONTHS", ""),
        os.environ.get("OMNIGUICHET_CONTACTS_RETENTION_ACTION", "drop"),
    ),
    "outreach_outboundmessage": (
        os.environ.get("OMNIGUICHET_LEDGER_RETENTION_MONTHS", ""),
        os.environ.get("OMNIGUICHET_LEDGER_RETENTION_ACTION", "drop"),
    ),
}
PARTITIONS_RETENTION_SECONDS = int(os.environ.get("OMNIGUICHET_PARTITIONS_RETENTION_SECONDS", "86400"))
# Calls and their event lines (telephony) are not partitioned: those started more than CALLS_RETENTION_MONTHS ago
# (empty: kept for ever) are deleted in batches every CALLS_RETENTION_SECONDS, on every database
# (telephony.services.retention, docs/telephony.md "Retention"). Checked by core.retention.parse_months.
CALLS_RETENTION_MONTHS = os.environ.get("OMNIGUICHET_CALLS_RETENTION_MONTHS", "")
CALLS_RETENTION_SECONDS = int(os.environ.get("OMNIGUICHET_CALLS_RETENTION_SECONDS", "86400"))
# How long a detach may wait for the table's lock (every other query on the table waits behind it meanwhile).
PARTITIONS_DETACH_LOCK_TIMEOUT_MS = int(
    os.environ.get("OMNIGUICHET_PARTITIONS_DETACH_LOCK_TIMEOUT_MS", "2000")
)

# --- the motive classifier of incoming e-mail (crm.classifier, docs/classifier.md) ---------------------------------
# Below this confidence a suggested motive is not routed on: the item goes to a triage basket (needs_triage).
OMNIGUICHET_CLASSIFIER_THRESHOLD = float(os.environ.get("OMNIGUICHET_CLASSIFIER_THRESHOLD", "0.5"))

# --- analytics: the worker exports the warehouse (and refreshes the dashboards) every so often; 0: never ---------
ANALYTICS_EXPORT_EVERY_SECONDS = int(os.environ.get("OMNIGUICHET_EXPORT_EVERY_SECONDS", "3600"))

# --- production (docs/production.md): OMNIGUICHET_PRODUCTION=1, set by `omniguichet serve --production` ----------
PRODUCTION = _env_bool("OMNIGUICHET_PRODUCTION", False)
# Reverse proxies whose forwarded client address is believed (addresses or networks, comma-separated). A request
# from any other peer is counted by its own REMOTE_ADDR, whatever header it sends.
OMNIGUICHET_TRUSTED_PROXIES = [
    p.strip() for p in os.environ.get("OMNIGUICHET_TRUSTED_PROXIES", "127.0.0.1,::1").split(",") if p.strip()
]
# Each readiness check (database, cache, task queue, document storage) must answer within this (seconds).
HEALTH_CHECK_TIMEOUT = float(os.environ.get("OMNIGUICHET_HEALTH_CHECK_TIMEOUT", "3"))
if PRODUCTION:
    from csp.constants import NONCE, NONE, SELF

    DEBUG = False
    if "OMNIGUICHET_LOG_FORMAT" not in os.environ:  # JSON lines unless told otherwise
        LOGGING["handlers"]["console"]["formatter"] = "json"  # type: ignore[index]
    # Compressed (gzip, brotli when installed) and content-hashed static files, served with far-future caching.
    MIDDLEWARE.insert(1, "whitenoise.middleware.WhiteNoiseMiddleware")
    MIDDLEWARE.insert(2, "csp.middleware.CSPMiddleware")
    MIDDLEWARE.insert(3, "omniguichet.core.production.FrameAncestorsFollowXFrameOptions")
    STORAGES["staticfiles"] = {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"}
    # TLS ends at the reverse proxy, which must set X-Forwarded-Proto (deploy/nginx.conf).
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = _env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", str(365 * 24 * 3600)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = _env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = _env_bool("SECURE_HSTS_PRELOAD", True)
    SECURE_CONTENT_TYPE_NOSNIFF = True
    SECURE_REFERRER_POLICY = "same-origin"
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = CSRF_COOKIE_SAMESITE = "Lax"
    CSRF_COOKIE_HTTPONLY = True
    # X-Frame-Options DENY for every page; the document preview (documents.views, xframe_options_sameorigin)
    # keeps SAMEORIGIN, and its CSP frame-ancestors is relaxed to 'self' by the same view (docs/production.md).
    X_FRAME_OPTIONS = "DENY"
    CONTENT_SECURITY_POLICY = {
        "DIRECTIVES": {
            "default-src": [SELF],
            "script-src": [SELF, NONCE],
            # style="" attributes in templates (and the DSFR's scripts) need 'unsafe-inline' for styles only.
            "style-src": [SELF, "'unsafe-inline'"],
            "img-src": [SELF, "data:"],
            "font-src": [SELF],
            "connect-src": [SELF],
            "object-src": [NONE],
            "base-uri": [SELF],
            "form-action": [SELF],
            "frame-src": [SELF],
            "frame-ancestors": [NONE],
        }
    }
