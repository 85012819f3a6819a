"""The OpenAPI document is what mini-program teams generate their client from: hold it to that.

Redocly's ``recommended`` ruleset checks it in CI (clients/miniprogram/ci.sh); these tests pin
the promises a generator and a mock server rely on, which no linter knows about.
"""

import re

import pytest
from django.test import Client

from lottery_site.errors import CATALOGUE

METHODS = {"get", "post", "put", "patch", "delete"}
PUBLIC = {
    "authLogin",
    "authRefresh",
    "authLogout",
    "eventProof",
    "eventWinners",
    "eventEntrants",
    "liveGet",
    "liveMessages",
    "liveProof",
    "configGet",
    "squareList",
    "wechatCallbackVerify",
    "wechatCallback",
}


@pytest.fixture(scope="module")
def schema():
    return Client().get("/api/schema/", HTTP_ACCEPT="application/json").json()


def operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


def test_every_operation_has_a_summary_and_a_camel_case_operation_id(schema):
    ids = []
    for path, method, operation in operations(schema):
        assert operation.get("summary"), (path, method)
        assert re.fullmatch(r"[a-z]+(?:[A-Z][a-z]+)+", operation["operationId"]), operation
        ids.append(operation["operationId"])
    assert len(ids) == len(set(ids))
    assert "eventJoin" in ids and "eventWithdraw" in ids


def test_public_operations_say_security_is_empty_and_others_name_the_token_once(schema):
    for _path, _method, operation in operations(schema):
        if operation["operationId"] in PUBLIC:
            assert operation["security"] == [], operation["operationId"]
        else:
            assert operation["security"] == [{"jwtAuth": []}], operation["operationId"]


def test_every_request_and_response_body_has_an_example(schema):
    for path, method, operation in operations(schema):
        for media in operation.get("requestBody", {}).get("content", {}).values():
            assert "example" in media or "examples" in media, (path, method)
        for status, response in operation["responses"].items():
            for media in response.get("content", {}).values():
                if media["schema"].get("format") == "binary":
                    continue  # a file (the claims' .xlsx): nothing a mock server could show
                assert "example" in media or "examples" in media, (path, method, status)


def test_every_cursor_paginated_list_declares_cursor_and_page_size(schema):
    for path, method, operation in operations(schema):
        data = operation["responses"].get("200", {}).get("content", {}).get("application/json")
        data_schema = (data or {}).get("schema", {}).get("properties", {}).get("data", {})
        ref = data_schema.get("$ref", "")
        is_page = ref.endswith("Page") or ref.endswith("/Inbox")
        names = {parameter.get("name") for parameter in operation.get("parameters", [])}
        if is_page:
            assert {"cursor", "page_size"} <= names, (path, method)


def test_status_and_draw_mode_are_enums_and_every_prize_reference_is_one_schema(schema):
    schemas = schema["components"]["schemas"]
    event = schemas["Event"]["properties"]
    assert event["status"]["$ref"].endswith("/StatusEnum")
    assert schemas["StatusEnum"]["enum"] == ["init", "opening", "opened", "canceled"]
    assert event["draw_mode"]["$ref"].endswith("/DrawModeEnum")
    assert schemas["Notification"]["properties"]["prize"]["anyOf"][0]["$ref"].endswith("/PrizeRef")
    assert schemas["Winner"]["properties"]["prize"]["$ref"].endswith("/PrizeRef")
    assert not [
        name for name in schemas if "Prize" in name and "Ref" in name and name != "PrizeRef"
    ]


def test_an_operation_lists_only_the_refusals_it_can_give(schema):
    join = schema["paths"]["/api/v1/events/{event_id}/entry"]["post"]["responses"]
    assert set(join) == {
        "200", "201", "400", "401", "403", "404", "409", "413", "414", "415", "429", "500", "503"
    }  # fmt: skip
    conflict = join["409"]["content"]["application/json"]["schema"]
    assert conflict["properties"]["code"]["enum"] == [40901, 40902, 40903]
    assert "40901" in join["409"]["content"]["application/json"]["examples"]
    me = schema["paths"]["/api/v1/me"]["get"]["responses"]
    assert "404" not in me and "409" not in me and "400" not in me


def _codes(response) -> set[int]:
    body = response["content"]["application/json"]["schema"]
    return {
        code
        for option in body.get("oneOf", [body])
        for code in option["properties"]["code"]["enum"]
    }


def test_the_privacy_consent_refusal_is_declared_where_the_gate_applies_and_only_there(schema):
    paths = schema["paths"]
    for path, method in [
        ("/api/v1/events/{event_id}/entry", "post"),
        ("/api/v1/me/notifications", "get"),
        ("/api/v1/me", "put"),
        ("/api/v1/uploads", "post"),
    ]:
        assert 40320 in _codes(paths[path][method]["responses"]["403"]), (path, method)
    for path, method in [
        ("/api/v1/me", "get"),
        ("/api/v1/me", "delete"),
        ("/api/v1/me/data", "get"),
        ("/api/v1/me/privacy-consent", "post"),
        ("/api/v1/events/{event_id}", "get"),
        ("/api/v1/events/{event_id}/entry", "delete"),
        ("/api/v1/events/{event_id}/winners", "get"),
        ("/api/v1/config", "get"),
    ]:
        forbidden = paths[path][method]["responses"].get("403")
        assert forbidden is None or 40320 not in _codes(forbidden), (path, method)
    refusal = paths["/api/v1/me/notifications"]["get"]["responses"]["403"]
    body = refusal["content"]["application/json"]["schema"]
    assert body["properties"]["data"]["required"] == ["version", "url"]


def test_public_lists_keep_the_user_shape_under_their_own_name(schema):
    schemas = schema["components"]["schemas"]
    assert schemas["PublicUser"]["properties"].keys() == schemas["User"]["properties"].keys()
    assert schemas["Winner"]["properties"]["user"]["$ref"].endswith("/PublicUser")


def test_error_data_is_typed_by_code(schema):
    create = schema["paths"]["/api/v1/events"]["post"]["responses"]
    shapes = {
        tuple(option["properties"]["code"]["enum"]): option["properties"]["data"]
        for option in create["400"]["content"]["application/json"]["schema"]["oneOf"]
    }
    assert shapes[(40000,)] == {"$ref": "#/components/schemas/FieldErrors"}
    assert next(shape for codes, shape in shapes.items() if 40001 in codes)["nullable"] is True
    assert shapes[(40050,)]["required"] == ["field"]  # WeChat's rule, named by the field
    throttled = create["429"]["content"]["application/json"]["schema"]["properties"]["data"]
    assert throttled["required"] == ["retry_after"]
    assert create["429"]["headers"]["Retry-After"]["$ref"].endswith("/Retry-After")


def test_every_code_in_the_document_is_in_the_catalogue(schema):
    known = {kind.code for kind in CATALOGUE.values()}
    for _path, _method, operation in operations(schema):
        for status, response in operation["responses"].items():
            if status[0] not in "45":
                continue
            body = response["content"]["application/json"]["schema"]
            for option in body.get("oneOf", [body]):
                codes = option["properties"]["code"]["enum"]
                assert set(codes) <= known
                assert {code // 100 for code in codes} == {int(status)}


def test_request_id_is_declared_on_every_operation_and_response(schema):
    for path, method, operation in operations(schema):
        refs = [parameter.get("$ref") for parameter in operation.get("parameters", [])]
        assert "#/components/parameters/X-Request-ID" in refs, (path, method)
        for response in operation["responses"].values():
            assert "X-Request-ID" in response["headers"], (path, method)


def test_created_event_links_to_every_operation_taking_its_id(schema):
    created = schema["paths"]["/api/v1/events"]["post"]["responses"]["201"]
    links = created["links"]
    assert {"eventGet", "eventJoin", "eventWithdraw", "eventProof", "eventDraw"} <= set(links)
    assert links["eventJoin"]["parameters"] == {"event_id": "$response.body#/data/id"}


def test_document_names_servers_and_a_license(schema):
    assert schema["servers"]
    assert schema["info"]["license"]["name"]
