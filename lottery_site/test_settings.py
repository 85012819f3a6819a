"""Settings for the test suite: the real ones, with test-only defaults set first.

DATABASE_URL and REDIS_URL are honoured (CI sets both to the real MariaDB and Redis); without
them the suite runs on the embedded default.
"""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-secret-key-not-used-anywhere-else-0123456789")
os.environ.setdefault("DJANGO_DEBUG", "0")
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")
os.environ.setdefault("DJANGO_SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("CACHE_KEY_PREFIX", "lottery-test")
os.environ.setdefault("WECHAT_APP_ID", "wx-test-app")
os.environ.setdefault("WECHAT_APP_SECRET", "test-app-secret")
os.environ.setdefault("WECHAT_API_BASE", "https://wechat.test")
# Task bodies run inline when their on_commit hook fires; tests about the worker start a real one.
os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "1")
# Most tests lock and draw in one step; tests/test_draw_fairness.py sets the reveal gap itself.
os.environ.setdefault("LOTTERY_REVEAL_GAP_SECONDS", "0")
os.environ.setdefault(
    "LOTTERY_VAR_DIR", os.path.join(os.path.dirname(__file__), "..", "var", "test")
)

from lottery_site.settings import *  # noqa: E402, F403

STORAGES = {  # noqa: F405
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
