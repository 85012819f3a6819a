"""schemathesis over the whole OpenAPI document: no 5xx, and every answer matches the document.

It runs the real CLI against a live server on loopback, authenticated as a real user, so what is
checked is exactly what a client would meet. A second pass sends what no generator derived from
the schema would: deeply nested and huge-number bodies (issue #10), through the same checks.
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from accounts.services import tokens_for
from tests.factories import UserFactory
from tests.fake_wechat import FakeWeChat

CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
    ]
)


# The stateful phase (sequences along the document's links) doubles the run on a 2-core machine.
@pytest.mark.timeout(900)
@pytest.mark.django_db(transaction=True)
def test_schemathesis_finds_no_server_error_and_no_schema_violation(
    live_server, tmp_path, settings
):
    fake_wechat = FakeWeChat().__enter__()
    settings.WECHAT_API_BASE = fake_wechat.url
    user = UserFactory()
    token = tokens_for(user)["access"]
    report = tmp_path / "report.json"
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "run",
        f"{live_server.url}/api/schema/?format=json",
        "--url",
        live_server.url,
        "--header",
        f"Authorization: Bearer {token}",
        "--checks",
        CHECKS,
        "--max-examples",
        os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "25"),
        # The stateful phase follows the document's links (POST /events -> the operations on
        # its id), so sequences such as create -> join -> draw are exercised, not only calls.
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--seed",
        "20261124",
        "--workers",
        "1",
        "--suppress-health-check",
        "all",
        # Deleting the account would end the run's user: every later call a 401.
        "--exclude-operation-id",
        "meDelete",
        "--report",
        "json",
        "--report-json-path",
        str(report),
        "--no-color",
    ]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    finally:
        fake_wechat.__exit__(None, None, None)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert json.loads(report.read_text()) is not None
    # Ran, not skipped for want of links (schemathesis marks a phase that ran and passed so).
    assert re.search(r"✅\s+Stateful", result.stdout), result.stdout[-3000:]


# Bodies no generator derived from the schema sends, raw (json.dumps could not even write most of
# them): nesting past the parser's recursion limit, numbers past float and int64 and past
# Python's digit limit. Each under API_MAX_BODY_BYTES, so each reaches the parser.
HOSTILE_BODIES = {
    "nested arrays": b"[" * 5000,
    "nested objects": b'{"a":' * 5000,
    "nested and closed": b"[" * 3000 + b"]" * 3000,
    "nested in an object": b'{"title": ' + b"[" * 5000 + b"}",
    "exponent past float": b'{"title": 1e999999, "code": -1e999999}',
    "60 KiB integer": b'{"code": ' + b"9" * 60_000 + b"}",
    "integer past int64": b'{"quantity": ' + b"9" * 40 + b"}",
}


@pytest.mark.django_db(transaction=True)
def test_schemathesis_sends_nested_and_huge_number_bodies_to_every_operation(live_server):
    """Every operation that takes a body, through schemathesis's own call and checks."""
    import schemathesis

    from tests.factories import EventFactory

    user = UserFactory()
    event_id = EventFactory(creator=user).public_id
    schema = schemathesis.openapi.from_url(f"{live_server.url}/api/schema/?format=json")
    headers = {
        "Authorization": f"Bearer {tokens_for(user)['access']}",
        "Content-Type": "application/json",
    }
    sent = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if not any(body.media_type == "application/json" for body in operation.body):
            continue  # the upload takes multipart only: its own hostile files, tests/test_uploads
        path_parameters = {parameter.name: event_id for parameter in operation.path_parameters}
        for name, body in HOSTILE_BODIES.items():
            case = operation.Case(path_parameters=path_parameters)
            response = case.call(base_url=live_server.url, headers=headers, data=body)
            assert response.status_code == 400, (operation.label, name, response.text[:200])
            case.validate_response(response, checks=_checks(schemathesis))
            sent += 1
    assert sent >= 8 * len(HOSTILE_BODIES)


def _checks(schemathesis) -> list:
    return [getattr(schemathesis.checks, name) for name in CHECKS.split(",")]
