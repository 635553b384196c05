"""JSON/PEM API of the key hierarchy."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import PlainTextResponse

from roadcert.crypto import x509
from roadcert.deps import get_services
from roadcert.runtime import Services

router = APIRouter(prefix="/api/keys", tags=["keys 密钥"])
Svc = Annotated[Services, Depends(get_services)]


@router.get("", summary="密钥与证书列表")
def list_keys(svc: Svc) -> list[dict[str, Any]]:
    return [
        {
            "id": k.id,
            "role": k.role,
            "authority_id": k.authority_id,
            "key_id": k.key_id,
            "state": k.state,
            "not_before": k.not_before.isoformat(),
            "not_after": k.not_after.isoformat(),
        }
        for k in svc.keys.all()
    ]


@router.get("/trusted.pem", response_class=PlainTextResponse, summary="受信任证书（PEM）")
def trusted_pem(svc: Svc) -> str:
    return "".join(x509.to_pem(k.certificate) for k in svc.keys.trusted())
