"""Helpers for the sharing tests: a practitioner holding a real e-cert, and a signed-in holder."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from roadcert.accounts.models import Role
from roadcert.accounts.policy import Principal
from roadcert.accounts.service import NewUser, principal_of
from roadcert.certificates.models import Ecert
from roadcert.registry.models import Practitioner
from roadcert.runtime import Services
from tests import factories as f

PASSWORD = "sharing-test-2026"
_names = itertools.count(1)


@dataclass
class Held:
    """A practitioner, the 从业资格证 e-cert issued to them, and their account."""

    person: Practitioner
    ecert: Ecert
    principal: Principal


def account(svc: Services, role: Role, holder_code: str | None = None, name: str = "") -> Principal:
    """A real user of ``role`` in the test's session, as the rules see it."""
    count = next(_names)
    user = svc.accounts.create_user(
        NewUser(
            f"share-{role.value}{count}",
            PASSWORD,
            name or f"{role.label}{count}",
            role,
            holder_code=holder_code,
        )
    )
    svc.session.flush()
    return principal_of(user)


def held(svc: Services, name: str = "张三") -> Held:
    """A practitioner with one 从业资格证 e-cert and a practitioner account bound to them."""
    auth = f.authority(svc)
    outcome = f.practitioner(svc, auth, name=name)
    (ecert,) = outcome.effect.issued
    person = outcome.record
    return Held(person, ecert, account(svc, Role.PRACTITIONER, person.id_number, name))
