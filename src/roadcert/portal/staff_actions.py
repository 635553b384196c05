"""The clerk's business operations from the ledger pages (业务办理), and photo review.

Each form post runs one operation of :class:`BusinessService` (the same the JSON API runs) in a
savepoint, audits it, and returns to the record's page with what happened to its e-certs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import RedirectResponse

from roadcert.accounts.policy import Principal
from roadcert.accounts.web import Staff, Svc, client_ip
from roadcert.certificates.models import Operation
from roadcert.certificates.operations import Outcome
from roadcert.errors import RoadcertError
from roadcert.portal.ledger_pages import effect_text, parse_form, run_operation
from roadcert.portal.pages import redirect
from roadcert.registry.models import EntryKind, Licence, Operator, Practitioner, Vehicle
from roadcert.registry.schemas import (
    MAX_ID,
    EntryIn,
    OperatorChange,
    PractitionerChange,
    Renewal,
    VehicleChange,
)
from roadcert.runtime import Services

router = APIRouter(prefix="/staff", include_in_schema=False)
RecordId = Annotated[int, Path(ge=1, le=MAX_ID)]
Category = Annotated[str, Path(max_length=30)]
Field = Annotated[str, Form(max_length=300)]


def _run(
    svc: Services,
    request: Request,
    caller: Principal,
    back: str,
    subject: str,
    operation: str,
    action: Callable[[], Outcome],
) -> RedirectResponse:
    """Run one operation and go back to the record's page with its result."""
    done = run_operation(svc, request, caller, subject, operation, action)
    return redirect(back, done.message, kind="ok" if done.ok else "error")


# -- 业户 and 经营许可证 ------------------------------------------------------------------


@router.post("/operators/{operator_id}/change")
def change_operator(
    request: Request,
    svc: Svc,
    caller: Staff,
    operator_id: RecordId,
    name: Field = "",
    uscc: Field = "",
    address: Field = "",
    status: Field = "",
) -> RedirectResponse:
    """业户变更 (also how 不规范数据 of an operator is fixed): every certificate follows."""
    found = svc.ledger.get(Operator, operator_id)
    fields = {"name": name, "uscc": uscc, "address": address, "status": status}
    return _run(
        svc,
        request,
        caller,
        f"/staff/operators/{found.id}",
        f"operator:{found.id}",
        "业户变更",
        lambda: svc.business.change_operator(found.id, parse_form(OperatorChange, fields)),
    )


def _licence_back(svc: Services, licence_id: int) -> tuple[Licence, str]:
    licence = svc.ledger.get(Licence, licence_id)
    return licence, f"/staff/operators/{licence.operator_id}#licence-{licence.id}"


@router.post("/licences/{licence_id}/reissue")
def reissue_licence(
    request: Request, svc: Svc, caller: Staff, licence_id: RecordId
) -> RedirectResponse:
    """经营许可证补证: the same content as a new version."""
    licence, back = _licence_back(svc, licence_id)
    return _run(
        svc,
        request,
        caller,
        back,
        f"licence:{licence.id}",
        "经营许可证补证",
        lambda: svc.business.reissue_licence(licence.id),
    )


@router.post("/licences/{licence_id}/renew")
def renew_licence(
    request: Request,
    svc: Svc,
    caller: Staff,
    licence_id: RecordId,
    valid_from: Field = "",
    valid_until: Field = "",
    review: Field = "",
) -> RedirectResponse:
    """经营许可证换证 (or 审验 when ``review`` is set): new validity, new version."""
    licence, back = _licence_back(svc, licence_id)
    operation = Operation.REVIEW if review else Operation.RENEW
    dates = {"valid_from": valid_from, "valid_until": valid_until}
    return _run(
        svc,
        request,
        caller,
        back,
        f"licence:{licence.id}",
        f"经营许可证{operation.label}",
        lambda: svc.business.renew_licence(licence.id, parse_form(Renewal, dates), operation),
    )


@router.post("/licences/{licence_id}/cancel")
def cancel_licence(
    request: Request, svc: Svc, caller: Staff, licence_id: RecordId, revoked: Field = ""
) -> RedirectResponse:
    """经营许可证注销 (or 吊销): its e-cert is revoked."""
    licence, back = _licence_back(svc, licence_id)
    return _run(
        svc,
        request,
        caller,
        back,
        f"licence:{licence.id}",
        "经营许可证吊销" if revoked else "经营许可证注销",
        lambda: svc.business.cancel_licence(licence.id, bool(revoked)),
    )


# -- 车辆 and 道路运输证 ------------------------------------------------------------------


def _vehicle_back(svc: Services, vehicle_id: int) -> tuple[Vehicle, str]:
    found = svc.ledger.get(Vehicle, vehicle_id)
    return found, f"/staff/vehicles/{found.id}"


@router.post("/vehicles/{vehicle_id}/change")
def change_vehicle(
    request: Request,
    svc: Svc,
    caller: Staff,
    vehicle_id: RecordId,
    plate: Field = "",
    plate_color: Field = "",
    vehicle_type: Field = "",
    brand_model: Field = "",
    status: Field = "",
) -> RedirectResponse:
    """车辆变更; a status leaving service ends or pauses the 道路运输证."""
    found, back = _vehicle_back(svc, vehicle_id)
    fields = {
        "plate": plate.strip(),
        "plate_color": plate_color,
        "vehicle_type": vehicle_type,
        "brand_model": brand_model,
        "status": status,
    }
    return _run(
        svc,
        request,
        caller,
        back,
        f"vehicle:{found.id}",
        "车辆变更",
        lambda: svc.business.change_vehicle(found.id, parse_form(VehicleChange, fields)),
    )


@router.post("/vehicles/{vehicle_id}/review")
def review_vehicle(
    request: Request,
    svc: Svc,
    caller: Staff,
    vehicle_id: RecordId,
    review_valid_until: Field = "",
    technical_grade: Field = "",
) -> RedirectResponse:
    """车辆年审（审验）: the new review date and grade go on a new version."""
    found, back = _vehicle_back(svc, vehicle_id)
    fields = {"review_valid_until": review_valid_until, "technical_grade": technical_grade}
    return _run(
        svc,
        request,
        caller,
        back,
        f"vehicle:{found.id}",
        "车辆年审",
        lambda: svc.business.review_vehicle(found.id, parse_form(Renewal, fields)),
    )


@router.post("/vehicles/{vehicle_id}/renew")
def renew_vehicle(
    request: Request,
    svc: Svc,
    caller: Staff,
    vehicle_id: RecordId,
    valid_from: Field = "",
    valid_until: Field = "",
) -> RedirectResponse:
    """道路运输证换证."""
    found, back = _vehicle_back(svc, vehicle_id)
    dates = {"valid_from": valid_from, "valid_until": valid_until}
    return _run(
        svc,
        request,
        caller,
        back,
        f"vehicle:{found.id}",
        "道路运输证换证",
        lambda: svc.business.renew_vehicle(found.id, parse_form(Renewal, dates)),
    )


@router.post("/vehicles/{vehicle_id}/reissue")
def reissue_vehicle(
    request: Request, svc: Svc, caller: Staff, vehicle_id: RecordId
) -> RedirectResponse:
    """道路运输证补证."""
    found, back = _vehicle_back(svc, vehicle_id)
    return _run(
        svc,
        request,
        caller,
        back,
        f"vehicle:{found.id}",
        "道路运输证补证",
        lambda: svc.business.reissue_vehicle(found.id),
    )


@router.post("/vehicles/{vehicle_id}/cancel")
def cancel_vehicle(
    request: Request, svc: Svc, caller: Staff, vehicle_id: RecordId
) -> RedirectResponse:
    """道路运输证注销."""
    found, back = _vehicle_back(svc, vehicle_id)
    return _run(
        svc,
        request,
        caller,
        back,
        f"vehicle:{found.id}",
        "道路运输证注销",
        lambda: svc.business.cancel_vehicle(found.id),
    )


# -- 从业人员 ------------------------------------------------------------------------------


def _person_back(svc: Services, practitioner_id: int) -> tuple[Practitioner, str]:
    person = svc.ledger.get(Practitioner, practitioner_id)
    return person, f"/staff/practitioners/{person.id}"


@router.post("/practitioners/{practitioner_id}/change")
def change_practitioner(
    request: Request,
    svc: Svc,
    caller: Staff,
    practitioner_id: RecordId,
    name: Field = "",
    address: Field = "",
    driving_class: Field = "",
) -> RedirectResponse:
    """从业资格证变更 of personal data: every qualification certificate gets a new version."""
    person, back = _person_back(svc, practitioner_id)
    fields = {"name": name, "address": address, "driving_class": driving_class}
    return _run(
        svc,
        request,
        caller,
        back,
        f"practitioner:{person.id}",
        "从业资格证变更",
        lambda: svc.business.change_practitioner(person.id, parse_form(PractitionerChange, fields)),
    )


@router.post("/practitioners/{practitioner_id}/qualifications/{category}/reissue")
def reissue_qualification(
    request: Request, svc: Svc, caller: Staff, practitioner_id: RecordId, category: Category
) -> RedirectResponse:
    """从业资格补证."""
    person, back = _person_back(svc, practitioner_id)
    return _run(
        svc,
        request,
        caller,
        back,
        f"practitioner:{person.id}",
        "从业资格补证",
        lambda: svc.business.reissue_qualification(person.id, category),
    )


@router.post("/practitioners/{practitioner_id}/qualifications/{category}/renew")
def renew_qualification(
    request: Request,
    svc: Svc,
    caller: Staff,
    practitioner_id: RecordId,
    category: Category,
    valid_from: Field = "",
    valid_until: Field = "",
) -> RedirectResponse:
    """从业资格换证: the category's certificate gets a new version with the new dates."""
    person, back = _person_back(svc, practitioner_id)
    dates = {"valid_from": valid_from, "valid_until": valid_until}
    return _run(
        svc,
        request,
        caller,
        back,
        f"practitioner:{person.id}",
        "从业资格换证",
        lambda: svc.business.renew_qualification(person.id, category, parse_form(Renewal, dates)),
    )


@router.post("/practitioners/{practitioner_id}/qualifications/{category}/cancel")
def cancel_qualification(
    request: Request, svc: Svc, caller: Staff, practitioner_id: RecordId, category: Category
) -> RedirectResponse:
    """从业资格注销 of one category."""
    person, back = _person_back(svc, practitioner_id)
    return _run(
        svc,
        request,
        caller,
        back,
        f"practitioner:{person.id}",
        "从业资格注销",
        lambda: svc.business.cancel_qualification(person.id, category),
    )


@router.post("/practitioners/{practitioner_id}/integrity")
def integrity(
    request: Request,
    svc: Svc,
    caller: Staff,
    practitioner_id: RecordId,
    entry_date: Field = "",
    text: Field = "",
) -> RedirectResponse:
    """诚信考核签注: a new version carrying it."""
    person, back = _person_back(svc, practitioner_id)
    fields = {"entry_date": entry_date, "text": text}
    return _run(
        svc,
        request,
        caller,
        back,
        f"practitioner:{person.id}",
        "诚信考核签注",
        lambda: svc.business.add_entry(
            person.id, EntryKind.INTEGRITY_ASSESSMENT, parse_form(EntryIn, fields)
        ),
    )


# -- 照片审核 ------------------------------------------------------------------------------


@router.post("/photos/{submission_id}/approve")
def approve_photo(
    request: Request, svc: Svc, caller: Staff, submission_id: RecordId
) -> RedirectResponse:
    """审核通过: the photo goes on the record and its e-cert gets a new version."""
    submission = svc.photos.get(submission_id)
    try:
        with svc.session.begin_nested():
            outcome = svc.photos.approve(submission.id, caller.actor)
    except RoadcertError as error:
        return redirect("/staff/photos", f"审核未完成：{error.message}", kind="error")
    svc.audit.record(
        "registry:photo:approved",
        caller.actor,
        f"{submission.subject_kind}:{submission.subject_id}",
        user_id=caller.user_id,
        client_ip=client_ip(request),
        submission=submission.id,
        issued=[e.identifier for e in outcome.effect.issued],
    )
    return redirect("/staff/photos", "照片审核通过。" + effect_text(outcome))


@router.post("/photos/{submission_id}/reject")
def reject_photo(
    request: Request,
    svc: Svc,
    caller: Staff,
    submission_id: RecordId,
    reason: Annotated[str, Form(max_length=200)] = "",
    other: Annotated[str, Form(max_length=200)] = "",
) -> RedirectResponse:
    """审核不通过, with the reason the enterprise reads beside its upload."""
    submission = svc.photos.get(submission_id)
    why = other.strip() or reason.strip()
    try:
        with svc.session.begin_nested():
            svc.photos.reject(submission.id, caller.actor, why)
    except RoadcertError as error:
        return redirect("/staff/photos", f"审核未完成：{error.message}", kind="error")
    svc.audit.record(
        "registry:photo:rejected",
        caller.actor,
        f"{submission.subject_kind}:{submission.subject_id}",
        user_id=caller.user_id,
        client_ip=client_ip(request),
        submission=submission.id,
        reason=why,
    )
    return redirect("/staff/photos", f"照片审核不通过：{why}")
