"""One settings module, driven by environment variables (see README "Configuration").

Fail closed: DEBUG is off and the secrets have no defaults, so a start with nothing configured refuses to run.
`make run` writes a git-ignored `.env` with development values, read here; real environment variables win over it.
Importing this module reads files and nothing more: it writes and creates nothing.
"""

import os
from datetime import timedelta
from ipaddress import ip_network
from pathlib import Path
from typing import Any

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from .env import env, env_bool, env_int, env_list, read_env_file

BASE_DIR = Path(__file__).resolve().parent.parent
# ENV_FILE names another file (tests point it at one that does not exist, to start as a clean deployment would).
read_env_file(Path(os.environ.get("ENV_FILE") or BASE_DIR / ".env"))

DEBUG = env_bool("DEBUG", False)

SECRET_KEY = env("SECRET_KEY", "")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
# Links in emails point here; `make run` sets it from HOST and PORT.
SITE_URL = env("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
CSRF_TRUSTED_ORIGINS = env_list(
    "CSRF_TRUSTED_ORIGINS", list(dict.fromkeys([SITE_URL, "http://127.0.0.1:8000", "http://localhost:8000"]))
)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "knox",  # hashed, expiring API tokens; the model is tokens.ApiToken (KNOX_TOKEN_MODEL)
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI and Redoc as static files of our own: no CDN
    "guardian",
    "django_celery_beat",
    "axes",
    "csp",
    "audit",
    "accounts",
    "agencies",
    "tokens",
    "agreements",
    "notifications",
    "mozilla_django_oidc",
]

MIDDLEWARE = [
    "sharing_registry.middleware.RequestContextMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "sharing_registry.middleware.NulInPathMiddleware",
    "csp.middleware.CSPMiddleware",
    "sharing_registry.middleware.StaticFilesMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "sharing_registry.middleware.NotFoundPageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "sharing_registry.middleware.ActorContextMiddleware",
    "sharing_registry.middleware.NoStoreMiddleware",
    "sharing_registry.middleware.AccessDeniedAuditMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as django-axes asks: it turns a lockout into the lockout page
]

ROOT_URLCONF = "sharing_registry.urls"
WSGI_APPLICATION = "sharing_registry.wsgi.application"

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
                "sharing_registry.context_processors.navigation",
                "notifications.context_processors.unread_notifications",
            ],
        },
    },
]

# Database: DATABASE_URL, or a SQLite file in the project folder.
DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=env_int("DB_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets readers and one writer work at once; IMMEDIATE takes the write lock at BEGIN,
        # so two writers queue (busy timeout) instead of failing with "database is locked".
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    "sharing_registry.auth_backends.LockoutBackend",  # first: django-axes refuses a locked-out sign-in
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
    "sharing_registry.oidc.OIDCBackend",  # single sign-on; answers only when OIDC_ISSUER is configured
]
ANONYMOUS_USER_NAME = None  # guardian: anonymous visitors get no object permissions, and no AnonymousUser row
GUARDIAN_RAISE_403 = False

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "tokens.passwords.RevokeTokensOnPasswordChange"},  # not a rule: a changed password ends API tokens
]
# Forgotten passwords: the emailed link works for this long, and requests are limited per hour, per address asked
# about (more are answered the same but send nothing) and per client address (more get a 429 page).
PASSWORD_RESET_TIMEOUT = env_int("PASSWORD_RESET_TIMEOUT_SECONDS", 3 * 3600)
PASSWORD_RESET_LIMIT_PER_EMAIL = env_int("PASSWORD_RESET_LIMIT_PER_EMAIL", 3)
PASSWORD_RESET_LIMIT_PER_CLIENT = env_int("PASSWORD_RESET_LIMIT_PER_CLIENT", 20)
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS: list[Path | tuple[str, Path]] = [BASE_DIR / "static"]
GOVUK_FRONTEND_DIST = BASE_DIR / "node_modules" / "govuk-frontend" / "dist"
if GOVUK_FRONTEND_DIST.exists():
    STATICFILES_DIRS.append(("govuk", GOVUK_FRONTEND_DIST / "govuk"))
# GOV.UK's accessible-autocomplete, which turns the agreement form's lists of agencies and datasets into a type-ahead.
ACCESSIBLE_AUTOCOMPLETE_DIST = BASE_DIR / "node_modules" / "accessible-autocomplete" / "dist"
if ACCESSIBLE_AUTOCOMPLETE_DIST.exists():
    STATICFILES_DIRS.append(("accessible-autocomplete", ACCESSIBLE_AUTOCOMPLETE_DIST))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
MEDIA_ROOT = Path(env("MEDIA_ROOT", str(BASE_DIR / "media")))

# API
REST_FRAMEWORK: dict[str, Any] = {
    # Token first: DRF answers 401 (not 403) only when the first class offers a WWW-Authenticate challenge.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "sharing_registry.authentication.TokenAuthentication",
        "sharing_registry.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "sharing_registry.api.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "sharing_registry.schema.ErrorDocumentingAutoSchema",
    "EXCEPTION_HANDLER": "sharing_registry.api.exception_handler",
    "URL_FORMAT_OVERRIDE": None,  # ?format= belongs to the audit export, not to DRF's renderer choice
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["sharing_registry.api.BoundedJSONParser"],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    # Every token (and every anonymous caller) is rate-limited; a 429 carries Retry-After and a JSON detail.
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env("API_THROTTLE_ANON", "60/minute"),
        "user": env("API_THROTTLE_USER", "1200/minute"),
        "bad_token": env("API_THROTTLE_BAD_TOKEN", "20/minute"),
    },
    # Rate limits count by REMOTE_ADDR; behind N trusted proxies set NUM_PROXIES=N (X-Forwarded-For is spoofable).
    "NUM_PROXIES": env_int("NUM_PROXIES", 0),
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Sharing Registry API",
    "DESCRIPTION": "Information-sharing agreements, and the frontline question: may I share this dataset? "
                   "The contract, in full: [docs/api.md](docs/api.md) in the repository. "
                   "Send JSON bodies of at most 1 MB, nested at most 32 levels; fields this version does not know "
                   "are ignored, never saved. Text limits are the same as the pages'. "
                   "Calls are rate-limited: a 429 says how many seconds to wait in Retry-After.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "ENUM_NAME_OVERRIDES": {"AgencyKindEnum": "agencies.choices.AgencyKind",
                            "VersionStateEnum": "agreements.choices.VersionState"},
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "sharing_registry.schema.add_error_components",
    ],
}

# API tokens (tokens.ApiToken, django-rest-knox): only a SHA-512 digest is stored; every token expires.
KNOX_TOKEN_MODEL = "tokens.ApiToken"  # noqa: S105 - a model name, not a secret
# knox's own migrations would create its default token table even though tokens.ApiToken replaces it.
MIGRATION_MODULES = {"knox": None}
API_TOKEN_DAYS = env_int("API_TOKEN_DAYS", 90)  # the expiry a new token gets unless its creator picks another
API_TOKEN_MAX_DAYS = env_int("API_TOKEN_MAX_DAYS", 365)  # no token may be made to last longer
REST_KNOX = {"TOKEN_TTL": timedelta(days=API_TOKEN_DAYS), "AUTH_HEADER_PREFIX": "Token", "AUTO_REFRESH": False}

# Single sign-on with OpenID Connect (mozilla-django-oidc; sharing_registry/oidc.py). Off unless all three are set.
# A person signs in when the provider vouches for their email (email_verified) and it matches one active account,
# or a pending invitation; the provider alone never creates an account or gives a role.
OIDC_ISSUER = env("OIDC_ISSUER", "").rstrip("/")
OIDC_RP_CLIENT_ID = env("OIDC_CLIENT_ID", "")
OIDC_RP_CLIENT_SECRET = env("OIDC_CLIENT_SECRET", "")
OIDC_PROVIDER_NAME = env("OIDC_PROVIDER_NAME", "your organisation's account")  # "Sign in with ..."
OIDC_RP_SIGN_ALGO = env("OIDC_SIGN_ALGO", "RS256")
OIDC_RP_SCOPES = "openid email profile"
OIDC_USE_PKCE = True
OIDC_CREATE_USER = False
OIDC_TIMEOUT = env_int("OIDC_TIMEOUT_SECONDS", 10)
OIDC_DISCOVERY_CACHE_SECONDS = env_int("OIDC_DISCOVERY_CACHE_SECONDS", 3600)
OIDC_AUTHENTICATION_CALLBACK_URL = "oidc_authentication_callback"
LOGIN_REDIRECT_URL_FAILURE = "/accounts/login/?sso=failed"
# Called as hook(email=, name=, request=) when a verified email matches no account; returns the new member or None.
OIDC_INVITATION_HOOK = "agencies.services.invitation_accept_for_sso"

# Celery: with no broker, tasks run eagerly in-process (the embedded default).
CELERY_BROKER_URL = env("CELERY_BROKER_URL", "")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
# Results (only tasks that opt in keep one) go to CELERY_RESULT_BACKEND, else to a Redis broker, else nowhere.
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", "") or (
    CELERY_BROKER_URL if CELERY_BROKER_URL.startswith("redis") else None)
CELERY_BROKER_URL = CELERY_BROKER_URL or "memory://"
CELERY_TASK_IGNORE_RESULT = True  # tasks that return something useful opt in with ignore_result=False
CELERY_RESULT_EXPIRES = 24 * 3600
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"

# Email: the console in development, SMTP from the environment in production.
EMAIL_BACKEND = env("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "Sharing Registry <no-reply@sharing-registry.invalid>")

# Audit: the key that signs checkpoints lives outside the database. A development run (`make run`'s .env) may
# instead let a key be generated into AUDIT_SIGNING_KEY_FILE (git-ignored); nothing else may, and never without DEBUG.
AUDIT_SIGNING_KEY = env("AUDIT_SIGNING_KEY", "")
AUDIT_SIGNING_KEY_FILE = BASE_DIR / env("AUDIT_SIGNING_KEY_FILE", ".audit_signing_key")  # relative: to BASE_DIR
AUDIT_SIGNING_KEY_GENERATE = DEBUG and env_bool("AUDIT_SIGNING_KEY_GENERATE", False)
# Sealing (docs/audit.md): inline after each commit when tasks run eagerly, else the beat task every few seconds.
# The codes of an actor's agencies, so that each event names every agency it concerns (audit imports no app).
AUDIT_ACTOR_AGENCIES = "agencies.selectors.user_agency_codes"
# Who audits which agency is the agencies' business: the codes a user audits, (code, name) of the agencies whose
# events they may read (every agency for a superuser), and the addresses told when the chain fails its check.
AUDIT_AUDITED_AGENCY_CODES = "agencies.selectors.audited_agency_codes"
AUDIT_AUDITED_AGENCIES = "agencies.selectors.audited_agency_choices"
AUDIT_AUDITOR_EMAILS = "agencies.selectors.auditor_emails"
AUDIT_SEAL_ON_COMMIT = env_bool("AUDIT_SEAL_ON_COMMIT", CELERY_TASK_ALWAYS_EAGER)
AUDIT_SEAL_INTERVAL_SECONDS = env_int("AUDIT_SEAL_INTERVAL_SECONDS", 2)
AUDIT_SEAL_WINDOW_SECONDS = env_int("AUDIT_SEAL_WINDOW_SECONDS", 60)
AUDIT_LATE_COMMIT_SECONDS = env_int("AUDIT_LATE_COMMIT_SECONDS", 600)
# No event stays unsigned longer than AUDIT_UNSIGNED_TAIL_SECONDS: the head is signed at most every
# AUDIT_CHECKPOINT_SECONDS, and a deferred checkpoint is always scheduled (beat, or a timer in the embedded default).
AUDIT_UNSIGNED_TAIL_SECONDS = env_int("AUDIT_UNSIGNED_TAIL_SECONDS", 10)
AUDIT_CHECKPOINT_SECONDS = env_int("AUDIT_CHECKPOINT_SECONDS", 5)
# The witness: a directory outside the database (its own volume; write-once storage in production) where every
# signed checkpoint is also appended. Always required (`make run`'s .env names var/audit-witness, relative to BASE_DIR).
AUDIT_WITNESS_DIR = str(BASE_DIR / env("AUDIT_WITNESS_DIR")) if env("AUDIT_WITNESS_DIR") else ""
# The largest event detail record() stores, as compact JSON bytes; larger details are cut down, marked as such.
AUDIT_DETAIL_MAX_BYTES = env_int("AUDIT_DETAIL_MAX_BYTES", 8192)
# A full verification walks position ranges in this many processes over one exported snapshot (PostgreSQL).
AUDIT_VERIFY_PROCESSES = env_int("AUDIT_VERIFY_PROCESSES", 2)
# Migrations run as the tables' owner; the app's DATABASE_URL role may only INSERT/SELECT the audit tables.
MIGRATE_DATABASE_URL = env("MIGRATE_DATABASE_URL", "")
CELERY_BEAT_SCHEDULE = {
    "audit-seal": {"task": "audit.seal", "schedule": AUDIT_SEAL_INTERVAL_SECONDS, "options": {"expires": 30}},
}

# Checks: how long past its review date an agreement may still be relied on.
REVIEW_GRACE_DAYS = env_int("REVIEW_GRACE_DAYS", 90)

# --- Scheduled and background work (README "Scheduled work") ---------------------------------------------------
# Review reminders go to every party's governance officers this many days before the review date. A run missed
# (beat down for a day) is caught up within REVIEW_REMINDER_CATCH_UP_DAYS; older thresholds are skipped.
REVIEW_REMINDER_DAYS = (90, 30, 0)
REVIEW_REMINDER_CATCH_UP_DAYS = env_int("REVIEW_REMINDER_CATCH_UP_DAYS", 7)
# Exports of more rows than this are written by a background job instead of streamed by the web process.
AUDIT_EXPORT_SYNC_LIMIT = env_int("AUDIT_EXPORT_SYNC_LIMIT", 100_000)
# Where background exports are written. Web and worker processes must share it (one volume for every machine).
AUDIT_EXPORT_DIR = Path(env("AUDIT_EXPORT_DIR", str(BASE_DIR / "var" / "exports")))
AUDIT_EXPORT_RETENTION_HOURS = env_int("AUDIT_EXPORT_RETENTION_HOURS", 24)
AUDIT_EXPORT_PROGRESS_ROWS = env_int("AUDIT_EXPORT_PROGRESS_ROWS", 10_000)  # rows between progress updates
AUDIT_EXPORT_MAX_ATTEMPTS = env_int("AUDIT_EXPORT_MAX_ATTEMPTS", 3)  # a job that kills its worker this often fails
AUDIT_EXPORT_STALE_MINUTES = env_int("AUDIT_EXPORT_STALE_MINUTES", 15)  # no progress for this long: queue it again
AUDIT_EXPORT_CHUNK_DELAY_SECONDS = float(env("AUDIT_EXPORT_CHUNK_DELAY_SECONDS", "0"))  # tests only: slow it down
# A task whose worker died is delivered again after this long (Redis visibility timeout). Keep it above the
# longest task; an export that outlives it is guarded by a lock, and the cleanup task re-queues stalled jobs.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT_SECONDS", 3600)}
# A mail server that stops answering must not hold a worker for ever (the send is retried with backoff).
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30)
# Where django.core.mail.backends.filebased.EmailBackend writes messages (EMAIL_BACKEND may name it, e.g. in tests).
EMAIL_FILE_PATH = env("EMAIL_FILE_PATH", str(BASE_DIR / "var" / "mail"))
# The queue tasks go to when nothing routes them (a worker started with -Q <name> for tests sets it too).
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_TASK_DEFAULT_QUEUE", "celery")
# --- end of scheduled and background work ---------------------------------------------------------------------

# Security: strict whenever DEBUG is off.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = 0 if DEBUG else env_int("SECURE_HSTS_SECONDS", 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SESSION_ENGINE = "accounts.sessions"  # database sessions that know their user: switching an account off ends them
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 30 * 60)
SESSION_SAVE_EVERY_REQUEST = True  # the timeout counts from the last request: inactivity, not sign-in
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
# Content-Security-Policy (django-csp 4): our own scripts, styles, fonts and images only; no inline code. The API
# docs too: Swagger UI is served from drf-spectacular-sidecar's static files, its set-up from a file of ours.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}
# /healthz gives its details (database, migrations, broker) only to a caller with this token (Authorization: Bearer)
# or from these networks; anyone else learns only up or down.
HEALTHZ_TOKEN = env("HEALTHZ_TOKEN", "")
HEALTHZ_INTERNAL_NETWORKS = [
    ip_network(cidr.strip(), strict=False) for cidr in env_list("HEALTHZ_INTERNAL_NETWORKS", ["127.0.0.0/8", "::1/128"])
]
# Rate limits for API calls live in this cache: Redis (shared by every web process) when CACHE_URL is set.
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": env("CACHE_URL", "")}
    if env("CACHE_URL", "")
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
}
# Sign-in protection (django-axes): after AXES_FAILURE_LIMIT failed sign-ins for one username from one address,
# that pair is locked out for AXES_COOLOFF_MINUTES. REMOTE_ADDR is the client address (a spoofable header is not).
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "sharing_registry.views.locked_out"  # a GOV.UK page in plain English, status 429
AXES_HTTP_RESPONSE_CODE = 429
AXES_IPWARE_META_PRECEDENCE_ORDER = ("REMOTE_ADDR",)
AXES_USERNAME_CALLABLE = "sharing_registry.views.attempted_username"  # bounded, as its table column is
AXES_WHITELIST_CALLABLE = "sharing_registry.views.not_a_password_sign_in"  # single sign-on: the provider's lockout

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_context": {"()": "sharing_registry.logging.RequestContextFilter"}},
    "formatters": {"json": {"()": "sharing_registry.logging.JsonFormatter"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "json", "filters": ["request_context"]},
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.server": {"handlers": [], "propagate": False},  # our middleware writes one line per request
        "django.request": {"handlers": ["console"], "level": "ERROR", "propagate": False},
    },
}

WHITENOISE_USE_FINDERS = DEBUG

# Refuse to start without the secrets a deployment must give (one message naming every one that is missing).
_MISSING = [name for name, given in (
    ("SECRET_KEY", SECRET_KEY),
    ("AUDIT_SIGNING_KEY", AUDIT_SIGNING_KEY or AUDIT_SIGNING_KEY_GENERATE),
    ("AUDIT_WITNESS_DIR", AUDIT_WITNESS_DIR),
) if not given]
if _MISSING:
    raise ImproperlyConfigured(
        f"Missing settings: {', '.join(_MISSING)}. Set them in the environment (README \"Configuration\"); "
        "for development, `make run` writes a .env with development values."
    )
