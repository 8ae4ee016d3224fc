"""Django settings for netpol.

Every knob comes from an environment variable, or from a ``.env`` file beside manage.py (variables
already in the environment win); .env.example lists them all. With none set, the site runs on
SQLite and executes Celery tasks in-process (the "embedded default"). Setting DATABASE_URL and
REDIS_URL switches to an external database, a Redis broker and separate workers.

DEBUG is off unless asked for, and with DEBUG off the site refuses to start without a SECRET_KEY
of its own (``make run`` asks for DEBUG and a development key).
"""

import os
from pathlib import Path

import dj_database_url
import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

# A .env file fills in what the environment does not set (docker compose reads the same file).
environ.Env.read_env(os.getenv("NETPOL_ENV_FILE", str(BASE_DIR / ".env")), overwrite=False)


def env_bool(name: str, default: str) -> bool:
    return os.getenv(name, default).strip().lower() in ("1", "true", "yes", "on")


def env_int(name: str, default: str) -> int:
    return int(os.getenv(name, default))


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.getenv(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", "False")

# Keys that were ever published with netpol: a site using one of them signs sessions and password
# reset links with a key that anybody can read.
KNOWN_SECRET_KEYS = {"", "---", "change-me", "change-me-in-production", "changeme", "secret", "development-only"}
SECRET_KEY = os.getenv("SECRET_KEY", "")
if SECRET_KEY in KNOWN_SECRET_KEYS or SECRET_KEY.startswith("django-insecure"):
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is missing or a published example value. Set SECRET_KEY to a long random string "
            '(python -c "import secrets; print(secrets.token_urlsafe(50))"), or DEBUG=True for local development.'
        )
    SECRET_KEY = SECRET_KEY or "django-insecure-development-only"
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "*" if DEBUG else "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

# HTTPS. Behind a TLS terminating proxy set these (the README's production settings):
# SECURE_SSL_REDIRECT=True, SECURE_HSTS_SECONDS=31536000, SESSION_COOKIE_SECURE=True, CSRF_COOKIE_SECURE=True.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", "False")
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", "0")
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", "True")
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", "True")
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", "False")
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", "False")
# The proxy's header that says the client used HTTPS, e.g. "HTTP_X_FORWARDED_PROTO,https".
if os.getenv("SECURE_PROXY_SSL_HEADER"):
    _header, _, _value = os.environ["SECURE_PROXY_SSL_HEADER"].partition(",")
    SECURE_PROXY_SSL_HEADER = (_header.strip(), _value.strip() or "https")
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI and ReDoc served locally, no CDN
    "axes",
    "csp",
    "policies",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Graphs are megabytes of JSON that compress about tenfold. Django pads each compressed
    # response with random bytes against BREACH (Heal The Breach), so pages with tokens may be too.
    "django.middleware.gzip.GZipMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes asks: it answers 429 to a locked-out login.
    "axes.middleware.AxesMiddleware",
]

# Content security policy: scripts, styles, images and API calls come from this site only; nothing
# may frame it. Every page passes it (the browser tests fail on any violation).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        # Swagger UI and ReDoc set style attributes from their scripts.
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "worker-src": ["'self'", "blob:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

# Login throttling (django-axes): after AXES_FAILURE_LIMIT wrong passwords for one user name from
# one address, that pair is locked out (429) for AXES_COOLOFF_MINUTES.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", "5")
AXES_COOLOFF_TIME = env_int("AXES_COOLOFF_MINUTES", "15") / 60  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_HTTP_RESPONSE_CODE = 429
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False

# Mail (password resets): printed on the console unless EMAIL_URL names an SMTP server,
# e.g. smtp+tls://user:password@mail.example.com:587.
_email = environ.Env.email_url_config(os.getenv("EMAIL_URL", "consolemail://"))
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email.get("EMAIL_HOST", "localhost")
EMAIL_PORT = _email.get("EMAIL_PORT", 25)
EMAIL_HOST_USER = _email.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = _email.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = bool(_email.get("EMAIL_USE_TLS", False))
EMAIL_USE_SSL = bool(_email.get("EMAIL_USE_SSL", False))
DEFAULT_FROM_EMAIL = os.getenv("DEFAULT_FROM_EMAIL", "netpol@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

ROOT_URLCONF = "netpol_site.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "netpol_site.wsgi.application"

# Database: SQLite in the project folder unless DATABASE_URL says otherwise
# (any URL dj-database-url understands, e.g. postgres://user:pass@host/db or sqlite:////tmp/x.db).
DATABASE_URL = os.getenv("DATABASE_URL", "")
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=env_int("DB_CONN_MAX_AGE", "0"),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web process and a worker may share one SQLite file: wait for locks instead
    # of failing, and take the write lock up front so that transactions never deadlock.
    DATABASES["default"]["OPTIONS"] = {"timeout": 30, "transaction_mode": "IMMEDIATE"}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# Static files: our own code in static/, front-end libraries in node_modules/ (npm ci),
# served by WhiteNoise after collectstatic.
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [path for path in (BASE_DIR / "static", BASE_DIR / "node_modules") if path.is_dir()]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# Uploads: anything bigger than NETPOL_MAX_UPLOAD_BYTES is refused with 413 by the API.
# Django's own limit on a request body sits above ours, so that ours is the one that answers.
NETPOL_MAX_UPLOAD_BYTES = env_int("NETPOL_MAX_UPLOAD_BYTES", str(20 * 1024 * 1024))
DATA_UPLOAD_MAX_MEMORY_SIZE = NETPOL_MAX_UPLOAD_BYTES + 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FILES = env_int("NETPOL_MAX_UPLOAD_FILES", "1000")
# The upload page keeps the files of a failed try on the server (not in the page) this long.
NETPOL_UPLOAD_DRAFT_MINUTES = env_int("NETPOL_UPLOAD_DRAFT_MINUTES", "60")
# The pod-level graph is stored whole (JSON) below this size; a larger one as its nodes and compact
# edges, from which the API reads it back and computes a namespace's pods when first asked.
NETPOL_MAX_STORED_GRAPH_BYTES = env_int("NETPOL_MAX_STORED_GRAPH_BYTES", str(50 * 1024 * 1024))
# How often (seconds) a running analysis writes its progress to the database.
NETPOL_PROGRESS_INTERVAL = float(os.getenv("NETPOL_PROGRESS_INTERVAL", "0.5"))
# The graph page opens at namespace level above this many workloads (namespaces open on a click).
NETPOL_GRAPH_NAMESPACE_FIRST_ABOVE = env_int("NETPOL_GRAPH_NAMESPACE_FIRST_ABOVE", "150")

# Cluster sync. Kubeconfigs are encrypted at rest with these Fernet keys (comma-separated, the
# first encrypts; make one with cryptography's Fernet.generate_key()). Unset: derived from SECRET_KEY.
NETPOL_ENCRYPTION_KEY = os.getenv("NETPOL_ENCRYPTION_KEY", "")
NETPOL_SYNC_PAGE_SIZE = env_int("NETPOL_SYNC_PAGE_SIZE", "500")  # objects per list request (limit)
NETPOL_SYNC_CONNECT_TIMEOUT = float(os.getenv("NETPOL_SYNC_CONNECT_TIMEOUT", "10"))
NETPOL_SYNC_READ_TIMEOUT = float(os.getenv("NETPOL_SYNC_READ_TIMEOUT", "60"))

# Optional: POST a signed JSON event here when a proposal changes state (see policies/services/webhooks.py).
NETPOL_WEBHOOK_URL = os.getenv("NETPOL_WEBHOOK_URL", "")
NETPOL_WEBHOOK_SECRET = os.getenv("NETPOL_WEBHOOK_SECRET", "")
NETPOL_WEBHOOK_TIMEOUT = float(os.getenv("NETPOL_WEBHOOK_TIMEOUT", "10"))

REST_FRAMEWORK = {
    # Token first, so that an API client without credentials gets 401 and a WWW-Authenticate header.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "policies.api.pagination.PageNumbers",
    # Requests per client and period (second, minute, hour or day) before 429 Too Many Requests.
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": os.getenv("NETPOL_THROTTLE_ANON", "60/minute"),
        "user": os.getenv("NETPOL_THROTTLE_USER", "1200/minute"),
    },
    "PAGE_SIZE": 100,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "policies.api.views.exception_handler",
    "DEFAULT_PARSER_CLASSES": [
        "policies.api.parsers.SafeJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
}

SPECTACULAR_SETTINGS = {
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "TITLE": "netpol API",
    "DESCRIPTION": "What Kubernetes and Calico network policies allow: snapshots, analyses, "
    "reachability graphs, flow explanations and diffs.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "ENUM_NAME_OVERRIDES": {"ProposalStatusEnum": "policies.models.PROPOSAL_STATUS_CHOICES"},
    # 400, 401, 403, 404 and 429 documented on every operation that can answer them.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "policies.api.schema.add_error_responses",
    ],
}

# Celery. Without REDIS_URL tasks run in-process (eager) so that one command starts a
# working site; with it, a Redis broker hands them to separate workers.
REDIS_URL = os.getenv("REDIS_URL", "")
# Who runs analyses: "thread" (a background thread of the web process, so that an upload returns
# at once; the embedded default) or "celery" (workers over REDIS_URL; eager without it).
NETPOL_ANALYSIS_RUNNER = os.getenv("NETPOL_ANALYSIS_RUNNER", "celery" if REDIS_URL else "thread")
CELERY_BROKER_URL = REDIS_URL or "memory://localhost/"
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", "False" if REDIS_URL else "True")
CELERY_TASK_IGNORE_RESULT = True  # state lives in Analysis rows; there is no result backend
CELERY_TASK_ACKS_LATE = True  # a worker that dies mid-task leaves the message to be redelivered
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", "1800")
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", "1740")
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# The limits are the worker's: the web process sends none in the message (services.analyses.publish).
# Redis redelivers a message that was not acknowledged within this many seconds (a killed worker):
# just longer than the hard time limit, so that a running task is never handed out twice.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", str(CELERY_TASK_TIME_LIMIT + 60))
}
# Publishing to a broker that is down gives up after about two seconds (the API answers 503).
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.5, "interval_max": 1}
CELERY_BROKER_CONNECTION_TIMEOUT = 2

# Analyses never lost or stuck (policies/worker.py): a running analysis writes a heartbeat every
# NETPOL_HEARTBEAT_INTERVAL seconds; every worker, Celery beat and, on the embedded default, the
# web process sweep every NETPOL_SWEEP_INTERVAL seconds (and when they start): a running analysis
# without a heartbeat for NETPOL_HEARTBEAT_STALE seconds (its worker was killed) is queued again,
# or failed after NETPOL_MAX_ATTEMPTS starts; a queued analysis whose message was never sent
# (broker down) or was sent NETPOL_REPUBLISH_AFTER seconds ago (a Redis restart may have lost it)
# is sent again. A duplicate message is harmless: the first
# delivery claims the analysis.
NETPOL_HEARTBEAT_INTERVAL = float(os.getenv("NETPOL_HEARTBEAT_INTERVAL", "10"))
NETPOL_HEARTBEAT_STALE = float(os.getenv("NETPOL_HEARTBEAT_STALE", "60"))
NETPOL_SWEEP_INTERVAL = float(os.getenv("NETPOL_SWEEP_INTERVAL", "60"))
NETPOL_REPUBLISH_AFTER = float(os.getenv("NETPOL_REPUBLISH_AFTER", "600"))
NETPOL_MAX_ATTEMPTS = env_int("NETPOL_MAX_ATTEMPTS", "3")
# A change of a team's expectations is checked again this many seconds after it (on the thread
# runner, after the team's last change): several changes in a row make one re-check.
NETPOL_RECHECK_DELAY = float(os.getenv("NETPOL_RECHECK_DELAY", "2"))

# Clusters due a sync are looked for every NETPOL_SCHEDULER_SECONDS: by Celery beat with Redis
# (docker-compose's and deploy/'s `beat`), by `manage.py run_scheduler` on the embedded default.
NETPOL_SCHEDULER_SECONDS = float(os.getenv("NETPOL_SCHEDULER_SECONDS", "60"))
CELERY_BEAT_SCHEDULE = {
    "sync-due-clusters": {"task": "policies.tasks.sync_due_clusters", "schedule": NETPOL_SCHEDULER_SECONDS},
    # The sweep for lost or stuck analyses (policies/worker.py), also run by every worker.
    "sweep-analyses": {"task": "policies.tasks.sweep_analyses", "schedule": NETPOL_SWEEP_INTERVAL},
}

# Error pages and mails never show a connection URL or a key (netpol_site/reporting.py).
DEFAULT_EXCEPTION_REPORTER_FILTER = "netpol_site.reporting.SecretSettingsFilter"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.getenv("LOG_LEVEL", "INFO")},
}
