"""Request validation errors in Chinese, naming the field — for every route of the app.

Domains register Chinese labels for their field names (``register_labels``); the app's handler for
``RequestValidationError`` rewrites pydantic's messages with ``translate``."""

from __future__ import annotations

FIELD_LABELS: dict[str, str] = {}


def register_labels(labels: dict[str, str]) -> None:
    FIELD_LABELS.update(labels)


_MESSAGES = {
    "missing": "必填",
    "int_parsing": "应为整数",
    "int_from_float": "应为整数",
    "int_type": "应为整数",
    "bool_parsing": "应为 true 或 false",
    "bool_type": "应为 true 或 false",
    "date_parsing": "应为日期（YYYY-MM-DD）",
    "date_from_datetime_parsing": "应为日期（YYYY-MM-DD）",
    "date_from_datetime_inexact": "应为日期（YYYY-MM-DD）",
    "date_type": "应为日期（YYYY-MM-DD）",
    "decimal_parsing": "应为数字，如 0.07",
    "decimal_type": "应为数字，如 0.07",
    "finite_number": "应为有限的数字",
    "string_type": "应为字符串",
    "list_type": "应为列表",
    "dict_type": "应为对象",
    "model_type": "应为对象",
    "model_attributes_type": "应为对象",
    "extra_forbidden": "不是可接受的字段",
    "json_invalid": "请求体不是合法的 JSON",
    "string_too_long": "太长",
}


def _label(loc: tuple) -> str:
    names = [x for x in loc if isinstance(x, str) and x != "body"]
    return FIELD_LABELS.get(str(names[-1]), str(names[-1])) if names else "请求体"


def translate(errors: list[dict]) -> list[dict]:
    """Pydantic errors with Chinese messages that name the field."""
    out = []
    for e in errors:
        loc = tuple(e.get("loc", ()))
        out.append({**e, "loc": loc, "msg": f"{_label(loc)}：{_MESSAGES.get(e.get('type'), e.get('msg'))}"})
    return out


# ---- forms and free text: one home for every domain ----------------------------------------------------


def from_form(model, data, labels: dict[str, str] | None = None):
    """Validate an HTML form with a pydantic ``model``: empty inputs (and the CSRF field) count as not
    given; the first problem becomes a DomainError naming the field, in Chinese — with the form's own
    label for the field when ``labels`` has one (another domain may call the same name otherwise)."""
    from pydantic import ValidationError

    from oip.core.errors import DomainError

    try:
        return model.model_validate(
            {
                k: v
                for k, v in data.items()
                if k != "csrf_token" and v is not None and not (isinstance(v, str) and v.strip() == "")
            }
        )
    except ValidationError as exc:
        first = translate(exc.errors())[0]
        names = [x for x in first["loc"] if isinstance(x, str)]
        field = names[-1] if names else None
        msg = first["msg"]
        if labels and field in labels:
            msg = f"{labels[field]}：{msg.split('：', 1)[-1]}"
        raise DomainError(msg, field=field) from None


def clean_text(value: object, field: str, label: str, maxlen: int = 4000, *, required: bool = False) -> str:
    """Free text as typed, trimmed: a DomainError naming the field when it is required and empty or
    longer than ``maxlen`` characters."""
    from oip.core.errors import DomainError

    v = "" if value is None else str(value).strip()
    if required and not v:
        raise DomainError(f"请填写{label}", field=field)
    if len(v) > maxlen:
        raise DomainError(f"{label}不能超过 {maxlen} 个字符", field=field)
    return v
