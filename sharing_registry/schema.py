"""The OpenAPI schema class: drf-spectacular's, with every error answer documented.

Kept apart from api.py: drf-spectacular imports rest_framework.generics, which reads api.py's pagination class.
"""

from drf_spectacular.openapi import AutoSchema

_DETAIL = {"type": "object", "properties": {"detail": {"type": "string"}}, "required": ["detail"]}
_FIELD_ERRORS = {
    "type": "object",
    "description": "Field errors: {field: [message]} (a list of flows gives one entry per flow), or {detail}.",
    "additionalProperties": True,
}
_ERRORS = {
    "400": ("Bad input: field errors, as {field: [message]}. Nothing was saved.", _FIELD_ERRORS),
    "401": ("Not signed in: send `Authorization: Token <key>`.", _DETAIL),
    "403": ("Signed in, but this is not yours to see or do.", _DETAIL),
    "404": ("No such object visible to you (or no such page of a list).", _DETAIL),
    "409": ("The object is in the wrong state for this action.", _DETAIL),
    "413": ("The request body is too large.", _DETAIL),
    "429": ("Too many requests: wait the number of seconds in Retry-After.", _DETAIL),
}


class ErrorDocumentingAutoSchema(AutoSchema):
    """drf-spectacular's schema, with the error answers of ../shared/CONTRACT.md documented on every operation.

    Outside tools (and Schemathesis) check responses against the schema, so a 401, 404 or 429 must be in it.
    """

    def get_operation(self, *args, **kwargs):
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        unsafe = self.method in ("POST", "PUT", "PATCH", "DELETE")
        codes = ["401", "403", "429"]
        if unsafe or operation.get("parameters"):
            codes.append("400")
        if unsafe:
            codes += ["409", "413"]
        if "{" in self.path or self._is_list_view() or any(
            p.get("name") == "page" for p in operation.get("parameters", [])
        ):
            codes.append("404")
        responses = operation["responses"]
        for code in sorted(codes):
            description, schema = _ERRORS[code]
            answer = responses.setdefault(code, {"description": description})
            answer.setdefault("content", {"application/json": {"schema": schema}})
            if code == "429":
                answer.setdefault("headers", {"Retry-After": {
                    "schema": {"type": "integer"}, "description": "Seconds to wait before trying again.",
                }})
        return operation
