"""JSON/PEM API of the key hierarchy, and the signed trust list."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import PlainTextResponse

from roadcert.crypto import trustlist, x509
from roadcert.deps import Svc

# Paths are written out in full: the trust list lives beside /api/keys, not under it.
router = APIRouter(tags=["keys 密钥"])


@router.get("/api/keys", summary="密钥与证书列表")
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


@router.get("/api/keys/trusted.pem", response_class=PlainTextResponse, summary="受信任证书（PEM）")
def trusted_pem(svc: Svc) -> str:
    return "".join(x509.to_pem(k.certificate) for k in svc.keys.trusted())


@router.get(
    "/api/trust-list",
    response_class=Response,
    summary="签名的信任列表（COSE_Sign1，省级 CA 签名；格式见 docs/trust.md）",
    responses={200: {"content": {trustlist.MEDIA_TYPE: {}}}},
)
def trust_list(svc: Svc) -> Response:
    ttl = svc.keys.settings.trust_list_ttl
    now = svc.issuance.clock()
    token = trustlist.build_trust_list(svc.session, svc.keys, now, now + timedelta(seconds=ttl))
    return Response(
        content=token,
        media_type=trustlist.MEDIA_TYPE,
        headers={"Cache-Control": f"public, max-age={ttl}"},
    )
