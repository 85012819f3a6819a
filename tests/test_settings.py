"""Configuration: production safety and the proxy in front of us."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db
REPO = Path(__file__).resolve().parent.parent


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


def env_example_value(name: str) -> str:
    """A value as deploy/systemd/lottery.env.example has it, before anyone fills it in."""
    example = REPO / "deploy" / "systemd" / "lottery.env.example"
    for line in example.read_text().splitlines():
        if line.startswith(f"{name}=") or line.startswith(f"# {name}="):
            return line.split("=", 1)[1]
    raise AssertionError(f"{name} is not in {example}")


def test_service_refuses_to_start_on_the_env_examples_placeholder_key():
    placeholder = env_example_value("DJANGO_SECRET_KEY")
    assert placeholder.startswith("<") and len(placeholder) >= 50  # Django's own check passes it
    result = run_manage(
        "check",
        "--deploy",
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY=placeholder,
        DJANGO_ALLOWED_HOSTS="lottery.example.com",
    )
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr and "placeholder" in result.stderr


def test_service_refuses_the_examples_placeholder_jwt_key():
    result = run_manage(
        "check",
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY="k" * 10 + "a-long-random-production-secret-9f8e7d6c5b4a3210zyxwvu",
        JWT_SIGNING_KEY=env_example_value("JWT_SIGNING_KEY"),
    )
    assert result.returncode != 0 and "JWT_SIGNING_KEY" in result.stderr


@pytest.mark.parametrize(
    "placeholder", ["<50+ random characters>", "please-change-me-0123456789", "CHANGEME"]
)
def test_a_placeholder_key_is_a_system_check_error_even_in_debug(placeholder):
    result = run_manage("check", DJANGO_DEBUG="1", DJANGO_SECRET_KEY=placeholder)
    assert result.returncode != 0
    assert "lottery.E100" in result.stderr and "DJANGO_SECRET_KEY" in result.stderr


def test_the_development_key_passes_the_checks_in_debug_only(settings):
    from lottery_site.checks import signing_keys_are_not_public
    from lottery_site.secret_keys import DEV_SECRET_KEY

    settings.SECRET_KEY = DEV_SECRET_KEY
    settings.SIMPLE_JWT = {**settings.SIMPLE_JWT, "SIGNING_KEY": DEV_SECRET_KEY}
    settings.DEBUG = True
    assert signing_keys_are_not_public(None) == []
    settings.DEBUG = False
    assert {error.id for error in signing_keys_are_not_public(None)} == {"lottery.E100"}


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
