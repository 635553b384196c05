"""Pages of an issuing authority's clerk (and the provincial admin): ledgers, e-certs, 不规范数据.

Seed 000 §1.2: 业户台账 → 经营许可证 and 车辆台账 → 道路运输证, each with 查看电子证照; seed 002
§6–7: business operations change the e-certs at once, 不规范数据 is listed for fixing. A clerk
sees and changes only the own authority's records (the ledger service is scoped to it); the
admin sees the province and may narrow a list to one authority.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, Response

from roadcert.accounts.policy import Principal, authority_scope
from roadcert.accounts.web import Staff, Svc
from roadcert.catalog import codes
from roadcert.catalog.types import CATALOGUE
from roadcert.certificates.collection import (
    CollectionRate,
    collection_rates,
    percent,
    province_total,
)
from roadcert.certificates.faces import label, scope_text
from roadcert.certificates.models import Ecert, EcertStatus, Operation
from roadcert.errors import NotFound
from roadcert.kit.chinatime import china_time
from roadcert.portal.ledger_pages import (
    FIELD_LABELS,
    PAGE_SIZE,
    cells_by_source,
    ecert_cell,
    image_response,
    page_number,
    search_text,
    why_no_ecert,
)
from roadcert.portal.pages import pager, render
from roadcert.portal.repository import PortalRepository
from roadcert.registry.models import (
    Licence,
    Operator,
    Photo,
    Practitioner,
    RecordStatus,
    Vehicle,
)
from roadcert.registry.photos import REJECT_REASONS, VEHICLE_PHOTO_RULES
from roadcert.registry.schemas import MAX_ID
from roadcert.registry.service import ENTITY_LABELS
from roadcert.runtime import Services

router = APIRouter(prefix="/staff", include_in_schema=False)
RecordId = Annotated[int, Path(ge=1, le=MAX_ID)]
FilterId = Annotated[int | None, Query(ge=1, le=MAX_ID)]
Page = Annotated[int, Query()]

RECORD_STATUS = {
    RecordStatus.ACTIVE: "有效",
    RecordStatus.CANCELLED: "注销",
    RecordStatus.REVOKED: "吊销",
}
HISTORY_LABELS = {
    "create": "新增",
    "change": "变更",
    "renew": "换证",
    "review": "审验",
    "cancel": "注销",
    "revoke": "吊销",
    "photo": "照片",
    "add_qualification": "增项",
    "integrity_assessment": "诚信考核签注",
    "continuing_education": "继续教育",
    "enable": "启用电子证照",
    "disable": "停用电子证照",
}


def _list_scope(caller: Principal, authority_id: int | None) -> int | None:
    """The authority a list shows: the clerk's own whatever is asked, the admin's choice."""
    scope = authority_scope(caller)
    return authority_id if scope is None else scope


def _filters(svc: Services, caller: Principal, authority_id: int | None) -> dict[str, Any]:
    """The admin's authority filter (a clerk has none: the list is the own authority's)."""
    if authority_scope(caller) is not None:
        return {"authorities": [], "authority_id": None}
    return {
        "authorities": [(a.id, a.name) for a in PortalRepository(svc.session).authorities()],
        "authority_id": authority_id,
    }


def _query_base(**params: Any) -> str:
    """The filters of a list as the start of its pager links' query string."""
    kept = {k: v for k, v in params.items() if v not in (None, "")}
    return urlencode(kept) + "&" if kept else ""


def _history(svc: Services, model: Any, record_id: int) -> list[dict[str, str]]:
    return [
        {
            "operation": HISTORY_LABELS.get(h.operation, h.operation),
            "actor": h.actor,
            "at": china_time(h.changed_at),
        }
        for h in reversed(svc.ledger.history(model, record_id))
    ][:15]


def _findings(svc: Services, entity: str, record_id: int) -> list[dict[str, str]]:
    return [
        {"field": i.field, "message": i.message, "value": i.value or ""}
        for i in svc.ledger.repo.open_issues(entity, record_id)
    ]


def _versions(svc: Services, source_kind: str, source_id: int) -> list[dict[str, Any]]:
    """Every e-cert version of a record, newest first, for the record's page."""
    return [_version_row(svc, e) for e in svc.issuance.repo.of_source(source_kind, source_id)]


def _version_row(svc: Services, ecert: Ecert) -> dict[str, Any]:
    cell = ecert_cell(svc, ecert)
    return {
        "cell": cell,
        "number": ecert.number,
        "operation": Operation(ecert.operation).label,
        "issued_at": china_time(ecert.issued_at),
        "valid_until": ecert.valid_until.isoformat(),
        "reason": ecert.status_reason or "",
    }


# -- 业户台账 ------------------------------------------------------------------------------


def operators_context(
    svc: Services,
    caller: Principal,
    text: str,
    status: str,
    authority_id: int | None,
    page: int,
) -> dict[str, Any]:
    """One page of operators found by name or USCC."""
    repo = PortalRepository(svc.session)
    scope = _list_scope(caller, authority_id)
    offset = (page - 1) * PAGE_SIZE
    rows, total = repo.operators(
        authority_id=scope, text=text, status=status or None, offset=offset, limit=PAGE_SIZE
    )
    ids = [o.id for o in rows]
    licences = repo.counts_by_operator(Licence, ids)
    vehicles = repo.counts_by_operator(Vehicle, ids)
    return {
        "title": "业户台账",
        "q": text,
        "status": status,
        "statuses": codes.OperatorStatus.choices(),
        **_filters(svc, caller, authority_id),
        "rows": [
            {
                "index": offset + i + 1,
                "id": o.id,
                "name": o.name,
                "uscc": o.uscc or "",
                "status": label(codes.OperatorStatus, o.status),
                "operating": o.status == codes.OperatorStatus.OPERATING,
                "authority": o.authority.name,
                "licences": licences.get(o.id, 0),
                "vehicles": vehicles.get(o.id, 0),
            }
            for i, o in enumerate(rows)
        ],
        "pg": pager(page, total, PAGE_SIZE),
        "query_base": _query_base(q=text, status=status, authority_id=authority_id),
    }


@router.get("/operators", response_class=HTMLResponse)
def operators(
    request: Request,
    svc: Svc,
    caller: Staff,
    q: str = "",
    status: Annotated[str, Query(max_length=30)] = "",
    authority_id: FilterId = None,
    page: Page = 1,
) -> HTMLResponse:
    context = operators_context(
        svc, caller, search_text(q), status.strip(), authority_id, page_number(page)
    )
    return render(request, caller, "staff_operators.html", context)


def operator_context(svc: Services, caller: Principal, operator: Operator) -> dict[str, Any]:
    """业户详情: the operator, its 经营许可证 with their e-certs and operations.

    A licence another authority issued is shown, but only its authority may operate on it.
    """
    scope = authority_scope(caller)
    licences = svc.ledger.repo.licences_of(operator.id)
    cells = cells_by_source(svc, "licence", [lic.id for lic in licences])
    licence_rows = []
    for lic in licences:
        has = bool(cells.get(lic.id))
        licence_rows.append(
            {
                "id": lic.id,
                "number": lic.number,
                "type_name": CATALOGUE[lic.type_code].name if lic.type_code in CATALOGUE else "",
                "scopes": scope_text(lic.business_scopes),
                "valid_from": lic.valid_from.isoformat(),
                "valid_until": lic.valid_until.isoformat(),
                "authority": lic.authority.name,
                "status": RECORD_STATUS.get(RecordStatus(lic.status), lic.status),
                "active": lic.status == RecordStatus.ACTIVE,
                "editable": scope is None or lic.authority_id == scope,
                "ecerts": cells.get(lic.id, []),
                "reasons": []
                if has or lic.status != RecordStatus.ACTIVE
                else why_no_ecert(svc, svc.issuance.targets_for_licence(lic)),
                "findings": _findings(svc, "licence", lic.id),
            }
        )
    return {
        "title": f"业户详情 {operator.name}",
        "operator": {
            "id": operator.id,
            "name": operator.name,
            "uscc": operator.uscc or "",
            "address": operator.address,
            "region_code": operator.region_code,
            "economic_type": label(codes.EconomicType, operator.economic_type),
            "status_code": operator.status,
            "status": label(codes.OperatorStatus, operator.status),
            "authority": operator.authority.name,
        },
        "statuses": codes.OperatorStatus.choices(),
        "findings": _findings(svc, "operator", operator.id),
        "licences": licence_rows,
        "vehicle_count": len(svc.ledger.repo.vehicles_of(operator.id)),
        "history": _history(svc, Operator, operator.id),
    }


@router.get("/operators/{operator_id}", response_class=HTMLResponse)
def operator(request: Request, svc: Svc, caller: Staff, operator_id: RecordId) -> HTMLResponse:
    context = operator_context(svc, caller, svc.ledger.get(Operator, operator_id))
    return render(request, caller, "staff_operator.html", context)


# -- 车辆台账 ------------------------------------------------------------------------------


def vehicles_context(
    svc: Services,
    caller: Principal,
    text: str,
    operator_id: int | None,
    authority_id: int | None,
    page: int,
) -> dict[str, Any]:
    """One page of vehicles found by plate or 道路运输证号 (of one operator if given)."""
    repo = PortalRepository(svc.session)
    operator_name = None
    if operator_id is not None:
        operator_name = svc.ledger.get(Operator, operator_id).name
    offset = (page - 1) * PAGE_SIZE
    rows, total = repo.vehicles(
        authority_id=_list_scope(caller, authority_id),
        operator_ids=None if operator_id is None else [operator_id],
        text=text,
        offset=offset,
        limit=PAGE_SIZE,
    )
    cells = cells_by_source(svc, "vehicle", [v.id for v in rows])
    return {
        "title": "车辆台账",
        "q": text,
        "operator_id": operator_id,
        "operator_name": operator_name,
        **_filters(svc, caller, authority_id),
        "rows": [
            {
                "index": offset + i + 1,
                "id": v.id,
                "plate": v.plate,
                "plate_color": label(codes.PlateColor, v.plate_color),
                "operator": v.operator.name,
                "transport_number": v.transport_number,
                "vehicle_type": label(codes.VehicleType, v.vehicle_type),
                "status": label(codes.VehicleStatus, v.status),
                "valid_until": v.valid_until.isoformat(),
                "has_photo": v.photo_id is not None,
                "cancelled": v.transport_status != RecordStatus.ACTIVE,
                "ecerts": cells.get(v.id, []),
            }
            for i, v in enumerate(rows)
        ],
        "pg": pager(page, total, PAGE_SIZE),
        "query_base": _query_base(q=text, operator_id=operator_id, authority_id=authority_id),
    }


@router.get("/vehicles", response_class=HTMLResponse)
def vehicles(
    request: Request,
    svc: Svc,
    caller: Staff,
    q: str = "",
    operator_id: FilterId = None,
    authority_id: FilterId = None,
    page: Page = 1,
) -> HTMLResponse:
    context = vehicles_context(
        svc, caller, search_text(q), operator_id, authority_id, page_number(page)
    )
    return render(request, caller, "staff_vehicles.html", context)


def vehicle_context(svc: Services, vehicle: Vehicle) -> dict[str, Any]:
    """车辆详情: the 道路运输证 data, the photo, the e-cert versions and the operations."""
    versions = _versions(svc, "vehicle", vehicle.id)
    active = vehicle.transport_status == RecordStatus.ACTIVE
    current = [v for v in versions if v["cell"].valid]
    return {
        "title": f"车辆详情 {vehicle.plate}",
        "vehicle": {
            "id": vehicle.id,
            "plate": vehicle.plate,
            "plate_color_code": vehicle.plate_color,
            "plate_color": label(codes.PlateColor, vehicle.plate_color),
            "operator_id": vehicle.operator_id,
            "operator": vehicle.operator.name,
            "vehicle_type_code": vehicle.vehicle_type,
            "vehicle_type": label(codes.VehicleType, vehicle.vehicle_type),
            "brand_model": vehicle.brand_model,
            "size": f"{vehicle.length_mm}×{vehicle.width_mm}×{vehicle.height_mm} 毫米",
            "transport_number": vehicle.transport_number,
            "licence_number": vehicle.licence.number if vehicle.licence else "",
            "scopes": scope_text(vehicle.business_scopes),
            "valid": f"{vehicle.valid_from.isoformat()} 至 {vehicle.valid_until.isoformat()}",
            "review_valid_until": vehicle.review_valid_until.isoformat()
            if vehicle.review_valid_until
            else "",
            "technical_grade": label(codes.TechnicalGrade, vehicle.technical_grade),
            "status_code": vehicle.status,
            "status": label(codes.VehicleStatus, vehicle.status),
            "transport_status": RECORD_STATUS.get(
                RecordStatus(vehicle.transport_status), vehicle.transport_status
            ),
            "active": active,
            "authority": vehicle.authority.name,
            "has_photo": vehicle.photo_id is not None,
        },
        "plate_colors": codes.PlateColor.choices(),
        "vehicle_statuses": codes.VehicleStatus.choices(),
        "grades": codes.TechnicalGrade.choices(),
        "versions": versions,
        "reasons": []
        if current or not active
        else why_no_ecert(svc, svc.issuance.targets_for_vehicle(vehicle)),
        "findings": _findings(svc, "vehicle", vehicle.id),
        "history": _history(svc, Vehicle, vehicle.id),
    }


@router.get("/vehicles/{vehicle_id}", response_class=HTMLResponse)
def vehicle(request: Request, svc: Svc, caller: Staff, vehicle_id: RecordId) -> HTMLResponse:
    context = vehicle_context(svc, svc.ledger.get(Vehicle, vehicle_id))
    return render(request, caller, "staff_vehicle.html", context)


@router.get("/vehicles/{vehicle_id}/photo")
def vehicle_photo(svc: Svc, caller: Staff, vehicle_id: RecordId) -> Response:
    """The vehicle's photo in the ledger."""
    return _ledger_photo(svc, svc.ledger.get(Vehicle, vehicle_id).photo_id)


def _ledger_photo(svc: Services, photo_id: int | None) -> Response:
    photo = svc.ledger.repo.get(Photo, photo_id) if photo_id else None
    if photo is None:
        raise NotFound("该记录没有照片", code="photo.not_found")
    return image_response(photo)


# -- 从业人员 ------------------------------------------------------------------------------


def practitioners_context(
    svc: Services, caller: Principal, text: str, authority_id: int | None, page: int
) -> dict[str, Any]:
    """One page of practitioners found by name, ID number or 从业资格证号."""
    offset = (page - 1) * PAGE_SIZE
    rows, total = PortalRepository(svc.session).practitioners(
        authority_id=_list_scope(caller, authority_id), text=text, offset=offset, limit=PAGE_SIZE
    )
    cells = cells_by_source(svc, "practitioner", [p.id for p in rows])
    return {
        "title": "从业人员",
        "q": text,
        **_filters(svc, caller, authority_id),
        "rows": [
            {
                "index": offset + i + 1,
                "id": p.id,
                "name": p.name,
                "id_number": p.id_number,
                "certificate_number": p.certificate_number,
                "categories": "、".join(
                    label(codes.QualificationCategory, q.category)
                    for q in p.qualifications
                    if q.status == RecordStatus.ACTIVE
                ),
                "authority": p.authority.name,
                "has_photo": p.photo_id is not None,
                "ecerts": cells.get(p.id, []),
            }
            for i, p in enumerate(rows)
        ],
        "pg": pager(page, total, PAGE_SIZE),
        "query_base": _query_base(q=text, authority_id=authority_id),
    }


@router.get("/practitioners", response_class=HTMLResponse)
def practitioners(
    request: Request,
    svc: Svc,
    caller: Staff,
    q: str = "",
    authority_id: FilterId = None,
    page: Page = 1,
) -> HTMLResponse:
    context = practitioners_context(svc, caller, search_text(q), authority_id, page_number(page))
    return render(request, caller, "staff_practitioners.html", context)


def practitioner_context(svc: Services, person: Practitioner) -> dict[str, Any]:
    """从业人员详情: personal data, categories with their operations, e-certs, 签注."""
    versions = _versions(svc, "practitioner", person.id)
    current = [v for v in versions if v["cell"].valid]
    targets = svc.issuance.targets_for_practitioner(person)
    return {
        "title": f"从业人员 {person.name}",
        "person": {
            "id": person.id,
            "name": person.name,
            "id_number": person.id_number,
            "sex": label(codes.Sex, person.sex),
            "birth_date": person.birth_date.isoformat(),
            "nationality": person.nationality,
            "address": person.address,
            "driving_class": person.driving_class or "",
            "certificate_number": person.certificate_number,
            "authority": person.authority.name,
            "has_photo": person.photo_id is not None,
        },
        "qualifications": [
            {
                "category": q.category,
                "name": label(codes.QualificationCategory, q.category),
                "first_issued": q.first_issued.isoformat(),
                "valid": f"{q.valid_from.isoformat()} 至 {q.valid_until.isoformat()}",
                "status": RECORD_STATUS.get(RecordStatus(q.status), q.status),
                "active": q.status == RecordStatus.ACTIVE,
            }
            for q in person.qualifications
        ],
        "entries": [
            {
                "kind": "诚信考核" if e.kind == "integrity_assessment" else "继续教育",
                "date": e.entry_date.isoformat(),
                "text": e.text,
            }
            for e in reversed(person.entries)
        ],
        "versions": versions,
        "reasons": [] if current or not targets else why_no_ecert(svc, targets),
        "findings": _findings(svc, "practitioner", person.id),
        "history": _history(svc, Practitioner, person.id),
    }


@router.get("/practitioners/{practitioner_id}", response_class=HTMLResponse)
def practitioner(
    request: Request, svc: Svc, caller: Staff, practitioner_id: RecordId
) -> HTMLResponse:
    context = practitioner_context(svc, svc.ledger.get(Practitioner, practitioner_id))
    return render(request, caller, "staff_practitioner.html", context)


@router.get("/practitioners/{practitioner_id}/photo")
def practitioner_photo(svc: Svc, caller: Staff, practitioner_id: RecordId) -> Response:
    """The practitioner's personal photo in the ledger."""
    return _ledger_photo(svc, svc.ledger.get(Practitioner, practitioner_id).photo_id)


# -- 电子证照 ------------------------------------------------------------------------------


def ecert_list_context(
    svc: Services,
    caller: Principal,
    page: int,
    type_code: str | None,
    status: str = "",
    text: str = "",
    authority_id: int | None = None,
) -> dict[str, Any]:
    """One page of the e-certs of the clerk's authority (the admin: all), newest first."""
    repo = PortalRepository(svc.session)
    scope = _list_scope(caller, authority_id)
    offset = (page - 1) * PAGE_SIZE
    rows, total = repo.ecerts(
        authority_id=scope,
        type_code=type_code or None,
        status=status or None,
        text=text,
        offset=offset,
        limit=PAGE_SIZE,
    )
    counts = repo.ecert_counts(scope)
    return {
        "title": "电子证照",
        "type_code": type_code or "",
        "status": status,
        "q": text,
        **_filters(svc, caller, authority_id),
        "types": [(code, t.name) for code, t in CATALOGUE.items()],
        "statuses": [(s.value, s.label) for s in EcertStatus],
        "counts": [(s.label, counts.get(s.value, 0)) for s in EcertStatus],
        "total_versions": sum(counts.values()),
        "rows": [
            {
                "index": offset + i + 1,
                "identifier": e.identifier,
                "type_name": CATALOGUE[e.type_code].name,
                "number": e.number,
                "holder_name": e.holder_name,
                "version": f"{e.version:03d}",
                "operation": Operation(e.operation).label,
                "status": svc.issuance.effective_status(e).label,
                "valid": svc.issuance.effective_status(e) is EcertStatus.VALID,
                "valid_until": e.valid_until.isoformat(),
                "activated": e.activated_at is not None,
            }
            for i, e in enumerate(rows)
        ],
        "pg": pager(page, total, PAGE_SIZE),
        "query_base": _query_base(
            type_code=type_code, status=status, q=text, authority_id=authority_id
        ),
    }


@router.get("/ecerts", response_class=HTMLResponse)
def ecert_list(
    request: Request,
    svc: Svc,
    caller: Staff,
    page: Page = 1,
    type_code: Annotated[str, Query(max_length=21)] = "",
    status: Annotated[str, Query(max_length=12)] = "",
    q: str = "",
    authority_id: FilterId = None,
) -> HTMLResponse:
    context = ecert_list_context(
        svc,
        caller,
        page_number(page),
        type_code.strip(),
        status.strip(),
        search_text(q),
        authority_id,
    )
    return render(request, caller, "staff_ecerts.html", context)


# -- 不规范数据 ----------------------------------------------------------------------------

#: Where a finding is fixed: the page of its record (a licence is fixed on its operator's page).
RECORD_PAGES = {
    "operator": "/staff/operators/{}",
    "vehicle": "/staff/vehicles/{}",
    "practitioner": "/staff/practitioners/{}",
}


def quality_context(
    svc: Services, caller: Principal, entity: str, authority_id: int | None, page: int
) -> dict[str, Any]:
    """制证率 and 激活率 per authority (seed 002 App. A), then 不规范数据 (§3.3, §7.5): counts per
    authority and record kind, then the findings."""
    repo = PortalRepository(svc.session)
    scope = _list_scope(caller, authority_id)
    names = {a.id: a.name for a in repo.authorities()}
    offset = (page - 1) * PAGE_SIZE
    issues, total = repo.open_issues(
        authority_id=scope, entity=entity or None, offset=offset, limit=PAGE_SIZE
    )
    record_names: dict[tuple[str, int], str] = {}
    for kind in {i.entity for i in issues}:
        ids = [i.entity_id for i in issues if i.entity == kind]
        for record_id, name in repo.names_of(kind, ids).items():
            record_names[(kind, record_id)] = name
    rows = []
    for i, issue in enumerate(issues):
        href = RECORD_PAGES.get(issue.entity, "").format(issue.entity_id) or None
        if issue.entity == "licence":
            lic = svc.ledger.repo.get(Licence, issue.entity_id)
            href = f"/staff/operators/{lic.operator_id}" if lic else None
        rows.append(
            {
                "index": offset + i + 1,
                "authority": names.get(issue.authority_id, ""),
                "entity": ENTITY_LABELS.get(issue.entity, issue.entity),
                "record": record_names.get((issue.entity, issue.entity_id), str(issue.entity_id)),
                "href": href,
                "field": FIELD_LABELS.get(issue.field, issue.field),
                "message": issue.message,
                "value": issue.value or "",
                "detected_at": china_time(issue.detected_at),
            }
        )
    summary: dict[int, dict[str, int]] = {}
    for authority, kind, count in repo.open_issue_counts(scope):
        summary.setdefault(authority, {})[kind] = count
    kinds = ["operator", "licence", "vehicle", "practitioner"]
    today = svc.issuance.today()
    rates = collection_rates(svc.session, today, scope)
    return {
        "title": "不规范数据",
        "today": today.isoformat(),
        "rates": [_rate_row(r) for r in rates],
        "rates_total": _rate_row(province_total(rates)) if scope is None and rates else None,
        "entity": entity,
        "entities": [(k, ENTITY_LABELS[k]) for k in kinds],
        **_filters(svc, caller, authority_id),
        "summary": [
            {
                "authority": names.get(a, str(a)),
                "counts": [counts.get(k, 0) for k in kinds],
                "total": sum(counts.values()),
            }
            for a, counts in summary.items()
        ],
        "rows": rows,
        "pg": pager(page, total, PAGE_SIZE),
        "query_base": _query_base(entity=entity, authority_id=authority_id),
    }


def _rate_row(rate: CollectionRate) -> dict[str, Any]:
    """One line of the 制证率 and 激活率 table (seed 002 App. A)."""
    return {
        "authority": rate.authority_name,
        "enabled": rate.ecert_enabled,
        "valid": rate.valid,
        "with_ecert": rate.with_ecert,
        "rate": percent(rate.rate),
        "score": "—" if rate.score is None else rate.score,
        "issued": rate.issued_this_year,
        "activated": rate.activated_this_year,
        "activation_rate": percent(rate.activation_rate),
        "activation_score": "—" if rate.activation_score is None else rate.activation_score,
    }


@router.get("/quality", response_class=HTMLResponse)
def quality(
    request: Request,
    svc: Svc,
    caller: Staff,
    entity: Annotated[str, Query(max_length=20)] = "",
    authority_id: FilterId = None,
    page: Page = 1,
) -> HTMLResponse:
    context = quality_context(svc, caller, entity.strip(), authority_id, page_number(page))
    return render(request, caller, "staff_quality.html", context)


# -- 照片审核 ------------------------------------------------------------------------------


def photos_context(svc: Services, caller: Principal) -> dict[str, Any]:
    """Uploads waiting for review (seed 000 §1.1.5), oldest first, and the latest decisions."""
    scope = authority_scope(caller)
    pending = list(svc.photos.pending(scope))
    cards = [_submission(svc, s) for s in pending[:PAGE_SIZE]]
    reviewed = PortalRepository(svc.session).reviewed_photos(scope, 10)
    return {
        "title": "照片审核",
        "cards": cards,
        "pending_total": len(pending),
        "vehicle_rules": VEHICLE_PHOTO_RULES,
        "reasons": REJECT_REASONS,
        "reviewed": [
            _submission(svc, s) | {"review": "通过" if s.review == "approved" else "不通过"}
            for s in reviewed
        ],
    }


def _submission(svc: Services, submission: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": submission.id,
        "kind": "车辆照片" if submission.subject_kind == "vehicle" else "个人照片",
        "is_vehicle": submission.subject_kind == "vehicle",
        "submitted_by": submission.submitted_by,
        "submitted_at": china_time(submission.submitted_at),
        "reviewed_by": submission.reviewed_by or "",
        "reviewed_at": china_time(submission.reviewed_at),
        "reason": submission.reason or "",
    }
    if submission.subject_kind == "vehicle":
        found = svc.ledger.repo.get(Vehicle, submission.subject_id)
        out |= {
            "subject": f"{found.plate}（{label(codes.PlateColor, found.plate_color)}）"
            if found
            else "",
            "owner": found.operator.name if found else "",
            "href": f"/staff/vehicles/{submission.subject_id}",
            "current": f"/staff/vehicles/{submission.subject_id}/photo"
            if found and found.photo_id
            else None,
        }
    else:
        person = svc.ledger.repo.get(Practitioner, submission.subject_id)
        out |= {
            "subject": person.name if person else "",
            "owner": person.certificate_number if person else "",
            "href": f"/staff/practitioners/{submission.subject_id}",
            "current": f"/staff/practitioners/{submission.subject_id}/photo"
            if person and person.photo_id
            else None,
        }
    return out


@router.get("/photos", response_class=HTMLResponse)
def photos(request: Request, svc: Svc, caller: Staff) -> HTMLResponse:
    return render(request, caller, "staff_photos.html", photos_context(svc, caller))


@router.get("/photos/{submission_id}/image")
def photo_image(svc: Svc, caller: Staff, submission_id: RecordId) -> Response:
    """An uploaded photo, for the reviewer of its authority."""
    return image_response(svc.photos.content(svc.photos.get(submission_id)))
