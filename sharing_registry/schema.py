"""The OpenAPI schema class: drf-spectacular's, with every error answer documented and typed.

Kept apart from api.py: drf-spectacular imports rest_framework.generics, which reads api.py's pagination class.
Error bodies are named components (`Error`, `FieldErrors`), so a generated client reads a 409's `detail` as a typed
field, not an untyped dict.
"""

from typing import Any

from django.http import HttpRequest
from drf_spectacular.openapi import AutoSchema

ERROR: dict[str, Any] = {
    "type": "object",
    "description": "Why the request was refused, in plain English.",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}
FIELD_ERRORS = {
    "type": "object",
    "description": "Bad input: {field: [message]} for each field (a list of flows gives one object per flow, "
                   "keyed the same way), or {detail} when the body as a whole could not be read.",
    "additionalProperties": {
        "oneOf": [
            {"type": "array",
             "items": {"oneOf": [{"type": "string"}, {"type": "object", "additionalProperties": True}]}},
            {"type": "string"},
            {"type": "object", "additionalProperties": True},
        ],
    },
}
_ERROR_REF = {"$ref": "#/components/schemas/Error"}
_FIELD_ERRORS_REF = {"$ref": "#/components/schemas/FieldErrors"}
_ERRORS = {
    "400": ("Bad input: field errors, as {field: [message]}. Nothing was saved.", _FIELD_ERRORS_REF),
    "401": ("Not signed in: send `Authorization: Token <key>`.", _ERROR_REF),
    "403": ("Signed in, but this is not yours to see or do.", _ERROR_REF),
    "404": ("No such object visible to you (or no such page of a list).", _ERROR_REF),
    "409": ("The object is in the wrong state for this action (a lifecycle action from the wrong state).", _ERROR_REF),
    "413": ("The request body is too large.", _ERROR_REF),
    "415": ("The body is not JSON: send `Content-Type: application/json`.", _ERROR_REF),
    "429": ("Too many requests: wait the number of seconds in Retry-After.", _ERROR_REF),
    "503": ("The registry could not reach its database. Nothing was saved; try again.", _ERROR_REF),
}


class ErrorDocumentingAutoSchema(AutoSchema):
    """drf-spectacular's schema, with the error answers of docs/api.md documented on every operation.

    Outside tools (and the openapi-core check every API test runs) hold responses to the schema, so a 401, 404,
    415 or 429 must be in it, with a typed body.
    """

    def get_operation(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        unsafe = self.method in ("POST", "PUT", "PATCH", "DELETE")
        codes = ["401", "403", "429", "503"]
        if unsafe or operation.get("parameters"):
            codes.append("400")
        if unsafe:
            codes += ["409", "413", "415"]
        if "{" in self.path or self._is_list_view() or any(
            p.get("name") == "page" for p in operation.get("parameters", [])
        ):
            codes.append("404")
        responses = operation["responses"]
        for code in sorted(codes):
            description, schema = _ERRORS[code]
            answer = responses.setdefault(code, {"description": description})
            content = answer.setdefault("content", {"application/json": {"schema": schema}})
            json_body = content.get("application/json")
            if json_body is not None and not _typed(json_body.get("schema", {})):
                # `{403: {"description": ...}}` in an extend_schema reads as a schema with no type: give it ours.
                answer["description"] = json_body.get("schema", {}).get("description") or answer["description"]
                json_body["schema"] = schema
            if code == "429":
                answer.setdefault("headers", {"Retry-After": {
                    "schema": {"type": "integer"}, "description": "Seconds to wait before trying again.",
                }})
        return operation


def _typed(schema: dict) -> bool:
    return any(key in schema for key in ("type", "$ref", "oneOf", "anyOf", "allOf"))


def add_error_components(result: dict[str, Any], generator: Any, request: HttpRequest | None,
                         public: bool) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: the `Error` and `FieldErrors` components the error answers refer to."""
    from agreements.lifecycle import Refusal  # late: this module is loaded by DRF's settings, before the apps

    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    error = {**ERROR, "properties": {**ERROR["properties"], "code": {
        "type": "string", "enum": list(Refusal.values),
        "description": "Why a lifecycle action was refused, as a stable code (403 and 409), where there is one.",
    }}}
    schemas.setdefault("Error", error)
    schemas.setdefault("FieldErrors", FIELD_ERRORS)
    return result
