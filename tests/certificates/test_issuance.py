"""Issuance: a 新增 produces a signed e-cert at once; each precondition refuses on its own."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from roadcert.catalog.types import CATALOGUE
from roadcert.certificates.models import Ecert, EcertStatus
from roadcert.certificates.service import IssuanceRefused, NotStandardData
from roadcert.config import Environment, Settings
from roadcert.crypto import cbor, sm, x509
from roadcert.crypto.keystore import FileKeyStore
from roadcert.db import make_engine, make_sessionmaker
from roadcert.kit import ecert_id
from roadcert.migrate import alembic_config, upgrade
from roadcert.runtime import Runtime, Services
from tests import factories as f


def _verify(svc: Services, ecert: Ecert) -> bool:
    key = svc.keys.repo.get(ecert.signing_key_id)
    assert key is not None
    public = x509.load(key.certificate).public_key
    return sm.verify(public, ecert.signed_data, ecert.signature)


def test_new_licence_issues_a_signed_ecert(services: Services) -> None:
    auth = f.authority(services)
    op = f.operator(services, auth)
    outcome = f.licence(services, auth, op)

    assert not outcome.effect.refused
    (ecert,) = outcome.effect.issued
    assert ecert.version == 1
    assert ecert.status == EcertStatus.VALID
    assert ecert.identifier.endswith(f".001.{ecert.identifier[-1]}")
    assert ecert_id.check(ecert.identifier).ok
    assert ecert_id.parse(ecert.identifier).issuer_code == auth.uscc
    assert _verify(services, ecert)
    document = cbor.decode(ecert.signed_data)
    assert isinstance(document, dict)
    assert document["ZZBS"] == ecert.identifier
    assert document["ZZLXDM"] == "11100000000019713D008"
    assert document["CZZTDM"] == op.uscc
    assert document["CZZTDMLXDM"] == "001"
    assert document["KZ_YHMC"] == op.name
    assert cbor.canonical(document) == ecert.signed_data


def test_signature_fails_on_changed_bytes(services: Services) -> None:
    auth = f.authority(services)
    (ecert,) = f.licence(services, auth, f.operator(services, auth)).effect.issued
    tampered = bytearray(ecert.signed_data)
    tampered[-1] ^= 1
    key = services.keys.repo.get(ecert.signing_key_id)
    assert key is not None
    assert not sm.verify(x509.load(key.certificate).public_key, bytes(tampered), ecert.signature)


def test_signer_chain_verifies_to_root(services: Services) -> None:
    auth = f.authority(services)
    (ecert,) = f.licence(services, auth, f.operator(services, auth)).effect.issued
    key = services.keys.repo.get(ecert.signing_key_id)
    assert key is not None
    chain = services.keys.chain(key)
    assert len(chain) == 3
    x509.verify_chain(chain[:-1], [chain[-1]], ecert.issued_at)


def test_vehicle_and_practitioner_faces(services: Services) -> None:
    auth = f.authority(services)
    op = f.operator(services, auth)
    lic = f.licence(services, auth, op).record
    (transport,) = f.vehicle(services, auth, op, lic).effect.issued
    assert transport.type_code.endswith("013")
    assert transport.face["licence_number"] == lic.number
    assert transport.face["plate"].endswith("（黄色）")
    assert len(transport.face["vehicle_photo"]) == 64
    assert list(transport.face) == [i.key for i in CATALOGUE[transport.type_code].face]

    outcome = f.practitioner(services, auth, ("02001", "01001", "09003"))
    types = sorted(e.type_code[-3:] for e in outcome.effect.issued)
    assert types == ["071", "072"]
    qualification = next(e for e in outcome.effect.issued if e.type_code.endswith("071"))
    assert [c["code"] for c in qualification.face["categories"]] == ["01001", "02001"]
    assert qualification.holder_code_type == "111"
    assert all(_verify(services, e) for e in outcome.effect.issued)


def test_ride_hailing_vehicle_gets_its_own_type(services: Services) -> None:
    auth = f.authority(services)
    op = f.operator(services, auth)
    lic = f.licence(
        services, auth, op, type_code="11100000000019713D074", business_scopes=["01000"]
    ).record
    (ecert,) = f.vehicle(
        services,
        auth,
        op,
        lic,
        ride_hailing=True,
        vehicle_type="K33",
        plate_color="5",
        plate="吉AD12345",
    ).effect.issued
    assert ecert.type_code.endswith("073")


@pytest.mark.parametrize(
    ("setup", "code"),
    [
        ("authority_disabled", "issuance.authority_disabled"),
        ("operator_stopped", "issuance.operator_not_operating"),
        ("operator_no_uscc", "issuance.operator_uscc"),
        ("operator_bad_uscc", "issuance.operator_uscc"),
        ("vehicle_scrapped", "issuance.vehicle_status"),
        ("vehicle_no_photo", "issuance.photo_missing"),
        ("practitioner_no_photo", "issuance.photo_missing"),
        ("bad_plate", "issuance.non_standard"),
        ("bad_vehicle_type", "issuance.non_standard"),
        ("bad_id_number", "issuance.non_standard"),
    ],
)
def test_each_precondition_is_refused_with_its_code(
    services: Services, setup: str, code: str
) -> None:
    auth = f.authority(services, enabled=setup != "authority_disabled")
    op_fields = {
        "operator_stopped": {"status": "2"},
        "operator_no_uscc": {"uscc": None},
        "operator_bad_uscc": {"uscc": "91220101MA0Y1234X0"},
    }.get(setup, {})
    op = f.operator(services, auth, **op_fields)
    before = services.session.query(Ecert).count()
    if setup.startswith("practitioner") or setup == "bad_id_number":
        fields = {"id_number": "220102198003140010"} if setup == "bad_id_number" else {}
        outcome = f.practitioner(
            services, auth, photo=None if setup.endswith("photo") else b"png", **fields
        )
    elif setup.startswith(("vehicle", "bad_")):
        lic = f.licence(services, auth, op).record
        before = services.session.query(Ecert).count()
        vehicle_fields = {
            "vehicle_scrapped": {"status": "33"},
            "bad_plate": {"plate": "吉AO1234"},
            "bad_vehicle_type": {"vehicle_type": "X00"},
        }.get(setup, {})
        outcome = f.vehicle(
            services,
            auth,
            op,
            lic,
            photo=None if setup == "vehicle_no_photo" else b"png",
            **vehicle_fields,
        )
    else:
        outcome = f.licence(services, auth, op)
    assert [r.code for r in outcome.effect.refused] == [code]
    assert outcome.effect.refused[0].message
    assert not outcome.effect.issued
    assert services.session.query(Ecert).count() == before
    if code == "issuance.non_standard":
        assert isinstance(outcome.effect.refused[0], NotStandardData)
        assert outcome.effect.refused[0].details["findings"]


def test_explicit_issue_raises_the_refusal(services: Services) -> None:
    auth = f.authority(services, enabled=False)
    lic = f.licence(services, auth, f.operator(services, auth)).record
    (target,) = services.issuance.targets_for_licence(lic)
    with pytest.raises(IssuanceRefused) as refused:
        services.issuance.issue(target)
    assert refused.value.code == "issuance.authority_disabled"
    assert refused.value.status == 409


def test_allow_listed_uscc_is_issued_and_reported(services: Services) -> None:
    auth = f.authority(services)
    op = f.operator(services, auth, uscc="91350100M0001TGQXM")
    outcome = f.licence(services, auth, op)
    assert len(outcome.effect.issued) == 1
    issues = services.ledger.repo.open_issues("operator", op.id)
    assert [i.rule for i in issues] == ["uscc.early_pilot"]


def test_non_standard_records_are_kept_and_listed(services: Services) -> None:
    auth = f.authority(services)
    op = f.operator(services, auth, uscc="91220101MA0Y1234X0")
    issues = services.ledger.repo.all_open_issues(auth.id)
    assert [(i.entity, i.entity_id, i.field, i.rule) for i in issues] == [
        ("operator", op.id, "uscc", "uscc.check_char")
    ]
    # Fixing the record closes the finding.
    from roadcert.kit import uscc
    from roadcert.registry.schemas import OperatorChange

    services.business.change_operator(op.id, OperatorChange(uscc=uscc.generate(f._rng, "220102")))
    assert services.ledger.repo.all_open_issues(auth.id) == []


def test_only_one_current_version_is_possible(services: Services) -> None:
    auth = f.authority(services)
    (ecert,) = f.licence(services, auth, f.operator(services, auth)).effect.issued
    services.session.flush()
    clone = Ecert(
        **{c.key: getattr(ecert, c.key) for c in Ecert.__table__.columns if c.key != "id"}
    )
    clone.identifier = ecert.identifier + "X"
    clone.version = 99
    with pytest.raises(IntegrityError):
        services.session.add(clone)
        services.session.flush()
    services.session.rollback()


def test_items_are_read_from_the_signed_bytes(services: Services) -> None:
    auth = f.authority(services)
    outcome = f.licence(services, auth, f.operator(services, auth))
    (ecert,) = outcome.effect.issued
    document = cbor.decode(ecert.signed_data)
    cert_type = CATALOGUE[ecert.type_code]
    assert ecert.face == {item.key: document[item.ext_code] for item in cert_type.face}
    assert ecert.metadata_items["ZZBS"] == ecert.identifier
    assert set(ecert.metadata_items) | {i.ext_code for i in cert_type.face} == set(document)


def test_a_downgrade_restores_the_item_columns_from_the_signed_bytes(
    empty_database: str, tmp_path: Path, store: FileKeyStore
) -> None:
    upgrade(empty_database)
    engine = make_engine(empty_database)
    try:
        settings = Settings(env=Environment.TEST, data_dir=tmp_path, province_code="220000")
        runtime = Runtime(settings, engine, make_sessionmaker(engine), store)
        with runtime.sessions() as session:
            svc = runtime.services(session, actor="test")
            auth = f.authority(svc)
            (ecert,) = f.licence(svc, auth, f.operator(svc, auth)).effect.issued
            session.commit()
            identifier, meta, face = ecert.identifier, ecert.metadata_items, ecert.face
        config = alembic_config(empty_database)
        command.downgrade(config, "a16e8b42769c")
        with engine.connect() as conn:
            row = conn.execute(
                text("SELECT metadata_items, face FROM ecert WHERE identifier = :i"),
                {"i": identifier},
            ).one()
        restored = [json.loads(v) if isinstance(v, str) else v for v in row]
        assert restored == [meta, face]
        assert meta["ZZBS"] == identifier and face
        command.upgrade(config, "head")
        with Session(engine) as session:
            again = session.scalars(select(Ecert).where(Ecert.identifier == identifier)).one()
            assert (again.metadata_items, again.face) == (meta, face)
    finally:
        engine.dispose()
