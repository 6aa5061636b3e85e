"""The exchange domain's effective-dated parameters (oip.reference.parameters keeps their values)."""

from __future__ import annotations

from typing import Any

from oip.core.errors import DomainError
from oip.reference.parameters import Definition, define

TAX_SIGNING = "exchange.tax.signing"


def _signing(value: Any) -> dict:
    if not isinstance(value, dict) or value.keys() != {"algorithm", "require_signed_returns"}:
        raise DomainError('签名参数应为 {"algorithm": "HMAC-SHA256", "require_signed_returns": true}', field="value")
    if value["algorithm"] != "HMAC-SHA256":
        raise DomainError("签名算法目前只支持 HMAC-SHA256", field="value")
    if not isinstance(value["require_signed_returns"], bool):
        raise DomainError("require_signed_returns 应为 true 或 false", field="value")
    return value


define(
    Definition(
        TAX_SIGNING,
        "与税务部门交换文件的签名方式",
        {"algorithm": "HMAC-SHA256", "require_signed_returns": True},
        _signing,
        "密钥不入库：来自配置 OIP_TAX_SIGNING_KEY（或 var/keys.json）",
    )
)
