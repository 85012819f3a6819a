"""Settings for the lottery backend.

Everything that differs between machines comes from the environment; README.md lists every
variable with its default. With nothing configured the service runs on an embedded default
(a SQLite file, an in-process cache, a Celery broker on the local filesystem).
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("LOTTERY_VAR_DIR", BASE_DIR / "var"))

DEV_SECRET_KEY = "dev-insecure-lottery-secret-key-change-me-in-production-0123456789"  # noqa: S105


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    return int(value) if value.strip() else default


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG", False)
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", DEV_SECRET_KEY)
if not DEBUG and SECRET_KEY == DEV_SECRET_KEY:
    # Tokens signed with a published key can be forged by anyone: refuse to start.
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off (the development key is public)."
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
]

MIDDLEWARE = [
    "lottery_site.middleware.RequestIdMiddleware",
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
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            # utf8mb4: an emoji in a nickname or title must round-trip; strict mode: MySQL must
            # refuse, not truncate, a value that does not fit.
            "charset": "utf8mb4",
            "init_command": "SET sql_mode='STRICT_TRANS_TABLES', time_zone='+00:00'",
            "isolation_level": "read committed",
        }
    )
    DATABASES["default"]["TEST"] = {"CHARSET": "utf8mb4", "COLLATION": "utf8mb4_unicode_ci"}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

# --- Cache (also throttling and the Celery broker) ------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "lottery"),
            "OPTIONS": {
                "CLIENT_CLASS": "django_redis.client.DefaultClient",
                "SOCKET_CONNECT_TIMEOUT": 2,
                "SOCKET_TIMEOUT": 2,
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
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
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
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
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

# Request bodies: the API takes small JSON documents only.
API_MAX_BODY_BYTES = env_int("API_MAX_BODY_BYTES", 64 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

# --- Django REST framework ------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["accounts.authentication.CachedUserJWTAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["lottery_site.api.EnvelopeJSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["lottery_site.api.BoundedJSONParser"],
    "DEFAULT_PAGINATION_CLASS": "lottery_site.pagination.CursorPagination",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "lottery_site.api.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["lottery_site.throttling.UserRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "login": os.environ.get("THROTTLE_LOGIN_RATE", "120/min"),
        "user": os.environ.get("THROTTLE_USER_RATE", "600/min"),
        "public": os.environ.get("THROTTLE_PUBLIC_RATE", "300/min"),
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
    "VERSION": "1.0.0",
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
    CELERY_BROKER_TRANSPORT_OPTIONS = {}
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
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Periodic work is declared here, in code; DatabaseScheduler copies it into its tables.
# (LOTTERY_SWEEP_INTERVAL_SECONDS is defined below with the lottery rules.)

# --- Logging --------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "lottery_site.request_id.RequestIdLogFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"}
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# --- Lottery rules --------------------------------------------------------------------------
# An event locks (no more joins or edits) this long before its draw time.
LOTTERY_LOCK_LEAD_SECONDS = env_int("LOTTERY_LOCK_LEAD_SECONDS", 60)
# The earliest draw time allowed at creation, counted from now; and the latest.
LOTTERY_MIN_DRAW_LEAD_SECONDS = env_int("LOTTERY_MIN_DRAW_LEAD_SECONDS", 300)
LOTTERY_MAX_HORIZON_DAYS = env_int("LOTTERY_MAX_HORIZON_DAYS", 30)
# How often the sweeper looks for events to lock and draw.
LOTTERY_SWEEP_INTERVAL_SECONDS = env_int("LOTTERY_SWEEP_INTERVAL_SECONDS", 5)

CELERY_BEAT_SCHEDULE = {
    "draws.sweep": {
        "task": "draws.tasks.sweep",
        "schedule": float(LOTTERY_SWEEP_INTERVAL_SECONDS),
        # A tick nobody ran in time is useless: the next one sees the same due events.
        "options": {"expires": float(LOTTERY_SWEEP_INTERVAL_SECONDS)},
    },
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
