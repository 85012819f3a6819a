"""Configuration: production safety and the proxy in front of us."""

import os
import subprocess
import sys

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def run_manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "WECHAT_"))}
    environment.update(DJANGO_SETTINGS_MODULE="lottery_site.settings", **env)
    return subprocess.run(
        [sys.executable, "manage.py", *args], capture_output=True, text=True, env=environment
    )


def test_service_refuses_to_start_on_the_development_key_with_debug_off():
    result = run_manage("check", DJANGO_DEBUG="0")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_check_deploy_is_clean_for_the_documented_production_configuration():
    result = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY="k" * 10 + "a-long-random-production-secret-9f8e7d6c5b4a3210zyxwvu",
        DJANGO_ALLOWED_HOSTS="lottery.example.com",
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_https_forwarded_by_the_load_balancer_is_trusted_and_does_not_redirect(settings):
    settings.SECURE_SSL_REDIRECT = True
    plain = Client().get("/api/v1/me")
    forwarded = Client().get("/api/v1/me", HTTP_X_FORWARDED_PROTO="https")
    assert plain.status_code == 301 and plain["Location"].startswith("https://")
    assert forwarded.status_code == 401  # reached the API: no redirect loop


def test_health_checks_are_exempt_from_the_https_redirect(settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
    assert Client().get("/healthz").status_code == 200
