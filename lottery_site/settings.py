"""Settings for the lottery backend.

Everything that differs between machines comes from the environment; README.md lists every
variable with its default. With nothing configured the service runs on an embedded default
(a SQLite file, an in-process cache, a Celery broker on the local filesystem).
"""

import json
import os
import re
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from lottery_site.logs import logging_config
from lottery_site.secret_keys import DEV_SECRET_KEY, is_placeholder, is_public

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("LOTTERY_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    return int(value) if value.strip() else default


def env_float(name: str, default: float) -> float:
    value = os.environ.get(name, "")
    return float(value) if value.strip() else default


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG", False)
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", DEV_SECRET_KEY)
if not DEBUG and is_public(SECRET_KEY):
    # Tokens signed with a published key can be forged by anyone: refuse to start. With debug on,
    # a placeholder is a system check error instead (lottery_site/checks.py).
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY must be your own random value when DJANGO_DEBUG is off: the development"
        " key and the examples' placeholders (<...>, change-me) are public."
        ' Make one with: python3 -c "import secrets; print(secrets.token_urlsafe(50))"'
    )
if not DEBUG and is_public(os.environ.get("JWT_SIGNING_KEY", SECRET_KEY)):
    raise ImproperlyConfigured(
        "JWT_SIGNING_KEY is a placeholder (<...>, change-me): set your own random value or unset it."
    )

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "lottery_site",
    "accounts",
    "events",
    "draws",
    "notifications",
    "live",
]

MIDDLEWARE = [
    # Outermost, so a request's time covers every other middleware (lottery_site/metrics.py).
    "lottery_site.metrics.HttpMetricsMiddleware",
    "lottery_site.middleware.RequestIdMiddleware",
    # Before anything that validates the Host header: Prometheus scrapes the private address.
    "lottery_site.middleware.MetricsBeforeHostCheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "lottery_site.middleware.ApiGuardMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "lottery_site.urls"
WSGI_APPLICATION = "lottery_site.wsgi.application"
# The websockets (live draws) run in their own ASGI process (bin/serve-live, uvicorn); the API
# stays on gunicorn. The routes are named here, as the URL root names the apps' URLs.
ASGI_APPLICATION = "lottery_site.asgi.application"
LIVE_WEBSOCKET_ROUTES = "live.routing.websocket_urlpatterns"

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
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {
        "default": dj_database_url.parse(
            DATABASE_URL,
            conn_max_age=env_int("DB_CONN_MAX_AGE", 600),
            # A ping before each request's first query costs a round trip on every request; a
            # connection lost meanwhile (database restart) fails one request with a 503 and is
            # then replaced. MariaDB's wait_timeout (8 h) is far above DB_CONN_MAX_AGE.
            conn_health_checks=env_bool("DB_CONN_HEALTH_CHECKS", False),
        )
    }
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "lottery.sqlite3",
            # Web, worker and beat share the file: wait for a writer instead of failing at once.
            "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE"},
        }
    }

if DATABASES["default"]["ENGINE"] == "django.db.backends.mysql":
    from MySQLdb.constants import CLIENT

    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            # utf8mb4: an emoji in a nickname or title must round-trip; strict mode: MySQL must
            # refuse, not truncate, a value that does not fit.
            "charset": "utf8mb4",
            "init_command": "SET sql_mode='STRICT_TRANS_TABLES', time_zone='+00:00'",
            "isolation_level": "read committed",
            # FOUND_ROWS is Django's own (an UPDATE's row count is the rows it matched, which
            # conditional transitions rely on).
            "client_flag": CLIENT.FOUND_ROWS,
            # mysqlclient lets every connection send several statements at once unless told
            # not to: only the join's own connection may (events/join_sql.py says why).
            "multi_statements": False,
        }
    )
    DATABASES["default"]["TEST"] = {"CHARSET": "utf8mb4", "COLLATION": "utf8mb4_unicode_ci"}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

# --- Cache (also throttling and the Celery broker) ------------------------------------------
# Redis is an accelerator, not a dependency of every request: requests use it for what they can
# do without (lottery_site.redis_breaker). Once a call fails, Redis is skipped for
# REDIS_BREAKER_SECONDS; a call never waits longer than these timeouts for it.
REDIS_URL = os.environ.get("REDIS_URL", "")
REDIS_CONNECT_TIMEOUT = env_float("REDIS_CONNECT_TIMEOUT", 0.1)
REDIS_SOCKET_TIMEOUT = env_float("REDIS_SOCKET_TIMEOUT", 0.5)
REDIS_BREAKER_SECONDS = env_float("REDIS_BREAKER_SECONDS", 5)
# Each process pushes its throttle counts to Redis (and takes back everyone's) this often.
THROTTLE_SYNC_SECONDS = env_float("THROTTLE_SYNC_SECONDS", 1)
# A ban (is_active=False, however written) reaches every API process within this bound.
AUTH_BAN_CHECK_SECONDS = env_float("AUTH_BAN_CHECK_SECONDS", 1)
# Access tokens each process remembers as verified, until their expiry (0: verify every time).
AUTH_TOKEN_MEMO_SIZE = env_int("AUTH_TOKEN_MEMO_SIZE", 10000)
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "lottery"),
            "OPTIONS": {
                "CLIENT_CLASS": "django_redis.client.DefaultClient",
                "SOCKET_CONNECT_TIMEOUT": REDIS_CONNECT_TIMEOUT,
                "SOCKET_TIMEOUT": REDIS_SOCKET_TIMEOUT,
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Passwords (staff only; mini-program users log in through WeChat) -----------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Language and time ----------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = os.environ.get("TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

# --- Static files: served by the app itself (WhiteNoise), also with DEBUG off ---------------
STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("DJANGO_STATIC_ROOT", VAR_DIR / "static"))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# --- Uploaded pictures ("media"): var/media, or an S3-compatible bucket ----------------------
MEDIA_URL = os.environ.get("MEDIA_URL", "/media/")
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
# Where the public reads pictures from (a CDN or the bucket's public domain), e.g.
# "https://img.example.com/"; empty: the storage's own URL, made absolute with the request's host.
MEDIA_PUBLIC_BASE_URL = os.environ.get("MEDIA_PUBLIC_BASE_URL", "")
MEDIA_S3_BUCKET = os.environ.get("MEDIA_S3_BUCKET", "")


def media_storage_config(env) -> dict:
    """The "media" storage from environment variables: an S3-compatible bucket when
    MEDIA_S3_BUCKET is set (Tencent COS, Aliyun OSS, MinIO and AWS all speak S3; django-storages
    talks to any of them), else the folder MEDIA_ROOT."""
    if not env.get("MEDIA_S3_BUCKET"):
        return {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(MEDIA_ROOT), "base_url": MEDIA_URL},
        }
    return {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env["MEDIA_S3_BUCKET"],
            "endpoint_url": env.get("MEDIA_S3_ENDPOINT_URL") or None,
            "access_key": env.get("MEDIA_S3_ACCESS_KEY_ID") or None,
            "secret_key": env.get("MEDIA_S3_SECRET_ACCESS_KEY") or None,
            "region_name": env.get("MEDIA_S3_REGION") or None,
            "addressing_style": env.get("MEDIA_S3_ADDRESSING_STYLE") or None,
            # Pictures are public and their names unguessable: plain URLs, no signatures that
            # expire inside a client's cache; a name is never reused, so never overwritten.
            "querystring_auth": False,
            "file_overwrite": False,
            # Empty: the bucket's policy makes objects public (AWS disables ACLs by default).
            "default_acl": env.get("MEDIA_S3_ACL") or None,
            "object_parameters": {"CacheControl": "public, max-age=31536000, immutable"},
        },
    }


if not MEDIA_S3_BUCKET:
    MEDIA_ROOT.mkdir(parents=True, exist_ok=True)

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "media": media_storage_config(os.environ),
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- Security behind the TLS-terminating load balancer --------------------------------------
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    # Probes and the Prometheus scraper talk to gunicorn directly on the private network.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", True)
    SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# How many proxies of ours sit in front of gunicorn, each appending to X-Forwarded-For (nginx
# alone: 1). 0 ignores the header: the client is REMOTE_ADDR. lottery_site/client_ip.py.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)

# Request bodies: the API takes small JSON documents only, except POST /api/v1/uploads.
API_MAX_BODY_BYTES = env_int("API_MAX_BODY_BYTES", 64 * 1024)
# URLs (path and query): longer is a 414 in the envelope. gunicorn reads request lines up to
# 8190 bytes (lottery_site/gunicorn_conf.py) and nginx up to 8 KiB (large_client_header_buffers'
# default), so every URL above this limit and below theirs is refused by us, in the envelope.
API_MAX_URL_BYTES = env_int("API_MAX_URL_BYTES", 4096)
if not 1024 <= API_MAX_URL_BYTES <= 8000:
    raise ImproperlyConfigured("API_MAX_URL_BYTES must be between 1024 and 8000")
# A picture: at most this many bytes and pixels (width x height, checked from the header before
# any pixel is decoded: a small file can claim to be a huge image).
UPLOAD_MAX_BYTES = env_int("UPLOAD_MAX_BYTES", 5 * 1024 * 1024)
UPLOAD_MAX_PIXELS = env_int("UPLOAD_MAX_PIXELS", 40_000_000)
# An upload nobody referenced (avatar, cover, prize) within this long is deleted by the sweeper.
UPLOAD_UNATTACHED_TTL_SECONDS = env_int("UPLOAD_UNATTACHED_TTL_SECONDS", 24 * 3600)
UPLOAD_SWEEP_INTERVAL_SECONDS = env_int("UPLOAD_SWEEP_INTERVAL_SECONDS", 3600)
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

# --- Django REST framework ------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["accounts.authentication.CachedUserJWTAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        # After IsAuthenticated: a policy accepted, when PRIVACY_POLICY_VERSION is set.
        "accounts.permissions.PrivacyConsented",
    ],
    "DEFAULT_RENDERER_CLASSES": ["lottery_site.api.EnvelopeJSONRenderer"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "lottery_site.api.ContentNegotiation",
    "DEFAULT_PARSER_CLASSES": ["lottery_site.api.BoundedJSONParser"],
    "DEFAULT_PAGINATION_CLASS": "lottery_site.pagination.CursorPagination",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "lottery_site.api.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["lottery_site.throttling.UserRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "login": os.environ.get("THROTTLE_LOGIN_RATE", "120/min"),
        "user": os.environ.get("THROTTLE_USER_RATE", "600/min"),
        "public": os.environ.get("THROTTLE_PUBLIC_RATE", "300/min"),
        "upload": os.environ.get("THROTTLE_UPLOAD_RATE", "30/hour"),
    },
    "UNAUTHENTICATED_USER": None,
    # For any DRF code that reads the client address itself; ours calls client_ip().
    "NUM_PROXIES": TRUSTED_PROXY_COUNT,
    "DATETIME_FORMAT": "iso-8601",
    "PAGE_SIZE": 20,
}

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(seconds=env_int("JWT_ACCESS_LIFETIME_SECONDS", 2 * 3600)),
    "REFRESH_TOKEN_LIFETIME": timedelta(
        seconds=env_int("JWT_REFRESH_LIFETIME_SECONDS", 30 * 24 * 3600)
    ),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": False,
    "ALGORITHM": "HS256",
    "SIGNING_KEY": os.environ.get("JWT_SIGNING_KEY", SECRET_KEY),
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "uid",
    "AUTH_HEADER_TYPES": ("Bearer",),
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Lottery mini-program API",
    "DESCRIPTION": (
        "Every response is a JSON envelope `{code, msg, data}`; `code` is 0 on success. "
        "See docs/api.md for the error catalogue."
    ),
    # The API's version, semver: also in GET /config (api_version). A breaking change of the
    # document needs a new major, an addition a new minor (clients/miniprogram/ci.sh compares
    # the document with the last release's); CHANGELOG.md says what changed.
    "VERSION": "1.2.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "lottery_site.openapi.envelope_postprocessing_hook",
    ],
    "SECURITY": [{"jwtAuth": []}],
    # An event's status and phase share one enum (else drf-spectacular names it twice).
    "ENUM_NAME_OVERRIDES": {
        "StatusEnum": "events.serializers.STATUS_CHOICES",
        "MyClaimStateEnum": "events.serializers.MY_CLAIM_STATES",
        "ClaimStateEnum": "events.claim_serializers.CLAIM_STATES",
        "ExclusionReasonEnum": "events.serializers.EXCLUSION_REASONS",
        "CreatorExclusionReasonEnum": "events.serializers.CREATOR_EXCLUSION_REASONS",
        # Two fields are called ``kind``: the inbox's keeps the name the API has had since 1.0.0.
        "KindEnum": "notifications.serializers.KINDS",
        "ConditionKindEnum": "events.conditions.KINDS",
        "PurposeEnum": "accounts.serializers.CLIENT_UPLOAD_PURPOSES",
        "UploadPurposeEnum": "accounts.serializers.UPLOAD_PURPOSES",
        "ConsentSourceEnum": "accounts.serializers.CONSENT_SOURCES",
        "LiveRoundStatusEnum": "live.serializers.ROUND_STATUSES",
        "LivePhaseEnum": "live.serializers.PHASES",
        "LiveMessageTypeEnum": "live.serializers.MESSAGE_TYPES",
    },
}

# --- WeChat ---------------------------------------------------------------------------------
WECHAT_APP_ID = os.environ.get("WECHAT_APP_ID", "")
WECHAT_APP_SECRET = os.environ.get("WECHAT_APP_SECRET", "")
WECHAT_API_BASE = os.environ.get("WECHAT_API_BASE", "https://api.weixin.qq.com").rstrip("/")
WECHAT_CONNECT_TIMEOUT = float(os.environ.get("WECHAT_CONNECT_TIMEOUT", "2"))
WECHAT_READ_TIMEOUT = float(os.environ.get("WECHAT_READ_TIMEOUT", "5"))
# Development login (any code -> a stable openid) exists only with DEBUG on and no app id.
WECHAT_DEV_LOGIN = DEBUG and not WECHAT_APP_ID

# --- Celery ---------------------------------------------------------------------------------
if REDIS_URL:
    CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", REDIS_URL)
    # Publishing to a dead broker must fail fast, not retry the connection for ever (kombu's
    # default): the web answers anyway and the sweepers queue what was lost (lottery_site.queue).
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "socket_connect_timeout": REDIS_CONNECT_TIMEOUT,
        "socket_timeout": max(REDIS_SOCKET_TIMEOUT, 1.0),  # a hung Redis, not a refused one
        "max_retries": 1,
        "interval_start": 0,
        "interval_step": 0.1,
        "interval_max": 0.1,
    }
else:
    # No server needed: web, worker and beat exchange messages through a local folder.
    # kombu's filesystem transport with atomic writes (lottery_site/broker.py).
    CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "lotteryfs://")
    _broker_dir = VAR_DIR / "broker"
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_TIMEOUT = max(REDIS_CONNECT_TIMEOUT, 0.1)
# Workers and beat outlive a Redis outage and reconnect when it returns (the default gives up
# after 100 tries).
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 15 * 60)
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 14 * 60)
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_EAGER_PROPAGATES = True
# Celery logs through LOGGING (one format, UTC), not a handler of its own on the root logger.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Periodic work is declared here, in code; DatabaseScheduler copies it into its tables.
# (LOTTERY_SWEEP_INTERVAL_SECONDS is defined below with the lottery rules.)

# --- Metrics (lottery_site/metrics.py) ------------------------------------------------------
# /metrics answers only a request bearing this token; unset, it answers 404 (metrics off).
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")
if is_placeholder(METRICS_TOKEN):
    # deploy/systemd/lottery.env.example's "<...>" copied as it was: a token anyone can read.
    raise ImproperlyConfigured(
        "METRICS_TOKEN is still a placeholder (<...>, change-me): set your own random value "
        "(and the same in Prometheus's credentials_file), or remove it to turn /metrics off."
    )

# --- Logging --------------------------------------------------------------------------------
# lottery_site/logs.py: UTC timestamps, the request's context on every line, secrets redacted.
# The same configuration serves the Celery worker and beat (lottery_site/celery.py) and gunicorn's
# own lines (lottery_site/gunicorn_conf.py).
LOG_FORMAT = os.environ.get("LOG_FORMAT", "plain").strip().lower() or "plain"
LOGGING_CONFIG = "lottery_site.logs.configure"
LOGGING = logging_config(log_format=LOG_FORMAT, level=os.environ.get("LOG_LEVEL", "INFO"))

# --- Lottery rules --------------------------------------------------------------------------
# An event locks (no more joins or edits) this long before its draw time.
LOTTERY_LOCK_LEAD_SECONDS = env_int("LOTTERY_LOCK_LEAD_SECONDS", 60)
# The earliest draw time allowed at creation, counted from now; and the latest.
LOTTERY_MIN_DRAW_LEAD_SECONDS = env_int("LOTTERY_MIN_DRAW_LEAD_SECONDS", 300)
LOTTERY_MAX_HORIZON_DAYS = env_int("LOTTERY_MAX_HORIZON_DAYS", 30)
# How often the sweeper looks for events to lock and draw.
LOTTERY_SWEEP_INTERVAL_SECONDS = env_int("LOTTERY_SWEEP_INTERVAL_SECONDS", 5)

# The entrant and prize digests are public at least this long before the seed is revealed
# (docs/fairness.md), in every draw mode and however late the sweeper runs.
LOTTERY_REVEAL_GAP_SECONDS = env_int("LOTTERY_REVEAL_GAP_SECONDS", 10)

# --- Entry conditions and anti-fraud (events/conditions.py, events/fraud.py) -----------------
# Wrong passwords, answers or group data: at most this many per user and event in each window
# (counted like the throttles: in the process, pushed to Redis at each wrong attempt).
ENTRY_ATTEMPTS_LIMIT = env_int("ENTRY_ATTEMPTS_LIMIT", 5)
ENTRY_ATTEMPTS_WINDOW_SECONDS = env_int("ENTRY_ATTEMPTS_WINDOW_SECONDS", 600)
# The creator's flags: at least FRAUD_SHARED_NETWORK_MIN entrants joining from one address
# within FRAUD_SHARED_NETWORK_SECONDS of each other; an account created less than
# FRAUD_NEW_ACCOUNT_MINUTES before it joined.
FRAUD_SHARED_NETWORK_MIN = env_int("FRAUD_SHARED_NETWORK_MIN", 3)
FRAUD_SHARED_NETWORK_SECONDS = env_int("FRAUD_SHARED_NETWORK_SECONDS", 10)
FRAUD_NEW_ACCOUNT_MINUTES = env_int("FRAUD_NEW_ACCOUNT_MINUTES", 10)
# The signals behind those flags (a join's network key and risk rank, an exclusion's network
# key) are blanked this many days after the event was drawn or canceled, by the claims sweep
# (events.services.retention, docs/privacy.md). After the draw they serve a creator
# disqualifying a fake winner; 90 days outlast the longest claim window (30) and a few
# alternates' windows after it.
FRAUD_SIGNAL_ERASE_AFTER_DAYS = env_int("FRAUD_SIGNAL_ERASE_AFTER_DAYS", 90)
# A ban through the service takes the user's entries out of open events at once; this sweep
# catches bans written any other way (a shell, a data migration).
BAN_SWEEP_INTERVAL_SECONDS = env_int("BAN_SWEEP_INTERVAL_SECONDS", 60)

# --- The public square (events/square.py) ----------------------------------------------------
# Each process re-sorts the square (and pushes its join counts to Redis) at most this often: a
# newly public event appears, and the hot order moves, within it. Events that leave (canceled,
# hidden, locked, drawn) leave at once: every page is checked against the database.
SQUARE_REFRESH_SECONDS = env_float("SQUARE_REFRESH_SECONDS", 5)
# An event's public part (the detail's and the square card's) is rendered once per process and
# revision (events.read_model); a change of the creator's nickname or avatar, which moves no
# revision, shows within this.
EVENT_PUBLIC_TTL_SECONDS = env_float("EVENT_PUBLIC_TTL_SECONDS", 60)
# ``hot`` counts the joins of this many hours (whole hours: the current one and those before).
SQUARE_HOT_WINDOW_HOURS = env_int("SQUARE_HOT_WINDOW_HOURS", 24)
# The hourly join counts in Redis are recounted from the entries table at least this often.
SQUARE_REBUILD_SECONDS = env_int("SQUARE_REBUILD_SECONDS", 3600)

# --- Public randomness beacon (drand, docs/fairness.md) --------------------------------------
# Unset DRAND_URLS or DRAND_CHAIN_HASH: no beacon (a closed network). Only events created then
# are drawn without one, and their detail and proof say so from creation.
DRAND_URLS = env_list("DRAND_URLS")
# The chain: its hash, or "quicknet" / "mainnet" (the League of Entropy's, built in with their
# public keys, beacon/drand.py). Any other must be described in DRAND_CHAINS.
DRAND_CHAIN_HASH = os.environ.get("DRAND_CHAIN_HASH", "")
# Extra chains: a JSON list of drand /info documents; each hash is recomputed and checked.
DRAND_CHAINS = json.loads(os.environ.get("DRAND_CHAINS") or "[]")
# Optional: when set, each must agree with the pinned chain (a guard against a wrong config).
DRAND_PUBLIC_KEY = os.environ.get("DRAND_PUBLIC_KEY", "")
DRAND_SCHEME = os.environ.get("DRAND_SCHEME", "")
DRAND_PERIOD_SECONDS = env_int("DRAND_PERIOD_SECONDS", 0) or None
DRAND_GENESIS_TIME = env_int("DRAND_GENESIS_TIME", 0) or None
# A draw never goes ahead without its named round: it waits. Past this after the round's time
# the operator is alerted (lottery_beacon_overdue, LotteryBeaconOverdue).
DRAND_MAX_WAIT_SECONDS = env_int("DRAND_MAX_WAIT_SECONDS", 600)
DRAND_TIMEOUT_SECONDS = env_int("DRAND_TIMEOUT_SECONDS", 5)

# --- Live draws on the big screen (live/, docs/live.md) ---------------------------------------
# The channel layer tells every websocket process that an event's log has a new message: Redis
# when REDIS_URL is set, else each process on its own (in-memory), the ticks carrying the rest.
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                # A reader blocks up to 5 s (channels_redis's BZPOPMIN): its socket must wait
                # longer (redis-py 8's default read timeout cut it at 5 s, a receive failing
                # every 5 s); a pool that runs out raises at once, hence a large one.
                "hosts": [
                    {
                        "address": REDIS_URL,
                        "socket_timeout": 30,
                        "socket_connect_timeout": max(REDIS_CONNECT_TIMEOUT, 1.0),
                        "max_connections": env_int("LIVE_REDIS_MAX_CONNECTIONS", 2000),
                    }
                ],
                "prefix": f"{os.environ.get('CACHE_KEY_PREFIX', 'lottery')}:asgi",
                "expiry": 30,
                "capacity": 1000,
            },
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
# Each websocket process reads each watched event's log at least this often (and at once when
# told), and turns the joins since into one message while the event is open.
LIVE_TICK_SECONDS = env_float("LIVE_TICK_SECONDS", 0.5)
# A socket that reconnects further behind than this many messages gets a snapshot instead.
LIVE_REPLAY_MAX = env_int("LIVE_REPLAY_MAX", 500)
# The sweeper that draws locked rounds whose task was lost (beat).
LIVE_SWEEP_INTERVAL_SECONDS = env_int("LIVE_SWEEP_INTERVAL_SECONDS", 2)
# Where the big screen opens its websocket: unset, its own origin (nginx sends /ws/ to the live
# process); a port, the page's host on that port (make run: the live process's LIVE_PORT).
LIVE_WS_PORT = os.environ.get("LIVE_WS_PORT", "")

CELERY_BEAT_SCHEDULE = {
    "live.sweep": {
        "task": "live.tasks.sweep",
        "schedule": float(LIVE_SWEEP_INTERVAL_SECONDS),
        "options": {"expires": float(LIVE_SWEEP_INTERVAL_SECONDS)},
    },
    "draws.sweep": {
        "task": "draws.tasks.sweep",
        "schedule": float(LOTTERY_SWEEP_INTERVAL_SECONDS),
        # A tick nobody ran in time is useless: the next one sees the same due events.
        "options": {"expires": float(LOTTERY_SWEEP_INTERVAL_SECONDS)},
    },
}

CELERY_BEAT_SCHEDULE["events.banned_entries_sweep"] = {
    "task": "events.tasks.banned_entries_sweep",
    "schedule": float(BAN_SWEEP_INTERVAL_SECONDS),
    "options": {"expires": float(BAN_SWEEP_INTERVAL_SECONDS)},
}

# --- Notifications (WeChat subscribe messages) ----------------------------------------------


def env_template(prefix: str, default_fields: str) -> dict:
    """``<prefix>_ID`` and ``<prefix>_FIELDS`` ("our_field=template_key,...") -> a template."""
    pairs = (item.split("=", 1) for item in env_list(f"{prefix}_FIELDS", default_fields))
    return {
        "id": os.environ.get(f"{prefix}_ID", "").strip(),
        "fields": {ours.strip(): key.strip() for ours, key in pairs},
    }


# One template for draw results (entrants and the creator's summary), one for cancellations.
# An empty id switches that kind of WeChat message off (the in-app inbox still shows it).
NOTIFY_TEMPLATES = {
    "result": env_template("WECHAT_RESULT_TEMPLATE", "title=thing1,result=thing2,draw_at=time3"),
    "cancel": env_template(
        "WECHAT_CANCEL_TEMPLATE", "title=thing1,reason=thing2,canceled_at=time3"
    ),
    # A winner's prize was shipped (events.claims): carrier and tracking number.
    "shipped": env_template(
        "WECHAT_SHIPPED_TEMPLATE",
        "title=thing1,prize=thing2,carrier=thing3,tracking_number=character_string4",
    ),
}
# The mini-program page a message opens; {event_id} is the event's public id.
NOTIFY_PAGE = os.environ.get("WECHAT_MESSAGE_PAGE", "pages/event/detail?id={event_id}")
# formal | trial | developer: which build of the mini-program the message opens.
NOTIFY_MINIPROGRAM_STATE = os.environ.get("WECHAT_MINIPROGRAM_STATE", "formal")
NOTIFY_BATCH_SIZE = env_int("NOTIFY_BATCH_SIZE", 100)
NOTIFY_MAX_ATTEMPTS = env_int("NOTIFY_MAX_ATTEMPTS", 6)
NOTIFY_RETRY_BASE_SECONDS = env_int("NOTIFY_RETRY_BASE_SECONDS", 30)
NOTIFY_SWEEP_INTERVAL_SECONDS = env_int("NOTIFY_SWEEP_INTERVAL_SECONDS", 5)
# A queued batch whose task got lost (worker killed) is queued again after this long.
NOTIFY_REQUEUE_SECONDS = env_int("NOTIFY_REQUEUE_SECONDS", 120)

CELERY_BEAT_SCHEDULE["notifications.sweep"] = {
    "task": "notifications.tasks.sweep",
    "schedule": float(NOTIFY_SWEEP_INTERVAL_SECONDS),
    "options": {"expires": float(NOTIFY_SWEEP_INTERVAL_SECONDS)},
}

CELERY_BEAT_SCHEDULE["accounts.sweep_uploads"] = {
    "task": "accounts.tasks.sweep_uploads",
    "schedule": float(UPLOAD_SWEEP_INTERVAL_SECONDS),
    "options": {"expires": float(UPLOAD_SWEEP_INTERVAL_SECONDS)},
}

# --- Sharing: the mini-program code of an event (wxacode.getUnlimited) ----------------------
# check_path: WeChat refuses a page the published mini-program does not have (turn off before
# the first release). The code opens the build NOTIFY_MINIPROGRAM_STATE names.
WECHAT_CODE_CHECK_PATH = env_bool("WECHAT_CODE_CHECK_PATH", True)

# --- Content security (WeChat msg_sec_check / media_check_async) ----------------------------
# Text others will read and uploaded pictures go through WeChat's checks. Off by default (dev,
# tests); the production configuration in the README turns it on.
WECHAT_CONTENT_CHECK = env_bool("WECHAT_CONTENT_CHECK", False)
# When msg_sec_check does not answer: "refuse" the write (503), or "accept" it and mark the
# object for the periodic re-check (moderation.recheck).
WECHAT_CONTENT_CHECK_ON_ERROR = os.environ.get("WECHAT_CONTENT_CHECK_ON_ERROR", "refuse")
if WECHAT_CONTENT_CHECK_ON_ERROR not in {"refuse", "accept"}:
    raise ImproperlyConfigured("WECHAT_CONTENT_CHECK_ON_ERROR must be refuse or accept")
# The message-push ("server URL") settings of the mini-program: the token signs every callback;
# the EncodingAESKey (43 characters) is set when the push uses the safe (encrypted) mode.
WECHAT_CALLBACK_TOKEN = os.environ.get("WECHAT_CALLBACK_TOKEN", "")
WECHAT_CALLBACK_AES_KEY = os.environ.get("WECHAT_CALLBACK_AES_KEY", "")
if WECHAT_CALLBACK_AES_KEY and not re.fullmatch(r"[A-Za-z0-9+/]{43}", WECHAT_CALLBACK_AES_KEY):
    # 43 base64 characters (the console's are letters and digits): the AES key and IV. A typo
    # would otherwise refuse every push as if WeChat had encrypted it wrongly.
    raise ImproperlyConfigured("WECHAT_CALLBACK_AES_KEY must be the 43-character EncodingAESKey")
# A push's timestamp may be this far from our clock (either way); its nonce is remembered as
# long, and the same timestamp and nonce again is a replay (docs/api.md, "The WeChat callback").
WECHAT_CALLBACK_MAX_SKEW_SECONDS = env_int("WECHAT_CALLBACK_MAX_SKEW_SECONDS", 300)
if WECHAT_CALLBACK_MAX_SKEW_SECONDS < 1:
    raise ImproperlyConfigured("WECHAT_CALLBACK_MAX_SKEW_SECONDS must be at least 1")
# Shown instead of a picture WeChat judged risky (absolute, or a path on this host).
MODERATION_PLACEHOLDER_URL = os.environ.get(
    "MODERATION_PLACEHOLDER_URL", "/static/moderation/removed.png"
)
# The absolute URL WeChat downloads pictures from, when media URLs are paths (filesystem
# storage without MEDIA_PUBLIC_BASE_URL): e.g. https://api.example.com
SITE_URL = os.environ.get("SITE_URL", "").rstrip("/")
MODERATION_RECHECK_INTERVAL_SECONDS = env_int("MODERATION_RECHECK_INTERVAL_SECONDS", 300)
CELERY_BEAT_SCHEDULE["events.recheck_content"] = {
    "task": "events.tasks.recheck_content",
    "schedule": float(MODERATION_RECHECK_INTERVAL_SECONDS),
    "options": {"expires": float(MODERATION_RECHECK_INTERVAL_SECONDS)},
}
# --- Prize claims (events.claims) -----------------------------------------------------------
# Comma-separated Fernet keys: the first encrypts, all decrypt (rotate by putting a new key
# first, then `manage.py claims_reencrypt`). Empty: with DJANGO_DEBUG on a development key is
# derived from SECRET_KEY; with it off the claim endpoints answer 503 claims_unavailable.
CLAIM_ENCRYPTION_KEYS = env_list("CLAIM_ENCRYPTION_KEYS", "")
# Winners' addresses and phones are blanked this many days after their claim closed.
CLAIM_ERASE_AFTER_DAYS = env_int("CLAIM_ERASE_AFTER_DAYS", 30)
CLAIM_SWEEP_INTERVAL_SECONDS = env_int("CLAIM_SWEEP_INTERVAL_SECONDS", 300)
CELERY_BEAT_SCHEDULE["events.claims_sweep"] = {
    "task": "events.tasks.claims_sweep",
    "schedule": float(CLAIM_SWEEP_INTERVAL_SECONDS),
    "options": {"expires": float(CLAIM_SWEEP_INTERVAL_SECONDS)},
}
# The reminder sweep looks at events drawn this many days back at most (the longest window).
CLAIM_MAX_DAYS_LOOKBACK = 31
# A prize unit passes to the next alternate of the draw's order (claim window passed, winner
# disqualified) at most this many times; after that it is recorded as unawarded.
LOTTERY_MAX_SUBSTITUTIONS = env_int("LOTTERY_MAX_SUBSTITUTIONS", 3)

# --- People's data (docs/privacy.md) ----------------------------------------------------------
# The privacy policy in force: its version (any short label, e.g. "2026-12-01") and its URL,
# both shown in GET /config. Empty version (the default): consent is recorded when a client
# sends one but never required. Set it and every signed-in call but reading public pages, /me,
# /me/data, account deletion and accepting the policy answers 403 40320 until the user accepted
# this version (at login, or POST /me/privacy-consent). Changing it asks everyone again.
PRIVACY_POLICY_VERSION = os.environ.get("PRIVACY_POLICY_VERSION", "").strip()
PRIVACY_POLICY_URL = os.environ.get("PRIVACY_POLICY_URL", "").strip()
if len(PRIVACY_POLICY_VERSION) > 32:
    raise ImproperlyConfigured("PRIVACY_POLICY_VERSION is at most 32 characters")
# A deleted winner's promotion record (event, prize, draw date, a pseudonym) is kept this many
# days after the draw: 规范促销行为暂行规定 keeps prize records two years.
PRIVACY_PROMOTION_RECORD_DAYS = env_int("PRIVACY_PROMOTION_RECORD_DAYS", 730)
# The key of the pseudonym in promotion records (an HMAC of the WeChat openid); empty: one
# derived from SECRET_KEY. Keep it stable: a new key cannot match old records to a person.
PRIVACY_PSEUDONYM_KEY = os.environ.get("PRIVACY_PSEUDONYM_KEY", "")
# How often the privacy sweep finishes account erasures a crash interrupted.
PRIVACY_SWEEP_INTERVAL_SECONDS = env_int("PRIVACY_SWEEP_INTERVAL_SECONDS", 3600)
CELERY_BEAT_SCHEDULE["accounts.privacy_sweep"] = {
    "task": "accounts.tasks.privacy_sweep",
    "schedule": float(PRIVACY_SWEEP_INTERVAL_SECONDS),
    "options": {"expires": float(PRIVACY_SWEEP_INTERVAL_SECONDS)},
}
