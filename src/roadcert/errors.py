"""One error hierarchy: each refusal carries a stable code, a Chinese message, an HTTP status."""

from __future__ import annotations

from typing import Any


class RoadcertError(Exception):
    """Base of every error roadcert reports to a user.

    ``code`` is stable and machine-readable (``issuance.authority_disabled``), ``message`` is
    Chinese text a clerk can act on, ``field`` names the input at fault when there is one.
    """

    status: int = 400
    code: str = "error"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        field: str | None = None,
        status: int | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.field = field
        self.details = details or {}

    def to_dict(self) -> dict[str, Any]:
        """The JSON body of an error response."""
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field:
            body["field"] = self.field
        if self.details:
            body["details"] = self.details
        return body


class BadInput(RoadcertError):
    """Input that breaks a rule (identifier, code table, required field)."""

    status = 422
    code = "bad_input"


class NotFound(RoadcertError):
    """A referenced record does not exist."""

    status = 404
    code = "not_found"


class Conflict(RoadcertError):
    """The request contradicts the current state (duplicate, wrong lifecycle step)."""

    status = 409
    code = "conflict"


class Forbidden(RoadcertError):
    """The caller may not do this."""

    status = 403
    code = "forbidden"


class ConfigurationError(RoadcertError):
    """The installation is not set up to do this (no keys, no database)."""

    status = 503
    code = "configuration"


# Chinese wording of pydantic's error types, so that a clerk reads every refusal in Chinese.
_VALIDATION_MESSAGES = {
    "missing": "缺少必填字段",
    "extra_forbidden": "不接受的字段",
    "string_too_short": "内容过短或为空",
    "string_too_long": "内容过长",
    "string_pattern_mismatch": "格式不符",
    "string_type": "应为文本",
    "int_parsing": "应为整数",
    "int_type": "应为整数",
    "bool_parsing": "应为 true 或 false",
    "date_from_datetime_parsing": "应为日期（YYYY-MM-DD）",
    "date_parsing": "应为日期（YYYY-MM-DD）",
    "date_type": "应为日期（YYYY-MM-DD）",
    "greater_than": "数值过小",
    "greater_than_equal": "数值过小",
    "less_than": "数值过大",
    "less_than_equal": "数值过大",
    "too_short": "至少需要一项",
    "list_type": "应为列表",
    "enum": "不在可选值中",
    "json_invalid": "不是有效的 JSON",
    "model_attributes_type": "应为 JSON 对象",
    "dict_type": "应为 JSON 对象",
}


def validation_details(errors: list[Any]) -> list[dict[str, Any]]:
    """Pydantic errors as ``{field, rule, message}`` with Chinese messages."""
    out = []
    for error in errors:
        rule = str(error.get("type", "invalid"))
        loc = [str(p) for p in error.get("loc", ()) if p not in ("body", "query", "path")]
        if rule == "json_invalid":
            # pydantic locates a JSON syntax error by character offset, which is no field.
            loc = []
        text = _VALIDATION_MESSAGES.get(rule, "不符合要求")
        out.append(
            {"field": ".".join(loc), "rule": rule, "message": f"{text}（{error.get('msg')}）"}
        )
    return out


def validation_error(errors: list[Any]) -> BadInput:
    """One BadInput naming the first field at fault and listing all of them."""
    details = validation_details(errors) or [
        {"field": "", "rule": "invalid", "message": "输入无效"}
    ]
    first = details[0]
    where = f"{first['field']}：" if first["field"] else ""
    return BadInput(
        f"输入不符合要求：{where}{first['message']}",
        field=first["field"] or None,
        details={"errors": details},
    )
