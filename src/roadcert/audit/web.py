"""Recording what a web caller did to an e-cert: the audit row, and activation by its holder."""

from __future__ import annotations

from fastapi import Request

from roadcert.accounts.models import Role
from roadcert.accounts.policy import Principal
from roadcert.audit.service import ecert_subject
from roadcert.certificates.models import Ecert
from roadcert.runtime import Services

#: Acts by the holder that count as using the e-cert (seed 002 App. A: 使用证照或亮证查验).
ACTIVATING_TAGS = frozenset(
    {"certificates:ecert:downloaded", "sharing:ecert:shown", "verification:ecert:verified"}
)


def record_ecert_event(
    svc: Services,
    request: Request,
    principal: Principal | None,
    ecert: Ecert,
    tag: str,
    actor: str | None = None,
    **details: object,
) -> None:
    """Audit ``tag`` on ``ecert``; a holder's download or showing, or a verification, activates."""
    who = actor or (principal.actor if principal else "公众")
    svc.audit.record(
        tag,
        who,
        ecert_subject(ecert.serial),
        user_id=principal.user_id if principal else None,
        client_ip=request.client.host if request.client else "",
        identifier=ecert.identifier,
        version=ecert.version,
        **details,
    )
    by_holder = principal is not None and principal.role in (Role.ENTERPRISE, Role.PRACTITIONER)
    is_verification = tag == "verification:ecert:verified"
    activating = tag in ACTIVATING_TAGS and (by_holder or is_verification)
    if activating and svc.issuance.mark_activated(ecert):
        svc.audit.record(
            "certificates:ecert:activated",
            who,
            ecert_subject(ecert.serial),
            user_id=principal.user_id if principal else None,
            identifier=ecert.identifier,
            via=tag,
        )
