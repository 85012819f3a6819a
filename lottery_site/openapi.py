"""Make the OpenAPI document tell the truth about the envelope.

drf-spectacular describes what a view returns; every response actually travels inside
``{code, msg, data}``, and any operation can answer with the error envelope. This hook wraps each
success schema and adds the error responses, so schemathesis can hold the API to its document.
"""

from lottery_site.errors import CATALOGUE

ERROR_SCHEMA_NAME = "ErrorEnvelope"

# Statuses any authenticated operation may answer with, whatever it does (503: the database was
# momentarily unreachable).
COMMON_ERROR_STATUSES = (
    "400",
    "401",
    "403",
    "404",
    "405",
    "406",
    "413",
    "415",
    "429",
    "500",
    "503",
)


def _error_envelope_schema() -> dict:
    codes = sorted(kind.code for kind in CATALOGUE.values())
    return {
        "type": "object",
        "required": ["code", "msg", "data"],
        "properties": {
            "code": {
                "type": "integer",
                "enum": codes,
                "description": "Stable error code; see docs/api.md for the catalogue.",
            },
            "msg": {"type": "string", "description": "For humans: Chinese, or English on request."},
            "data": {"description": "Field errors for 40000, else usually null.", "nullable": True},
        },
    }


def _success_envelope(data_schema: dict | None) -> dict:
    return {
        "type": "object",
        "required": ["code", "msg", "data"],
        "properties": {
            "code": {"type": "integer", "enum": [0]},
            "msg": {"type": "string"},
            "data": data_schema if data_schema is not None else {"nullable": True},
        },
    }


def envelope_postprocessing_hook(result, generator, request, public):
    components = result.setdefault("components", {})
    components.setdefault("schemas", {})[ERROR_SCHEMA_NAME] = _error_envelope_schema()
    error_ref = {"$ref": f"#/components/schemas/{ERROR_SCHEMA_NAME}"}
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            for status_code, response in list(responses.items()):
                if status_code.startswith("3"):
                    response.pop("content", None)  # a 304 has no body
                    continue
                if not status_code.startswith("2"):
                    # Views name their own refusals (409, 502...) by status; give them the shape.
                    response["content"] = {"application/json": {"schema": error_ref}}
                    continue
                content = response.setdefault("content", {})
                if content and "application/json" not in content:
                    continue  # a streamed download (text/plain): not enveloped
                media = content.setdefault("application/json", {})
                media["schema"] = _success_envelope(media.get("schema"))
            for status_code in COMMON_ERROR_STATUSES:
                responses.setdefault(
                    status_code,
                    {
                        "description": "Error envelope",
                        "content": {"application/json": {"schema": error_ref}},
                    },
                )
    return result


def error_responses(**descriptions: str) -> dict:
    """``@extend_schema(responses={..., **error_responses(r409="locked")})`` for a view's refusals."""
    from drf_spectacular.utils import OpenApiResponse

    return {int(key[1:]): OpenApiResponse(description=text) for key, text in descriptions.items()}
