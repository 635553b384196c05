"""What the enterprise and staff pages share: e-cert cells, photos, business operations from forms.

A form post runs its business operation in a savepoint: a refusal rolls back exactly that
operation and comes back to the page as a message, instead of an error page that loses the form.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from fastapi import Request
from fastapi.responses import Response
from pydantic import BaseModel, ValidationError

from roadcert.accounts.policy import Principal
from roadcert.accounts.web import client_ip
from roadcert.catalog.types import CATALOGUE
from roadcert.certificates.models import Ecert, EcertStatus
from roadcert.certificates.operations import Outcome
from roadcert.certificates.service import Target
from roadcert.errors import BadInput, RoadcertError, validation_details
from roadcert.portal.repository import PortalRepository
from roadcert.registry.models import Photo
from roadcert.runtime import Services

#: The rows of a list page.
PAGE_SIZE = 20
#: The longest search text a list accepts (longer cannot match any field).
MAX_QUERY = 60

S = TypeVar("S", bound=BaseModel)


def page_number(page: int) -> int:
    """A page number within sensible bounds (a huge one would overflow the OFFSET)."""
    return min(max(page, 1), 100_000)


def search_text(text: str | None) -> str:
    """A list's search text, trimmed."""
    return (text or "").strip()[:MAX_QUERY]


@dataclass(frozen=True)
class EcertCell:
    """How a list shows the e-cert of one ledger record."""

    identifier: str
    type_name: str
    version: str
    status: str
    valid: bool
    activated: bool


def ecert_cell(svc: Services, ecert: Ecert) -> EcertCell:
    status = svc.issuance.effective_status(ecert)
    return EcertCell(
        identifier=ecert.identifier,
        type_name=CATALOGUE[ecert.type_code].name,
        version=f"{ecert.version:03d}",
        status=status.label,
        valid=status is EcertStatus.VALID,
        activated=ecert.activated_at is not None,
    )


def latest_by_source(ecerts: Iterable[Ecert]) -> dict[int, list[Ecert]]:
    """The newest version of each certificate of each record, from versions newest first.

    The current version when there is one; otherwise the last one (revoked), so that a list can
    say the certificate ended rather than that there never was one.
    """
    seen: set[tuple[int, str]] = set()
    out: dict[int, list[Ecert]] = {}
    for ecert in ecerts:
        key = (ecert.source_id, ecert.type_code)
        if key in seen:
            continue
        seen.add(key)
        out.setdefault(ecert.source_id, []).append(ecert)
    for cells in out.values():
        cells.sort(key=lambda e: e.type_code)
    return out


def cells_by_source(svc: Services, source_kind: str, ids: list[int]) -> dict[int, list[EcertCell]]:
    """The e-cert cells of many records of one kind, in one query."""
    versions = PortalRepository(svc.session).ecerts_of_sources(source_kind, ids)
    return {
        source_id: [ecert_cell(svc, e) for e in latest]
        for source_id, latest in latest_by_source(versions).items()
    }


def why_no_ecert(svc: Services, targets: Sequence[Target]) -> list[str]:
    """Why the record's e-certs cannot be issued now: the failing precondition of each."""
    refusals = (svc.issuance.refusal_for(target) for target in targets)
    return [refusal.message for refusal in refusals if refusal is not None]


def image_response(photo: Photo) -> Response:
    """A stored picture, never cached by the browser (it is someone's data)."""
    return Response(
        photo.content,
        media_type=photo.media_type,
        headers={"Cache-Control": "private, no-store"},
    )


#: Form fields as the pages label them, for refusals that name the field.
FIELD_LABELS = {
    "valid_from": "有效期起",
    "valid_until": "有效期止",
    "review_valid_until": "审验有效期至",
    "technical_grade": "技术等级",
    "entry_date": "签注日期",
    "text": "签注内容",
    "name": "名称",
    "uscc": "统一社会信用代码",
    "address": "地址",
    "status": "状态",
    "plate": "车牌号码",
    "plate_color": "车牌颜色",
    "vehicle_type": "车辆类型",
    "brand_model": "厂牌型号",
    "driving_class": "准驾车型",
    "nationality": "国籍",
    "region_code": "行政区划",
    "economic_type": "经济类型",
    "id_number": "身份证号",
    "id_type": "证件类型",
    "sex": "性别",
    "birth_date": "出生日期",
    "qualifications": "从业资格类别",
    "category": "从业资格类别",
    "business_scopes": "经营范围",
    "type_code": "证照类型",
    "number": "证号",
    "transport_number": "道路运输证号",
    "certificate_number": "从业资格证号",
    "seats": "核定载客位",
    "tonnage_kg": "核定载质量",
    "length_mm": "车长",
    "width_mm": "车宽",
    "height_mm": "车高",
}


def parse_form(schema: type[S], values: dict[str, Any]) -> S:
    """A ledger input model from form fields; blank fields count as not given."""
    cleaned = {k: v for k, v in values.items() if v not in (None, "", [])}
    try:
        return schema(**cleaned)
    except ValidationError as exc:
        first = validation_details(list(exc.errors()))[0]
        label = FIELD_LABELS.get(first["field"], first["field"])
        raise BadInput(
            f"{label}：{first['message']}" if label else first["message"], field=first["field"]
        ) from None


@dataclass
class Done:
    """The result of a form's business operation: a message for the next page."""

    message: str
    ok: bool
    outcome: Outcome | None = None


def run_operation(
    svc: Services,
    request: Request,
    caller: Principal,
    subject: str,
    operation: str,
    action: Callable[[], Outcome],
) -> Done:
    """Run ``action`` in a savepoint; audit it when it is done, report a refusal when not."""
    try:
        with svc.session.begin_nested():
            outcome = action()
    except RoadcertError as error:
        return Done(f"{operation}未办理：{error.message}", ok=False)
    effect = outcome.effect
    svc.audit.record(
        "registry:record:changed",
        caller.actor,
        subject,
        user_id=caller.user_id,
        client_ip=client_ip(request),
        operation=operation,
        issued=[e.identifier for e in effect.issued],
        revoked=[e.identifier for e in effect.revoked],
        suspended=[e.identifier for e in effect.suspended],
        refused=[r.code for r in effect.refused],
    )
    return Done(f"{operation}已办理。" + effect_text(outcome), ok=True, outcome=outcome)


def effect_text(outcome: Outcome) -> str:
    """What an operation did to e-certs, in one sentence a clerk reads after the form."""
    effect = outcome.effect
    parts: list[str] = []

    def names(ecerts: Iterable[Ecert]) -> str:
        return "、".join(f"{CATALOGUE[e.type_code].name}第{e.version:03d}版" for e in ecerts)

    if effect.issued:
        parts.append("已制发" + names(effect.issued))
    if effect.revoked:
        parts.append("已注销" + names(effect.revoked))
    if effect.suspended:
        parts.append("已暂停" + names(effect.suspended))
    for refusal in effect.refused:
        parts.append("未制发电子证照：" + refusal.message)
    if not parts:
        return "电子证照无变化。"
    return "；".join(parts) + "。"


def require_upload_size(request: Request, limit: int) -> None:
    """Refuse an upload by its declared size before any of it is read."""
    declared = request.headers.get("content-length")
    if declared is None or not declared.isdigit():
        raise RoadcertError("上传须声明大小（Content-Length）", code="photo.length", status=411)
    if int(declared) > limit:
        raise BadInput(
            f"照片过大：上限 {limit // 1024 // 1024} MB", code="photo.too_large", field="photo"
        )
