"""Settings for the shop-floor MES, read from environment variables (one module on purpose: every
switch a plant sets is found here, each with the comment that says what it does).

With no variables set the project runs in its *embedded* mode: a SQLite file in WAL mode, the
in-memory channel layer and Celery tasks run in-process. Production switches each part on by
its variable:

    DATABASE_URL       postgres://user:pass@host:5432/mes   (else SQLite under var/)
    REDIS_URL          redis://host:6379/0                  (channels_redis and the cache)
    REDIS_PREFIX       names this instance's keys in Redis  (else from its database)
    CELERY_BROKER_URL  redis://host:6379/1 or amqp://...    (else tasks run in-process)
    ERP_URL            https://erp.example/api              (else the endpoint record, else none)
    SECRET_KEY         required whenever DATABASE_URL is set
    ALLOWED_HOSTS      comma separated
    HTTPS              on behind TLS: secure cookies, HSTS, redirect to https
    DEBUG              off unless asked for
    METRICS_TOKEN      bearer token for /metrics (else only METRICS_ALLOWED_NETWORKS, loopback)
    PROMETHEUS_MULTIPROC_DIR  every process of a machine counts into this directory (`make plant`)
    LOG_FORMAT         json (default: one JSON object per line) or text for a developer's console
    LANGUAGE_CODE      the site's default language: en (default), de, es or ar
"""

import os
import secrets
import warnings
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
VAR_DIR.mkdir(exist_ok=True)

DEBUG = env.bool("DEBUG", default=False)
EMBEDDED = "DATABASE_URL" not in env


def _embedded_secret_key() -> str:
    """A per-installation key kept beside the SQLite file, so `make run` needs no setup."""
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


if "SECRET_KEY" in env:
    SECRET_KEY = env.str("SECRET_KEY")
elif EMBEDDED:
    SECRET_KEY = _embedded_secret_key()
else:
    raise ImproperlyConfigured("SECRET_KEY must be set when DATABASE_URL is set (production).")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "template_partials",
    "django_htmx",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "simple_history",
    "mes",
    "workorders",
    "quality",
    "traceability",
    "integration",
]

MIDDLEWARE = [
    "mes.metrics.RequestMetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "mes.middleware.RefuseNulMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",  # the cookie, else the browser's languages
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "mes.locale_middleware.PersonLanguageMiddleware",  # the signed-in person's language wins
    "mes.log_context.RequestContextMiddleware",
    "mes.middleware.IdleSessionTimeoutMiddleware",
    "mes.site_time.SiteTimeZoneMiddleware",  # times shown in the site's zone
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "mes.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",  # LANGUAGE_CODE, LANGUAGE_BIDI
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "mes.context_processors.mes_context",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------------------------
if EMBEDDED:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "mes.sqlite3",
            "OPTIONS": {
                # WAL lets dashboards read while a tablet writes; IMMEDIATE takes the write
                # lock at BEGIN so concurrent writers queue instead of failing mid-transaction.
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
        }
    }
else:
    DATABASES = {"default": env.db_url("DATABASE_URL")}
    if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
        DATABASES["default"].setdefault("OPTIONS", {}).update(
            {"init_command": "PRAGMA journal_mode=WAL;", "transaction_mode": "IMMEDIATE", "timeout": 20}
        )
    elif env.bool("DB_POOL", default=False):
        # A connection pool per process (psycopg_pool), on in the ASGI server (config/asgi.py turns
        # it on): its request threads, the live publishers' threads and the websocket consumers'
        # share the pool's connections instead of each keeping one, and a new connection per
        # request would cost PostgreSQL a process each time. Django hands pooled connections back
        # at the end of each request. Celery workers and commands, whose threads are not
        # requests, keep their own connections.
        DATABASES["default"]["CONN_MAX_AGE"] = 0
        DATABASES["default"]["CONN_HEALTH_CHECKS"] = True  # a pooled connection the server closed is replaced
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": env.int("DB_POOL_MIN", default=2),
            "max_size": env.int("DB_POOL_MAX", default=20),
            "timeout": env.float("DB_POOL_TIMEOUT", default=10.0),
        }
    else:
        # Without a pool, connect per request unless a plant sets a lifetime deliberately.
        DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DB_CONN_MAX_AGE", default=0))
        DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and env.bool(
    "DB_PREPARED_STATEMENTS", default=True
):
    # The production path's statements (`mes.compiled`) are prepared on a connection after two
    # runs, so PostgreSQL stops planning them at every tap. A plant behind a pooler that cannot
    # keep prepared statements (PgBouncer before 1.21 in transaction mode) sets it to false.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("prepare_threshold", 2)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not memory: browser tests serve the test database from a real ASGI server process.
    # One file per test run, so runs side by side don't share it.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")}
elif "TEST_DATABASE_NAME" in env:
    DATABASES["default"]["TEST"] = {"NAME": env.str("TEST_DATABASE_NAME")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: channel layer and cache -------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
# What this instance keeps in Redis (dashboard groups, cached sessions) is named under a prefix of
# its own database, so two plants or a test and a demo sharing one Redis never receive each other's
# deltas or accept each other's sessions. Processes of one instance must agree on it.
_database = DATABASES["default"]
REDIS_PREFIX = env.str(
    "REDIS_PREFIX",
    default=f"mes:{_database.get('NAME')}@{_database.get('HOST') or 'local'}:{_database.get('PORT') or ''}",
)

CHANNEL_SOCKET_TIMEOUT_SECONDS = env.float("CHANNEL_SOCKET_TIMEOUT_SECONDS", default=30.0)


def redis_channel_layer(url: str, *, prefix: str) -> dict:
    """The channels_redis layer as every process of the MES configures it: Redis publish/subscribe.

    A delta goes to every dashboard of its line. channels_redis' list-based layer stored a copy of
    it per dashboard, and each server process popped them one round trip at a time: with fifty
    dashboards on a line, fifty copies of every delta through Redis. Over publish/subscribe each
    server process subscribes once to a group its dashboards are in, receives one copy and hands
    it to them. What publish/subscribe does not keep (a message sent while a process was not
    connected) the dashboards recover: every delta carries its line's sequence number, and a gap,
    or the heartbeat's check of the sequences, has them read the snapshot again.
    """
    return {
        "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
        "CONFIG": {
            # The layer waits for messages in short polls, so an idle connection never sits on
            # its socket for long; the timeout only bounds a Redis that stopped answering.
            "hosts": [
                {
                    "address": url,
                    "socket_timeout": CHANNEL_SOCKET_TIMEOUT_SECONDS,
                    "socket_connect_timeout": 3,
                }
            ],
            "prefix": prefix,
        },
    }


if REDIS_URL:
    CHANNEL_LAYERS = {"default": redis_channel_layer(REDIS_URL, prefix=REDIS_PREFIX)}
    CACHES = {
        "default": {
            "BACKEND": "mes.cache.SharedPoolRedisCache",  # one connection pool per process
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": REDIS_PREFIX,
        }
    }
    # Sessions read from Redis and written through to the database: one query less per request.
    # Only with a cache every process shares; a per-process cache would keep a signed-out session.
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Celery -----------------------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_HIJACK_ROOT_LOGGER = False  # workers log through LOGGING below (JSON lines) too
# A task still running when the broker connection drops finishes and is acknowledged after the
# reconnect. Cancelling it instead (Celery's opt-in) can make the worker's main process die when
# the broker comes back (celery/celery#7185, #9250); the outbox leases and the beat sweep already
# make a repeat or a lost nudge harmless, so the worker is kept alive rather than the task cut short.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
# Redis as the broker: no blocking call waits forever on a connection the broker dropped without
# closing it, and an idle or stuck connection is checked and replaced within seconds.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": 3600,
    "socket_timeout": 10,
    "socket_connect_timeout": 3,
    "health_check_interval": 10,
}
CELERY_BROKER_CONNECTION_TIMEOUT = 3
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"

# --- ERP integration (the outbox and its delivery) ----------------------------------------------
# ERP_URL set: deliver there with ERP_CONNECTOR (json | b2mml). Unset: the active endpoint record
# (seed_demo points one at the fake ERP), else messages wait as pending on the console.
ERP_URL = env.str("ERP_URL", default="")
ERP_CONNECTOR = env.str("ERP_CONNECTOR", default="json")
ERP_AUTH_HEADER = env.str("ERP_AUTH_HEADER", default="")
ERP_TIMEOUT = env.float("ERP_TIMEOUT", default=10.0)
ERP_MAX_ATTEMPTS = env.int("ERP_MAX_ATTEMPTS", default=10)  # transport failures before a dead letter
ERP_BACKOFF_SECONDS = env.float("ERP_BACKOFF_SECONDS", default=2.0)  # first retry; doubles each time
ERP_BACKOFF_MAX_SECONDS = env.float("ERP_BACKOFF_MAX_SECONDS", default=600.0)
ERP_BATCH_SIZE = env.int("ERP_BATCH_SIZE", default=50)
ERP_SEND_CONCURRENCY = env.int("ERP_SEND_CONCURRENCY", default=8)  # requests in flight per batch
# Send a labor confirmation per operation when its labor closes (an ERP that books labor).
ERP_LABOR = env.bool("ERP_LABOR", default=False)
# A claimed batch must be answered within the lease, else the sweep sends it again (same key):
# keep it above ceil(batch / concurrency) * timeout.
ERP_LEASE_SECONDS = env.int("ERP_LEASE_SECONDS", default=120)
ERP_SWEEP_SECONDS = env.float("ERP_SWEEP_SECONDS", default=15.0)
ERP_NUDGE_TTL_SECONDS = env.int("ERP_NUDGE_TTL_SECONDS", default=5)
# The audit trail's history rows are sealed into its hash chain this often (mes.seal).
AUDIT_SEAL_SECONDS = env.float("AUDIT_SEAL_SECONDS", default=300.0)
CELERY_BEAT_SCHEDULE = {
    "outbox-sweep": {"task": "integration.sweep_outbox", "schedule": ERP_SWEEP_SECONDS},
    "audit-seal": {"task": "mes.seal_audit_trail", "schedule": AUDIT_SEAL_SECONDS},
    "report-jobs-sweep": {"task": "traceability.sweep_report_jobs", "schedule": 60.0},
}

# --- Auth -------------------------------------------------------------------------------------
AUTH_USER_MODEL = "mes.User"
AUTHENTICATION_BACKENDS = [
    "mes.auth.PermissionBackend",
    "mes.auth.BadgePinBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Desk sign-in with the plant's OpenID Connect provider (mes.identity), on when OIDC_OP_ISSUER is
# set; then the provider's endpoints and this client's id and secret are required too.
# OIDC_GROUP_ROLES maps provider groups to roles ("mes-operators=operator,mes-qa=quality"),
# OIDC_GROUP_SITES to site codes or * for every site ("plant1=PLANT1,corporate=*").
OIDC_OP_ISSUER = env.str("OIDC_OP_ISSUER", default="")
OIDC_ENABLED = bool(OIDC_OP_ISSUER)
OIDC_PROVIDER_NAME = env.str("OIDC_PROVIDER_NAME", default="your company account")
OIDC_OP_AUTHORIZATION_ENDPOINT = env.str("OIDC_OP_AUTHORIZATION_ENDPOINT", default="")
OIDC_OP_TOKEN_ENDPOINT = env.str("OIDC_OP_TOKEN_ENDPOINT", default="")
OIDC_OP_USER_ENDPOINT = env.str("OIDC_OP_USER_ENDPOINT", default="")
OIDC_OP_JWKS_ENDPOINT = env.str("OIDC_OP_JWKS_ENDPOINT", default="")
OIDC_RP_CLIENT_ID = env.str("OIDC_RP_CLIENT_ID", default="")
OIDC_RP_CLIENT_SECRET = env.str("OIDC_RP_CLIENT_SECRET", default="")
OIDC_RP_SIGN_ALGO = env.str("OIDC_RP_SIGN_ALGO", default="RS256")
OIDC_RP_SCOPES = env.str("OIDC_RP_SCOPES", default="openid email profile groups")
OIDC_GROUPS_CLAIM = env.str("OIDC_GROUPS_CLAIM", default="groups")
OIDC_GROUP_ROLES = env.dict("OIDC_GROUP_ROLES", default={})
OIDC_GROUP_SITES = env.dict("OIDC_GROUP_SITES", default={})
OIDC_ACTIVE_CLAIM = env.str("OIDC_ACTIVE_CLAIM", default="")  # a boolean claim; false deactivates
OIDC_USE_PKCE = True
OIDC_TIMEOUT = 10
OIDC_AUTHENTICATION_CALLBACK_URL = "oidc_authentication_callback"
if OIDC_ENABLED:
    _missing = [
        name
        for name in (
            "OIDC_OP_AUTHORIZATION_ENDPOINT",
            "OIDC_OP_TOKEN_ENDPOINT",
            "OIDC_OP_USER_ENDPOINT",
            "OIDC_OP_JWKS_ENDPOINT",
            "OIDC_RP_CLIENT_ID",
            "OIDC_RP_CLIENT_SECRET",
        )
        if not globals()[name]
    ]
    if _missing:
        raise ImproperlyConfigured(f"OIDC_OP_ISSUER is set, so these are needed too: {', '.join(_missing)}")
    AUTHENTICATION_BACKENDS.append("mes.identity.PlantIdentityBackend")
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
# Sign-in throttling, one for every way in (desk, admin, badge + PIN, API token, e-signature;
# mes.throttle): this many failures within the window refuse further attempts until the window
# has passed, per account (the username or badge entered), per client address and per tablet.
SIGN_IN_MAX_FAILURES = env.int("SIGN_IN_MAX_FAILURES", default=5)
SIGN_IN_MAX_FAILURES_PER_CLIENT = env.int("SIGN_IN_MAX_FAILURES_PER_CLIENT", default=20)
SIGN_IN_MAX_FAILURES_PER_TABLET = env.int("SIGN_IN_MAX_FAILURES_PER_TABLET", default=10)
SIGN_IN_FAILURE_WINDOW_SECONDS = env.int("SIGN_IN_FAILURE_WINDOW_SECONDS", default=300)
# The client address is REMOTE_ADDR. Behind reverse proxies that append to X-Forwarded-For, say how
# many: the address the outermost of them saw counts. Never set it without such proxies in front,
# or every client could name its own address.
SIGN_IN_TRUSTED_PROXIES = env.int("SIGN_IN_TRUSTED_PROXIES", default=0)
# A shared tablet signs its operator out after this much idle time; desk sessions last longer.
TABLET_IDLE_TIMEOUT_SECONDS = env.int("TABLET_IDLE_TIMEOUT_SECONDS", default=300)
DESK_IDLE_TIMEOUT_SECONDS = env.int("DESK_IDLE_TIMEOUT_SECONDS", default=8 * 3600)
TABLET_COOKIE_NAME = "mes_tablet"
TABLET_COOKIE_MAX_AGE = 365 * 24 * 3600

SESSION_COOKIE_AGE = DESK_IDLE_TIMEOUT_SECONDS
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# --- Security ---------------------------------------------------------------------------------
HTTPS = env.bool("HTTPS", default=False)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
if HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
# Without HTTPS (the embedded demo on 127.0.0.1) the TLS-only checks cannot apply. HSTS preload is
# a one-way commitment of the whole domain; a plant opts in with SECURE_HSTS_PRELOAD.
SILENCED_SYSTEM_CHECKS = [] if HTTPS else ["security.W004", "security.W008", "security.W012", "security.W016"]
if not (HTTPS and SECURE_HSTS_PRELOAD):
    SILENCED_SYSTEM_CHECKS.append("security.W021")

# --- Content-Security-Policy (django-csp 4) -------------------------------------------------------
# Pages run only the app's own scripts and styles (no inline script, style attribute or eval) and
# load nothing from another host, so injected markup can neither run nor call out. The websocket
# of the live dashboards is added per request by mes.csp (ws: or wss: of the page's own host).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

# --- API --------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["mes.permissions.ModelPermissions"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # Pages of at most 1,000 rows; a limit or offset out of range is refused (mes/pagination.py).
    "DEFAULT_PAGINATION_CLASS": "mes.pagination.BoundedLimitOffsetPagination",
    "PAGE_SIZE": 100,
    # List filters are declared as filter sets, so a value of the wrong type answers 400 naming it.
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    # DRF's parsers, refusing NUL characters, JSON nested too deep and numbers past 64 bits.
    "DEFAULT_PARSER_CLASSES": [
        "mes.parsers.JSONParser",
        "mes.parsers.FormParser",
        "mes.parsers.MultiPartParser",
    ],
    "EXCEPTION_HANDLER": "mes.api.exception_handler",
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "mes.renderers.SiteScopedBrowsableAPIRenderer",
    ],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Shop-floor MES API",
    "DESCRIPTION": "Work orders, production ledger, quality, traceability and ERP integration.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    # Swagger UI served by the app itself: plants often have no internet on the floor network.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Languages, static ------------------------------------------------------------------------
# The languages the screens speak, each named in itself: the tablet's language switch and the
# person's language setting show these names, so an operator finds their own language whatever
# the screen speaks now. The order is the switch's.
LANGUAGES = [
    ("en", "English"),
    ("de", "Deutsch"),
    ("es", "Español"),
    ("ar", "العربية"),
]
# The site default: a screen speaks it when neither the person, the tablet's switch nor the
# browser names one of LANGUAGES (mes.locale_middleware says the order).
LANGUAGE_CODE = env.str("LANGUAGE_CODE", default="en")
# Catalogs of templates/ and config/, and the one of every script in static/js (djangojs);
# each app keeps its own under <app>/locale/.
LOCALE_PATHS = [BASE_DIR / "locale"]
# The tablet sign-in screen's language switch keeps its choice in this cookie, for that screen
# (and a desk whose person has no language set); a person's language wins once they sign in.
LANGUAGE_COOKIE_NAME = "mes_language"
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
LANGUAGE_COOKIE_SAMESITE = "Lax"
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SECURE = HTTPS
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
# Numbers are shown with the language's decimal separator but without grouping: a quantity read
# off a screen can be typed back as it is (mes.forms.typed_decimal reads it).
USE_THOUSAND_SEPARATOR = False
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
# The camera's barcode decoder (ZXing's browser build, from package.json, installed by `make
# install`), served by the app as /static/vendor/zxing/: tablets on a plant network reach no CDN.
# Without npm it is absent: the camera button then says it cannot load, the keyboard scanner works.
ZXING_DIR = BASE_DIR / "node_modules" / "@zxing" / "browser" / "umd"
if ZXING_DIR.is_dir():
    STATICFILES_DIRS.append(("vendor/zxing", ZXING_DIR))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedStaticFilesStorage",
    },
}
# WhiteNoise streams files with a sync iterator; under ASGI Django says so on every file.
warnings.filterwarnings("ignore", message="StreamingHttpResponse must consume synchronous iterators")
# Serve static files straight from the apps as well, so the embedded mode needs no collectstatic.
WHITENOISE_USE_FINDERS = True
# Files browsers ask for at the site's root (/favicon.ico), served as they are.
WHITENOISE_ROOT = BASE_DIR / "static" / "root"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "var" / "media")
MEDIA_URL = "/media/"

# Logs: one JSON object per line (LOG_FORMAT=json, the default) for the plant's log collector, or
# plain text for a developer's console (LOG_FORMAT=text, as `make run` sets). Every line carries
# the request id, person, site and workstation of the request or task it belongs to.
LOG_FORMAT = env.str("LOG_FORMAT", default="json")
if LOG_FORMAT not in ("json", "text"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be json or text, not {LOG_FORMAT!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "mes.log_context.ContextFilter"}},
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "format": "%(levelname)s %(name)s %(message)s %(request_id)s %(user)s %(site)s %(workstation)s",
            "rename_fields": {"levelname": "level", "name": "logger"},
            "timestamp": "time",  # ISO 8601, UTC
        },
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["context"]}
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # One line per ERP request and per dashboard connection is noise: the outbox records every
        # delivery (state, age, last error) and /metrics counts the connections.
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
        "websockets": {"level": "WARNING"},
    },
}

# The ASGI server runs each HTTP request's middleware and view in one of this many threads per
# process (kept for the process's life). Keep it below DB_POOL_MAX: each thread holds at most one
# pooled connection during a request, and the live publishers take theirs from the same pool.
REQUEST_THREADS = env.int("REQUEST_THREADS", default=16)

# Live dashboards: after a delta, a line's next one waits at least this long, gathering what
# committed meanwhile (a lone change still leaves at once).
LIVE_DELTA_INTERVAL_SECONDS = env.float("LIVE_DELTA_INTERVAL_SECONDS", default=0.1)

# /metrics (Prometheus text format) answers a client sending `Authorization: Bearer <METRICS_TOKEN>`
# or from an address in METRICS_ALLOWED_NETWORKS. With PROMETHEUS_MULTIPROC_DIR set (the Procfile
# topology), every process of the machine counts into that directory and /metrics sums them.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
METRICS_ALLOWED_NETWORKS = env.list("METRICS_ALLOWED_NETWORKS", default=["127.0.0.1/32", "::1/128"])

# Machine data: the MQTT broker `manage.py ingest_mqtt` subscribes to and `simulate_line` publishes to.
MQTT_URL = env.str("MQTT_URL", default="mqtt://127.0.0.1:1883")
# The embedded demo (`make run`): the web server runs the line simulator itself, so the demo
# lines move and, with the in-memory channel layer, their deltas reach the dashboards at once.
# For one server process only; a plant's machines report through `ingest_mqtt` instead.
SIMULATE_LINES = env.bool("SIMULATE_LINES", default=False)

# The demo plant's own site code; exports and MQTT topics use it.
MES_DEFAULT_SITE = env.str("MES_DEFAULT_SITE", default="")

# GS1 company prefix for EPCIS exports' EPC URIs (traceability/reports/epcis.py); the default is the demo prefix of GS1's examples.
# Mail (dead-letter alerts): EMAIL_URL such as smtp+tls://user:password@mail.example.com:587;
# without it mail is printed to the console of the process that sends it.
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="mes@localhost")

GS1_COMPANY_PREFIX = env.str("GS1_COMPANY_PREFIX", default="4012345")

# The official B2MML and EPCIS schemas the tests validate exports against (kept beside the
# project, not in it); tests that need them skip, saying where they looked, when they are absent.
STANDARDS_DIR = env.path("MES_STANDARDS_DIR", default=BASE_DIR.parent / "shared" / "standards")
