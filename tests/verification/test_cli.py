"""``roadcert verify`` end to end: a demo province, a rendered PDF and PNG, exported lists, and an
offline run with no database at all.

The demo is built once per backend (module scope), as in tests/test_cli.py; each test renders or
exports what it needs with the CLI itself. The refusals do not depend on the database, so they run
on SQLite only (``SQLITE_ONLY``); the same module-scoped SQLite province serves them.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from sqlalchemy import text as sql

from roadcert.crypto import sm, x509
from roadcert.db import make_engine
from roadcert.kit import ecert_id
from tests import factories as f
from tests.test_cli import Cli, _refusal, cli_backend
from tests.verification.conftest import PARTS, pdf_without_ecert

# Indirect parametrization keys the module-scoped fixture by value: "sqlite" is one province.
SQLITE_ONLY = pytest.mark.parametrize("cli", ["sqlite"], indirect=True)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def cli(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cli]:
    """A data directory and an empty database of each backend."""
    yield from cli_backend(request.param, tmp_path_factory.mktemp(f"verify-{request.param}"))


@dataclass
class Licence:
    """A valid 经营许可证 e-cert of the demo province."""

    id: int
    identifier: str
    authority_uscc: str
    licence_id: int  # the ledger record, for `ledger op licence ID cancel`


@pytest.fixture(scope="module")
def licences(cli: Cli) -> list[Licence]:
    """The demo province's valid licence e-certs."""
    cli.ok("demo", "--no-serve", "--operators", "6", "--practitioners", "8")
    rows = cli.json("ecert", "list", "--json", "--type", "008", "--status", "valid")
    engine = make_engine(cli.env["ROADCERT_DATABASE_URL"])
    try:
        with engine.connect() as conn:
            rows_ = conn.execute(sql("SELECT id, source_id FROM ecert"))
            sources = {int(row.id): int(row.source_id) for row in rows_}
    finally:
        engine.dispose()
    found = [
        Licence(
            row["id"],
            row["identifier"],
            ecert_id.parse(row["identifier"]).issuer_code,
            sources[row["id"]],
        )
        for row in rows
    ]
    assert len({licence.licence_id for licence in found}) >= 2
    return found


@pytest.fixture(scope="module")
def keys_pem(cli: Cli, licences: list[Licence]) -> Path:
    """`roadcert keys export > keys.pem`."""
    path = cli.workdir / "keys.pem"
    path.write_text(cli.ok("keys", "export").stdout)
    return path


@pytest.fixture(scope="module")
def trust_list(cli: Cli, licences: list[Licence]) -> Path:
    """`roadcert trust-list export -o tl`."""
    path = cli.workdir / "tl"
    result = cli.ok("trust-list", "export", "-o", str(path))
    assert "信任列表已写入" in result.stdout
    return path


def _status_list(cli: Cli, uscc: str, name: str) -> Path:
    path = cli.workdir / name
    result = cli.ok("status-list", "export", uscc, "-o", str(path))
    assert "状态列表已写入" in result.stdout
    return path


def _render(cli: Cli, licence: Licence, fmt: str) -> Path:
    path = cli.workdir / f"ecert-{licence.id}.{fmt}"
    result = cli.ok("ecert", "render", str(licence.id), "--format", fmt, "-o", str(path))
    assert "已写出" in result.stdout
    return path


def _no_database(cli: Cli) -> Cli:
    """The same CLI with a database and a data directory that do not exist."""
    missing = cli.workdir / f"missing-{uuid.uuid4().hex[:8]}"
    env = cli.env | {
        "ROADCERT_DATA_DIR": str(missing / "data"),
        "ROADCERT_DATABASE_URL": f"sqlite:///{missing / 'nowhere' / 'roadcert.db'}",
    }
    return Cli(env, cli.workdir)


def _verdict(result: Result, exit_code: int) -> dict[str, Any]:
    assert result.exit_code == exit_code, (result.output, result.exception)
    assert "Traceback" not in result.output
    data: dict[str, Any] = json.loads(result.stdout)
    assert set(PARTS) <= set(data)
    return data


def _all_ok(data: dict[str, Any], licence: Licence, mode: str) -> None:
    assert data["ok"] is True, data
    assert data["mode"] == mode
    assert all(data[name]["ok"] for name in PARTS), data
    assert data["face"]["identifier"] == licence.identifier
    assert data["issuer"]["authority_uscc"] == licence.authority_uscc


# -- online ----------------------------------------------------------------------------------------


def test_rendered_pdf_verifies_online(cli: Cli, licences: list[Licence]) -> None:
    licence = licences[0]
    pdf = _render(cli, licence, "pdf")
    assert pdf.read_bytes().startswith(b"%PDF-")
    _all_ok(_verdict(cli("verify", str(pdf), "--json"), 0), licence, "online")
    human = cli("verify", str(pdf))
    assert human.exit_code == 0
    assert "查验通过" in human.stdout and licence.identifier in "".join(human.stdout.split())


@SQLITE_ONLY
def test_code_text_verifies_online(cli: Cli, licences: list[Licence]) -> None:
    licence = licences[0]
    scanned = cli.ok("ecert", "code", str(licence.id)).stdout.strip()
    assert scanned.startswith("HTTPS://127.0.0.1:8000/R/")
    _all_ok(_verdict(cli("verify", scanned, "--json"), 0), licence, "online")
    _all_ok(_verdict(cli("verify", scanned.lower(), "--json"), 0), licence, "online")


@SQLITE_ONLY
def test_bare_base32_verifies_online(cli: Cli, licences: list[Licence]) -> None:
    licence = licences[0]
    scanned = cli.ok("ecert", "code", str(licence.id)).stdout.strip()
    bare = scanned.split("/R/", 1)[1]
    _all_ok(_verdict(cli("verify", bare, "--json"), 0), licence, "online")
    assert "[payload.too_large]" in _refusal(cli("verify", "A" * 2001))


# -- offline -------------------------------------------------------------------------------------


def test_offline_verify_needs_no_database(
    cli: Cli, licences: list[Licence], keys_pem: Path, trust_list: Path
) -> None:
    licence = licences[0]
    png = _render(cli, licence, "png")
    pdf = _render(cli, licence, "pdf")
    status_list = _status_list(cli, licence.authority_uscc, "sl")
    away = _no_database(cli)
    for face in (png, pdf):
        result = away(
            "verify",
            str(face),
            "--trust-list",
            str(trust_list),
            "--root",
            str(keys_pem),
            "--status-list",
            str(status_list),
            "--json",
        )
        data = _verdict(result, 0)
        _all_ok(data, licence, "offline")
        assert "据北京时间" in data["status"]["message"]
    # Nothing tried to open the database or the data directory (they would have been created).
    missing = Path(away.env["ROADCERT_DATA_DIR"]).parent
    assert not missing.exists()


def test_offline_verify_after_cancel_is_revoked(
    cli: Cli, licences: list[Licence], keys_pem: Path, trust_list: Path
) -> None:
    main = licences[0]
    licence = next(x for x in reversed(licences) if x.licence_id != main.licence_id)
    png = _render(cli, licence, "png")
    before = _status_list(cli, licence.authority_uscc, f"sl-before-{licence.id}")
    away = _no_database(cli)
    offline = ("--trust-list", str(trust_list), "--root", str(keys_pem))
    args = ("verify", str(png), *offline)
    _all_ok(_verdict(away(*args, "--status-list", str(before), "--json"), 0), licence, "offline")

    cancelled = cli.json("ledger", "op", "licence", str(licence.licence_id), "cancel")
    assert [e["identifier"] for e in cancelled["ecerts"]["revoked"]] == [licence.identifier]
    after = _status_list(cli, licence.authority_uscc, f"sl-after-{licence.id}")
    data = _verdict(away(*args, "--status-list", str(after), "--json"), 1)
    assert data["status"]["result"] == "REVOKED"
    assert data["ok"] is False
    assert data["signature"]["ok"] and data["issuer"]["ok"] and data["identifier"]["ok"]
    human = away(*args, "--status-list", str(after))
    assert human.exit_code == 1 and "查验未通过" in human.stdout and "已注销" in human.stdout
    # Online says the same; a list exported before the cancel is still believed until its ttl.
    assert _verdict(cli("verify", str(png), "--json"), 1)["status"]["result"] == "REVOKED"
    cached = _verdict(away(*args, "--status-list", str(before), "--json"), 0)
    assert cached["status"]["result"] == "VALID"
    # Without its authority's list the status cannot be confirmed: UNKNOWN, never REVOKED.
    unknown = _verdict(away(*args, "--json"), 1)
    assert unknown["status"]["result"] == "UNKNOWN"


# -- refusals --------------------------------------------------------------------------------------


@SQLITE_ONLY
def test_garbage_exits_2(cli: Cli, licences: list[Licence]) -> None:
    stderr = _refusal(cli("verify", "garbage"))
    assert "错误 [payload." in stderr
    assert "[payload.prefix]" in _refusal(cli("verify", "HTTPS://X/Q/AAAA"))
    assert "[payload.base32]" in _refusal(cli("verify", "2KCE0189"))
    assert "[payload.too_large]" in _refusal(cli("verify", "HTTPS://H/R/" + "A" * 1990))


@SQLITE_ONLY
def test_offline_needs_trust_list_and_root(
    cli: Cli, licences: list[Licence], keys_pem: Path, trust_list: Path
) -> None:
    scanned = cli.ok("ecert", "code", str(licences[0].id)).stdout.strip()
    away = _no_database(cli)
    assert "[verify.offline_args]" in _refusal(
        away("verify", scanned, "--trust-list", str(trust_list))
    )
    assert "[verify.offline_args]" in _refusal(away("verify", scanned, "--root", str(keys_pem)))


def _other_root(path: Path) -> Path:
    """A self-signed root that is not the province's."""
    moment = datetime.now(UTC)
    certificate = x509.make_root(
        sm.generate_private_key(),
        x509.Name(common_name="另一个根CA", organization="别处"),
        moment - timedelta(days=1),
        moment + timedelta(days=365),
    )
    path.write_text(x509.to_pem(certificate))
    return path


@SQLITE_ONLY
def test_bad_files_are_refused_with_their_code(
    cli: Cli, licences: list[Licence], keys_pem: Path, trust_list: Path, tmp_path: Path
) -> None:
    licence = licences[0]
    png = _render(cli, licence, "png")
    status_list = _status_list(cli, licence.authority_uscc, "sl-bad")
    no_code = tmp_path / "nothing.png"
    no_code.write_bytes(f.png(200, 150))
    plain_pdf = tmp_path / "plain.pdf"
    plain_pdf.write_bytes(pdf_without_ecert())
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\xd2\x84 not a list")
    away = _no_database(cli)
    offline = ("--trust-list", str(trust_list), "--root", str(keys_pem))

    assert "[verify.no_code]" in _refusal(away("verify", str(no_code), *offline))
    assert "[verify.pdf_no_ecert]" in _refusal(away("verify", str(plain_pdf), *offline))
    refused = away("verify", str(png), "--trust-list", str(junk), "--root", str(keys_pem))
    assert "[trust_list.malformed]" in _refusal(refused)
    refused = away("verify", str(png), *offline, "--status-list", str(junk))
    assert "[status_list.malformed]" in _refusal(refused)
    other = _other_root(tmp_path / "other-root.pem")
    refused = away("verify", str(png), "--trust-list", str(trust_list), "--root", str(other))
    assert "[trust_list.chain]" in _refusal(refused)
    # The trust list is not a status list, nor the other way round.
    refused = away("verify", str(png), "--trust-list", str(status_list), "--root", str(keys_pem))
    assert "[trust_list.type]" in _refusal(refused)
    refused = away(
        "verify", str(png), "--trust-list", str(trust_list), "--root", str(tmp_path / "absent")
    )
    assert "[input.unreadable]" in _refusal(refused)


@SQLITE_ONLY
def test_unreadable_root_file_exits_2(
    cli: Cli, licences: list[Licence], trust_list: Path, tmp_path: Path
) -> None:
    png = _render(cli, licences[0], "png")
    root = tmp_path / "root.der"
    root.write_bytes(b"\x30\x82 not a certificate")
    away = _no_database(cli)
    refused = away("verify", str(png), "--trust-list", str(trust_list), "--root", str(root))
    assert "[verify.root]" in _refusal(refused)


@SQLITE_ONLY
def test_a_code_cut_at_a_group_boundary_exits_2(cli: Cli, licences: list[Licence]) -> None:
    scanned = cli.ok("ecert", "code", str(licences[0].id)).stdout.strip()
    data = scanned.split("/R/", 1)[1]
    cut = data[: len(data) // 2 // 8 * 8]
    assert "[payload.truncated]" in _refusal(cli("verify", cut))
