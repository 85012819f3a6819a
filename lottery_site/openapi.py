"""Make the OpenAPI document tell the whole truth, in a shape code generators like.

drf-spectacular describes what a view returns; this hook adds what it cannot see:

- every response travels inside ``{code, msg, data}``: success schemas are wrapped;
- each operation lists only the refusals it can give. Those that follow from its shape are added
  here (a JSON body can be malformed or too large, an ``{event_id}`` may not exist, a caller may
  lack a token, anyone may be throttled); those that follow from its rules are named by the view
  with ``refusals("event_locked", ...)``. Each status lists its codes, and each code's ``data`` is
  typed (the field map for 40000, ``{retry_after}`` for 42900);
- ``X-Request-ID`` (sent and echoed) and ``Retry-After`` headers, ``security: []`` on public
  operations, servers, a license;
- an example on every request and response body, built from the schema with realistic values
  (``EXAMPLES``), so a mock server answers with data a designer can lay out;
- links from ``POST /events`` to the operations taking its id, for schemathesis' stateful phase.

Redocly's ``recommended`` ruleset holds the result to 0 errors (clients/miniprogram/ci.sh).
"""

import copy
from typing import Any

from lottery_site.api import consent_exempt
from lottery_site.errors import CATALOGUE, ErrorKind

REFUSALS_KEY = "x-refusals"

# What every operation can answer, whatever it does: a URL too long, throttled, crashed, or the
# database was momentarily unreachable.
ALWAYS = ("uri_too_long", "throttled", "internal_error", "service_unavailable")
AUTHENTICATED = ("not_authenticated", "token_invalid", "user_inactive")
# Every authenticated operation but those its view exempts (accounts.permissions).
CONSENT = ("privacy_consent_required",)
JSON_BODY = ("invalid_input", "malformed_json", "payload_too_large", "unsupported_media_type")
QUERY = ("invalid_input",)
EVENT_PATH = ("event_not_found",)

# The operations that take the id of the event POST /events answers with.
EVENT_ID_PARAMETER = "event_id"
EVENT_CREATE_OPERATION = "eventCreate"


def refusals(*names: str) -> dict:
    """``@extend_schema(extensions=refusals("event_locked", ...))``: the errors a view's rules
    can give, by catalogue name. The hook turns them into responses; a typo fails at import."""
    for name in names:
        if name not in CATALOGUE:
            raise KeyError(f"unknown error name {name!r}")
    return {REFUSALS_KEY: list(names)}


def error_responses(**descriptions: str) -> dict:
    """``responses={..., **error_responses(r409="locked")}``: a refusal named by its status only.

    Every catalogue code of that status is then listed; prefer ``refusals`` (exact codes)."""
    from drf_spectacular.utils import OpenApiResponse

    return {int(key[1:]): OpenApiResponse(description=text) for key, text in descriptions.items()}


# --- shared components -------------------------------------------------------------------------

FIELD_ERRORS = {
    "type": "object",
    "description": (
        "Field name -> messages. A nested serializer nests the map; a list of objects gives "
        "one map per item (empty for valid items)."
    ),
    "additionalProperties": {
        "anyOf": [
            {"type": "array", "items": {"type": "string"}},
            {"type": "array", "items": {"$ref": "#/components/schemas/FieldErrors"}},
            {"$ref": "#/components/schemas/FieldErrors"},
        ]
    },
    "example": {
        "title": ["该字段是必填项。"],
        "prizes": [{}, {"quantity": ["请确保该值小于或者等于 1000。"]}],
    },
}

# ``data`` of an error, by code; codes not named here always carry null.
RETRY_AFTER = {
    "type": "object",
    "required": ["retry_after"],
    "properties": {
        "retry_after": {
            "type": "number",
            "description": "Seconds to wait; also sent as the Retry-After header.",
        }
    },
    "example": {"retry_after": 12.0},
}
FORBIDDEN_FIELD = {
    "type": "object",
    "required": ["field"],
    "properties": {
        "field": {"type": "string", "description": "the field that asked for what 5.1 forbids"}
    },
    "example": {"field": "require_follow"},
}
ERROR_DATA: dict[int, dict] = {
    40000: {"$ref": "#/components/schemas/FieldErrors"},
    # The fields whose upload id cannot be used, or whose text WeChat judged risky.
    40033: {"$ref": "#/components/schemas/FieldErrors"},
    40034: {"$ref": "#/components/schemas/FieldErrors"},
    40031: {
        "type": "object",
        "required": ["max_bytes"],
        "properties": {"max_bytes": {"type": "integer", "description": "UPLOAD_MAX_BYTES"}},
        "example": {"max_bytes": 5242880},
    },
    40032: {
        "type": "object",
        "required": ["max_pixels"],
        "properties": {"max_pixels": {"type": "integer", "description": "UPLOAD_MAX_PIXELS"}},
        "example": {"max_pixels": 40000000},
    },
    40020: {
        "type": "object",
        "required": ["accepted"],
        "properties": {
            "accepted": {
                "type": "array",
                "items": {"type": "string"},
                "description": "The template ids this server does not know.",
            }
        },
        "example": {"accepted": ["unknown-template-id"]},
    },
    40320: {
        "type": "object",
        "required": ["version", "url"],
        "properties": {
            "version": {"type": "string", "description": "The policy version to accept."},
            "url": {"type": "string", "description": "Where its text is."},
        },
        "example": {"version": "2026-12-01", "url": "https://lottery.example.com/privacy"},
    },
    40920: {
        "type": "object",
        "required": ["version"],
        "properties": {
            "version": {
                "type": "string",
                "description": 'The version in force ("": none, nothing to accept).',
            }
        },
        "example": {"version": "2026-12-01"},
    },
    # WeChat answered with an errcode (a refused or busy call): which one, for the logs.
    50200: {
        "type": "object",
        "nullable": True,
        "properties": {"errcode": {"type": "integer", "description": "WeChat's errcode"}},
        "example": {"errcode": 41030},
    },
    50300: {
        "type": "object",
        "nullable": True,
        "properties": {"errcode": {"type": "integer", "description": "WeChat's errcode"}},
        "example": {"errcode": 45009},
    },
    42900: RETRY_AFTER,
    # Wrong passwords, answers or group data: the window's end.
    42920: RETRY_AFTER,
    # WeChat's rule (运营规范 5.1) a field of the body asked to break: the field.
    **dict.fromkeys((40050, 40051, 40052, 40053), FORBIDDEN_FIELD),
    # The risk gate's automated decision, stated.
    40332: {
        "type": "object",
        "required": ["rank", "threshold"],
        "properties": {
            "rank": {"type": "integer", "description": "WeChat's risk rank of the caller, 0-4"},
            "threshold": {"type": "integer", "description": "the event refuses from this rank"},
        },
        "example": {"rank": 3, "threshold": 2},
    },
}
NULL_DATA = {"type": "object", "nullable": True, "description": "Always null for these codes."}

HEADERS = {
    "X-Request-ID": {
        "description": "The request's id: the one sent when it was sane, else a new one. Quote it "
        "when reporting a problem; it is in the server's logs.",
        "schema": {"type": "string", "pattern": "^[A-Za-z0-9._-]{1,64}$"},
        "example": "5f0c1a9e2b7d4c3e8a6f1b2c3d4e5f60",
    },
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "schema": {"type": "integer", "minimum": 0},
        "example": 12,
    },
}
REQUEST_ID_PARAMETER = {
    "name": "X-Request-ID",
    "in": "header",
    "required": False,
    "description": "An id for this request (letters, digits, `._-`, at most 64), echoed in the "
    "response and written in the server's logs; the SDK sends a fresh one per call.",
    "schema": {"type": "string", "pattern": "^[A-Za-z0-9._-]{1,64}$"},
    "example": "mp-1732980000000-7f3a",
}

# --- examples ----------------------------------------------------------------------------------

# Values by property name, then by component: what a mock server shows a designer.
EXAMPLE_VALUES: dict[str, Any] = {
    "id": "e_7Kq2xPzM",
    "event_id": "e_7Kq2xPzM",
    "title": "年会抽奖：iPad 与京东卡",
    "description": "公司年会现场抽奖，人人可参与。",
    "draw_mode": "time",
    "target_participants": None,
    "commitment": "9c56cc51b374c3ba189210d5b6d4bf57790d351c96c47c02190ecf1e430635ab",
    "created_at": "2026-12-01T10:00:00+08:00",
    "committed_at": "2026-12-01T10:00:00+08:00",
    "draw_at": "2026-12-24T20:00:00+08:00",
    "lock_at": "2026-12-24T19:59:00+08:00",
    "drawn_at": "2026-12-24T20:00:02+08:00",
    "joined_at": "2026-12-02T09:30:00+08:00",
    "up_to": "2026-12-24T21:00:00+08:00",
    "status": "init",
    "participant_count": 128,
    "entrant_count": 128,
    "cancel_reason": "",
    "reason": "",
    "nickname": "小王",
    "avatar_url": "https://thirdwx.qlogo.cn/mmopen/vi_32/avatar.png",
    "code": "0a3Xz1000Xy1aB2c3D4e5F6g7H8i9j0k",
    "access": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ0b2tlbl90eXBlIjoiYWNjZXNzIn0.sig",
    "refresh": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ0b2tlbl90eXBlIjoicmVmcmVzaCJ9.sig",
    "created": False,
    "joined": True,
    "name": "iPad Air",
    "quantity": 1,
    "next": "cD0yMDI2LTEyLTAyKzA5JTNBMzAlM0EwMA==",
    "unread_count": 2,
    "kind": "result",
    "won": True,
    "read": False,
    "entrants": None,
    "winners": None,
    "unawarded": None,
    "algorithm": "sha256-ctr-fisher-yates-v1",
    "entrants_digest": "3a7bd3e2360a3d29eea436fcfb7e44c735d117c42d1c1835420b6b9942dd4f1b",
    "seed": "b1946ac92492d2347c6235b4d2611184b1946ac92492d2347c6235b4d2611184",
    "entrants_url": "/api/v1/events/e_7Kq2xPzM/entrants",
    "winners_url": "/api/v1/events/e_7Kq2xPzM/winners",
    "accepted": ["hG7aX0a1b2c3d4e5f6g7h8i9j0kLmNoPqRsTuVwXyZ"],
    "quota": {"hG7aX0a1b2c3d4e5f6g7h8i9j0kLmNoPqRsTuVwXyZ": 1},
    "role": "joined",
    "msg": "ok",
}
# Overrides inside one component, where the name alone is ambiguous.
COMPONENT_EXAMPLE_VALUES: dict[str, dict[str, Any]] = {
    "User": {"id": "u_3mT9cQ2w", "nickname": "小王"},
    "Me": {"id": "u_3mT9cQ2w", "nickname": "小王"},
    "Prize": {"id": "p_Hx81LmQa", "name": "iPad Air"},
    "PrizeRef": {"id": "p_Hx81LmQa", "name": "iPad Air"},
    "PrizeInput": {"name": "iPad Air", "quantity": 1},
    "NotificationEvent": {"id": "e_7Kq2xPzM", "title": "年会抽奖：iPad 与京东卡"},
    "Notification": {"id": "n_41"},
    "Proof": {"status": "opened"},
    # A placeholder that passes the phone pattern and the postal code's length; no real person.
    "AddressInput": {"name": "张三", "phone": "13800000000", "postal_code": "000000"},
    "Address": {
        "name": "张三",
        "phone": "13800000000",
        "province": "广东省",
        "city": "广州市",
        "county": "天河区",
        "detail": "<street and number>",
        "postal_code": "000000",
    },
    "ClaimRow": {"id": "c_0123456789abcdef", "state": "claimed", "carrier": "", "code": ""},
    # Two choices at least, the answer one of them.
    "QuestionInput": {"text": "本店的招牌菜是？", "choices": ["宫保鸡丁", "麻婆豆腐"], "answer": 1},
    "ConditionsInput": {"password": "芝麻开门"},
}


def _example(schema: dict, components: dict, *, name: str | None = None, depth: int = 0) -> Any:
    """A value valid against ``schema``, from EXAMPLE_VALUES where a property is known."""
    if depth > 24:
        return None
    if "$ref" in schema:
        ref_name = schema["$ref"].rsplit("/", 1)[-1]
        target = components.get(ref_name, {})
        if "example" in target:
            return copy.deepcopy(target["example"])
        return _example(target, components, name=ref_name, depth=depth + 1)
    if "example" in schema:
        return copy.deepcopy(schema["example"])
    if schema.get("enum") == [None]:
        return None
    for combinator in ("allOf", "oneOf", "anyOf"):
        if combinator in schema:
            return _example(schema[combinator][0], components, name=name, depth=depth + 1)
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "array":
        return [_example(schema.get("items", {}), components, depth=depth + 1)]
    if kind == "object" or "properties" in schema:
        overrides = COMPONENT_EXAMPLE_VALUES.get(name or "", {})
        result = {}
        for prop, prop_schema in schema.get("properties", {}).items():
            if prop in overrides:
                result[prop] = copy.deepcopy(overrides[prop])
            elif prop in EXAMPLE_VALUES and _fits(EXAMPLE_VALUES[prop], prop_schema, components):
                result[prop] = copy.deepcopy(EXAMPLE_VALUES[prop])
            else:
                result[prop] = _example(prop_schema, components, depth=depth + 1)
        if not result and isinstance(schema.get("additionalProperties"), dict):
            return {"key": _example(schema["additionalProperties"], components, depth=depth + 1)}
        return result
    if kind == "integer":
        return max(schema.get("minimum", 1), 1)
    if kind == "number":
        return 1.5
    if kind == "boolean":
        return True
    if kind == "string":
        return {
            "date-time": "2026-12-24T20:00:00+08:00",
            "uri": "https://example.com/a.png",
        }.get(schema.get("format", ""), "string")
    return None


def _fits(value: Any, schema: dict, components: dict) -> bool:
    """A cheap check that a named value suits the property (a null only where nullable)."""
    if len(schema.get("allOf", ())) == 1:  # a described enum: allOf [its $ref]
        return _fits(value, schema["allOf"][0], components)
    if "$ref" in schema:
        schema = components.get(schema["$ref"].rsplit("/", 1)[-1], {})
    if value is None:
        return bool(schema.get("nullable"))
    if "enum" in schema:
        return value in schema["enum"]
    expected = {
        "string": str,
        "integer": int,
        "boolean": bool,
        "array": list,
        "object": dict,
        "number": (int, float),
    }.get(schema.get("type", ""))
    return expected is None or isinstance(value, expected)


# Examples of the downloads that are text; a binary one (an .xlsx) has none to show.
DOWNLOAD_EXAMPLES = {
    "text/plain": "u_3mT9cQ2w\nu_8Jd0aPq1\n",
    "text/csv": "user,prize,state,deadline,name,phone,province,city,county,detail,postal_code,"
    "code,carrier,tracking_number,claimed_at,shipped_at\n",
}


# --- the hook -----------------------------------------------------------------------------------


def _success_envelope(data_schema: dict | None) -> dict:
    return {
        "type": "object",
        "required": ["code", "msg", "data"],
        "properties": {
            "code": {"type": "integer", "enum": [0]},
            "msg": {"type": "string"},
            "data": data_schema
            if data_schema is not None
            else {"type": "object", "nullable": True, "description": "Always null."},
        },
    }


def _error_schema(kinds: list[ErrorKind]) -> dict:
    """One status's error envelope: one alternative per shape of ``data``."""
    by_shape: dict[int | None, list[int]] = {}
    for kind in kinds:
        by_shape.setdefault(kind.code if kind.code in ERROR_DATA else None, []).append(kind.code)
    alternatives = []
    for shape, codes in by_shape.items():
        alternatives.append(
            {
                "type": "object",
                "required": ["code", "msg", "data"],
                "properties": {
                    "code": {"type": "integer", "enum": sorted(codes)},
                    "msg": {"type": "string", "description": "For people: Chinese, or English."},
                    "data": ERROR_DATA[shape] if shape is not None else NULL_DATA,
                },
            }
        )
    alternatives.sort(key=lambda schema: schema["properties"]["code"]["enum"][0])
    return alternatives[0] if len(alternatives) == 1 else {"oneOf": alternatives}


def _error_example(kind: ErrorKind, components: dict) -> dict:
    data = _example(ERROR_DATA[kind.code], components) if kind.code in ERROR_DATA else None
    return {"code": kind.code, "msg": kind.zh, "data": data}


def _error_response(status: str, kinds: list[ErrorKind], description: str, components) -> dict:
    kinds = sorted(kinds, key=lambda kind: kind.code)
    codes = ", ".join(f"`{kind.code}` {kind.en}" for kind in kinds)
    response: dict = {
        "description": f"{description}: {codes}" if description else codes,
        "headers": {"X-Request-ID": {"$ref": "#/components/headers/X-Request-ID"}},
        "content": {
            "application/json": {
                "schema": _error_schema(kinds),
                "examples": {
                    str(kind.code): {
                        "summary": kind.en,
                        "value": _error_example(kind, components),
                    }
                    for kind in kinds
                },
            }
        },
    }
    if status in ("429",):
        response["headers"]["Retry-After"] = {"$ref": "#/components/headers/Retry-After"}
    return response


def _implied_refusals(path: str, operation: dict, *, consent: bool) -> list[str]:
    names = list(ALWAYS)
    if operation.get("security"):
        names += AUTHENTICATED
        if consent:
            names += CONSENT
    if "requestBody" in operation:
        names += JSON_BODY
    if any(param.get("in") == "query" for param in operation.get("parameters", [])):
        names += QUERY
    if "{" + EVENT_ID_PARAMETER + "}" in path:
        names += EVENT_PATH
    return names


def _normalise_security(operation: dict) -> None:
    """One requirement once (the setting and the authenticator both add it); public: []."""
    unique: list[dict] = []
    for requirement in operation.get("security", []):
        if requirement and requirement not in unique:
            unique.append(requirement)
    operation["security"] = unique


def _operation_errors(path: str, operation: dict, components: dict, *, consent: bool) -> None:
    responses = operation["responses"]
    declared = {status: r for status, r in responses.items() if status[0] in "45"}
    implied = _implied_refusals(path, operation, consent=consent)
    names = implied + operation.pop(REFUSALS_KEY, [])
    by_status: dict[str, list[ErrorKind]] = {}
    for name in names:
        kind = CATALOGUE[name]
        kinds = by_status.setdefault(str(kind.status), [])
        if kind not in kinds:
            kinds.append(kind)
    for status in declared:
        # A status named by error_responses(rNNN=...): every code of that status.
        kinds = by_status.setdefault(status, [])
        for kind in CATALOGUE.values():
            if str(kind.status) == status and kind not in kinds:
                kinds.append(kind)
    for status in declared:
        del responses[status]
    for status in sorted(by_status):
        description = declared.get(status, {}).get("description", "")
        responses[status] = _error_response(status, by_status[status], description, components)


def _success_responses(operation: dict, components: dict) -> None:
    for status, response in operation["responses"].items():
        if status.startswith("3"):
            response.pop("content", None)  # a 304 Not Modified has no body
            response.setdefault("headers", {})["X-Request-ID"] = {
                "$ref": "#/components/headers/X-Request-ID"
            }
        if not status.startswith("2"):
            continue
        response.setdefault("headers", {})["X-Request-ID"] = {
            "$ref": "#/components/headers/X-Request-ID"
        }
        if not response.get("description"):
            response["description"] = "Created" if status == "201" else "OK"
        content = response.setdefault("content", {})
        if content and "application/json" not in content:
            for kind, media in content.items():  # a download (text, a file): not enveloped
                if kind in DOWNLOAD_EXAMPLES:
                    media.setdefault("example", DOWNLOAD_EXAMPLES[kind])
            continue
        media = content.setdefault("application/json", {})
        media["schema"] = _success_envelope(media.get("schema"))
        if "examples" in media:  # a view's own (OpenApiExample): its value is what it returns
            for example in media["examples"].values():
                example["value"] = {"code": 0, "msg": "ok", "data": example.get("value")}
        else:
            media["example"] = _example(media["schema"], components)


def _request_body(operation: dict, components: dict) -> None:
    body = operation.get("requestBody")
    if not body:
        return
    content = body["content"]
    # The API reads JSON only (form encodings drf-spectacular may list are refused with 415),
    # but for the upload, which takes multipart alone, as wx.uploadFile sends it.
    kind = "application/json" if "application/json" in content else "multipart/form-data"
    body["content"] = {kind: content[kind]}
    media = body["content"][kind]
    if "examples" not in media:
        media["example"] = _example(media["schema"], components)


def _links(paths: dict) -> None:
    """POST /events answers with the new event: every operation on ``{event_id}`` may follow."""
    targets = {}
    for path, item in paths.items():
        if "{" + EVENT_ID_PARAMETER + "}" not in path:
            continue
        for operation in item.values():
            if isinstance(operation, dict) and "operationId" in operation:
                targets[operation["operationId"]] = operation["operationId"]
    for item in paths.values():
        for operation in item.values():
            if (
                isinstance(operation, dict)
                and operation.get("operationId") == EVENT_CREATE_OPERATION
            ):
                response = operation["responses"]["201"]
                response["links"] = {
                    target: {
                        "operationId": target,
                        "parameters": {EVENT_ID_PARAMETER: "$response.body#/data/id"},
                        "description": f"The new event's id as `{EVENT_ID_PARAMETER}`.",
                    }
                    for target in sorted(targets)
                }


def _component_name(name: str) -> str:
    """``EventOutput`` -> ``Event``, ``LoginInputRequest`` -> ``LoginInput``: the names a
    generated client shows its users, without our serializer naming habits."""
    if name.endswith("InputRequest"):
        return name.removesuffix("Request")
    return name.removesuffix("Output") or name


def _rename_components(result: dict) -> None:
    schemas = result.get("components", {}).get("schemas", {})
    renames = {}
    for name in list(schemas):
        new = _component_name(name)
        if new != name and new not in schemas and new not in renames.values():
            renames[name] = new
    for old, new in renames.items():
        schemas[new] = schemas.pop(old)
    prefix = "#/components/schemas/"

    def walk(node):
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith(prefix) and ref[len(prefix) :] in renames:
                node["$ref"] = prefix + renames[ref[len(prefix) :]]
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(result)
    result["components"]["schemas"] = dict(sorted(schemas.items()))


NULL_ONLY = {"type": "object", "nullable": True, "enum": [None], "description": "null"}


def _type_nullables(node: Any, schemas: dict) -> None:
    """OpenAPI 3.0 reads ``nullable`` only next to a ``type``, and validators read
    ``{allOf: [$ref], nullable: true}`` (drf-spectacular's nullable nested serializer) as never
    null. Write it as "the schema, or null", which every tool reads alike."""
    if isinstance(node, dict):
        if node.get("nullable") and "type" not in node:
            alternatives = node.pop("allOf", None) or node.pop("oneOf", None)
            node.pop("nullable")
            if alternatives:
                node["anyOf"] = [*alternatives, NULL_ONLY]
            else:
                node.update(type="object", nullable=True)
        for value in node.values():
            _type_nullables(value, schemas)
    elif isinstance(node, list):
        for value in node:
            _type_nullables(value, schemas)


def _consent_gated(generator) -> set[tuple[str, str]]:
    """(path, method) of the operations the privacy consent gate applies to."""
    gated = set()
    for path, _regex, method, callback in getattr(generator, "endpoints", None) or []:
        view = getattr(callback, "cls", None)
        if view is not None and not consent_exempt(view, method.upper()):
            gated.add((path, method.lower()))
    return gated


def envelope_postprocessing_hook(result, generator, request, public):
    gated = _consent_gated(generator)
    _rename_components(result)
    _type_nullables(result, result.get("components", {}).get("schemas", {}))
    info = result.setdefault("info", {})
    info.setdefault("license", {"name": "Proprietary", "url": "https://example.com/license"})
    result["servers"] = [{"url": "/", "description": "This server (paths start with /api/v1)."}]
    components = result.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas["FieldErrors"] = FIELD_ERRORS
    components["headers"] = copy.deepcopy(HEADERS)
    components.setdefault("parameters", {})["X-Request-ID"] = REQUEST_ID_PARAMETER
    for path, path_item in result.get("paths", {}).items():
        for method, operation in path_item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            _normalise_security(operation)
            # DRF's ?format= override, listed by drf-spectacular where a view has two renderers:
            # clients negotiate with Accept, and a value DRF does not know is a plain 404.
            operation["parameters"] = [
                parameter
                for parameter in operation.get("parameters", [])
                if not (parameter.get("in") == "query" and parameter.get("name") == "format")
            ]
            operation["parameters"].append({"$ref": "#/components/parameters/X-Request-ID"})
            _request_body(operation, schemas)
            _success_responses(operation, schemas)
            _operation_errors(path, operation, schemas, consent=(path, method) in gated)
    _links(result.get("paths", {}))
    return result
