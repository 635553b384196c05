"""The ``roadcert`` command line on a real SQLite file and a real PostgreSQL schema.

A demo province is built once per backend (module scope); e-cert signatures are checked with
gmssl and the certificate chain with the system's ``openssl verify``, link by link.
"""

from __future__ import annotations

import base64
import json
import os
import random
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import typer.main
import uvicorn
from click.testing import Result
from sqlalchemy import text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from roadcert.catalog.types import CATALOGUE, ROAD_TRANSPORT_LICENCE
from roadcert.certificates.bulk_repository import DEFERRABLE_INDEXES, BulkRepository
from roadcert.certificates.models import EcertStatus
from roadcert.cli import app
from roadcert.config import get_settings
from roadcert.crypto import x509
from roadcert.db import make_engine
from roadcert.kit import cert_numbers, ecert_id, uscc
from roadcert.registry import quality, schemas
from tests.conftest import postgres_schema, postgres_url_for
from tests.test_api import gmssl_verify

DISTID = "distid:1234567812345678"


@dataclass
class Cli:
    """Runs ``roadcert`` against one database and data directory."""

    env: dict[str, str]
    workdir: Path
    schema: str | None = None

    def __call__(self, *args: str, input: str | None = None) -> Result:
        runner = CliRunner(env=self.env)
        # Settings are read once per process; each invocation must see this backend's values.
        get_settings.cache_clear()
        try:
            return runner.invoke(app, list(args), input=input)
        finally:
            get_settings.cache_clear()

    def ok(self, *args: str) -> Result:
        result = self(*args)
        assert result.exit_code == 0, (args, result.output, result.exception)
        return result

    def json(self, *args: str) -> Any:
        return json.loads(self.ok(*args).stdout)

    def file(self, name: str, data: Any) -> str:
        path = self.workdir / name
        path.write_text(
            data if isinstance(data, str) else json.dumps(data, ensure_ascii=False),
            encoding="utf-8",
        )
        return str(path)


def cli_backend(backend: str, data_dir: Path) -> Iterator[Cli]:
    """A data directory and an empty database of ``backend``."""
    env = {
        "ROADCERT_ENV": "test",
        "ROADCERT_DATA_DIR": str(data_dir),
        "ROADCERT_PROVINCE_CODE": "220000",
    }
    if backend == "sqlite":
        env["ROADCERT_DATABASE_URL"] = f"sqlite:///{data_dir / 'roadcert.db'}"
        yield Cli(env, data_dir)
        return
    for schema in postgres_schema("rc_cli"):
        env["ROADCERT_DATABASE_URL"] = postgres_url_for(schema)
        yield Cli(env, data_dir, schema)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def cli(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cli]:
    """A data directory and an empty database of each backend."""
    yield from cli_backend(request.param, tmp_path_factory.mktemp(f"cli-{request.param}"))


@pytest.fixture(scope="module")
def demo(cli: Cli) -> Result:
    """The demo province, built once per backend."""
    return cli.ok("demo", "--no-serve", "--operators", "15", "--practitioners", "20")


@pytest.fixture(scope="module")
def ecerts(cli: Cli, demo: Result) -> list[dict[str, Any]]:
    """``ecert list --json`` of the demo province."""
    items: list[dict[str, Any]] = cli.json("ecert", "list", "--json")
    return items


def _flat(text: str) -> str:
    """Console text without the line breaks and spaces rich adds when it wraps at 80 columns."""
    return "".join(text.split())


def _refusal(result: Result, exit_code: int = 2) -> str:
    """The refusal's stderr, after checking it is a clean refusal and not a crash."""
    assert result.exit_code == exit_code, (result.output, result.exception)
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    assert result.stderr.startswith("错误"), result.stderr
    assert result.stdout == ""
    return result.stderr


# -- setup ---------------------------------------------------------------------------------------


def test_init_is_idempotent(cli: Cli) -> None:
    first = cli.ok("init").stdout
    second = cli.ok("init").stdout
    keys = [line for line in first.splitlines() if "key_id=" in line]
    assert len(keys) == 1 and "根证书" in keys[0] and "省级 CA" in keys[0]
    assert keys == [line for line in second.splitlines() if "key_id=" in line]
    assert "数据库" in first
    cli.ok("migrate")
    if cli.schema is not None:
        # The URL's search_path option put every table in the test's own schema.
        engine = make_engine(cli.env["ROADCERT_DATABASE_URL"])
        try:
            with engine.connect() as conn:
                assert conn.scalar(text("SELECT current_schema()")) == cli.schema
                tables = conn.scalars(
                    text(
                        "SELECT table_name FROM information_schema.tables WHERE table_schema = :s"
                    ),
                    {"s": cli.schema},
                ).all()
        finally:
            engine.dispose()
        assert {"ecert", "key_record", "operator", "alembic_version"} <= set(tables)


def test_demo_builds_the_province_once(cli: Cli, demo: Result) -> None:
    report = _flat(demo.stdout)
    assert "演示省份：吉林省" in report
    assert "业户20户" in report  # 15, and 5 more for the deliberate non-standard records
    assert "从业人员23人" in report
    assert "issuance.authority_disabled" in report
    again = cli.ok("demo", "--no-serve", "--operators", "15", "--practitioners", "20")
    assert "演示省份已存在" in _flat(again.stdout)


def test_demo_prints_a_login_for_each_role(cli: Cli, demo: Result) -> None:
    report = _flat(demo.stdout)
    assert "演示账户（密码均为demo2026）" in report
    for role in ("省级管理员", "发证机关工作人员", "执法人员", "经营业户", "从业人员"):
        assert role in report
    users = {u["username"]: u for u in cli.json("user", "list", "--json")}
    assert {"admin", "clerk", "officer", "enterprise", "enterprise2", "driver"} <= set(users)
    assert users["clerk"]["authority_id"] and users["driver"]["holder_code"]
    # The bound holders have e-certs to show, except enterprise2, whose authority has none yet.
    held = {e["holder_code"] for e in cli.json("ecert", "list", "--json")}
    assert users["enterprise"]["holder_code"] in held
    assert users["driver"]["holder_code"] in held
    assert users["enterprise2"]["holder_code"] not in held


# -- users ---------------------------------------------------------------------------------------


def test_serve_first_builds_the_indexes_a_killed_bulk_run_left_out(
    cli: Cli, demo: Result, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = make_engine(cli.env["ROADCERT_DATABASE_URL"])
    try:
        with Session(engine) as session, session.begin():
            assert BulkRepository(session).drop_deferrable_indexes() == list(DEFERRABLE_INDEXES)
        served: list[tuple[str, int]] = []
        monkeypatch.setattr(
            uvicorn, "run", lambda app, host, port, log_level: served.append((host, port))
        )
        result = cli.ok("serve", "--port", "8123")
        assert served == [("127.0.0.1", 8123)]
        assert "已重建查询索引" in result.stderr
        with Session(engine) as session:
            assert BulkRepository(session).missing_deferrable_indexes() == []
        assert "已重建查询索引" not in cli.ok("serve").stderr  # nothing missing: nothing said
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg://postgres@127.0.0.1:1/test?connect_timeout=3",  # nothing listens
        "sqlite:////nonexistent-directory/roadcert.db",  # cannot be opened
    ],
)
@pytest.mark.parametrize("command", [("keys", "list"), ("issue", "--all", "--json")])
def test_a_database_out_of_reach_is_a_clean_refusal(
    url: str, command: tuple[str, ...], tmp_path: Path
) -> None:
    cli = Cli(
        {
            "ROADCERT_ENV": "test",
            "ROADCERT_DATA_DIR": str(tmp_path),
            "ROADCERT_PROVINCE_CODE": "220000",
            "ROADCERT_DATABASE_URL": url,
        },
        tmp_path,
    )
    refusal = _refusal(cli(*command), exit_code=1)
    assert "database.error" in refusal and "数据库操作失败" in refusal


def test_user_commands(cli: Cli, demo: Result) -> None:
    env = {"ROADCERT_NEW_PASSWORD": "inspector-2026"}
    cli.env.update(env)
    try:
        cli.ok("user", "add", "inspector", "--role", "officer", "--name", "李检查")
        refused = cli("user", "add", "inspector", "--role", "officer")
        assert "user.exists" in _refusal(refused)
        unbound = cli("user", "add", "clerk9", "--role", "clerk", "--authority", "9" * 18)
        assert "authority.not_found" in _refusal(unbound)
        cli.env["ROADCERT_NEW_PASSWORD"] = "weak"
        assert "user.password" in _refusal(cli("user", "passwd", "inspector"))
        cli.env["ROADCERT_NEW_PASSWORD"] = "inspector-2027"
        cli.ok("user", "passwd", "inspector")
    finally:
        cli.env.pop("ROADCERT_NEW_PASSWORD", None)
    listed = {u["username"]: u for u in cli.json("user", "list", "--json")}
    assert listed["inspector"]["display_name"] == "李检查"
    assert listed["inspector"]["role"] == "officer"
    token = cli.ok("user", "token", "inspector", "--days", "1").stdout.strip()
    assert token.startswith("rc_") and len(token) > 40
    assert "user.not_found" in _refusal(cli("user", "token", "nobody"))


# -- e-certs -------------------------------------------------------------------------------------


def test_ecert_list_json(ecerts: list[dict[str, Any]]) -> None:
    assert len(ecerts) > 40
    statuses = {s.value for s in EcertStatus}
    for item in ecerts:
        assert len(item["type_code"]) == 21 and item["type_code"] in CATALOGUE
        assert isinstance(item["version"], int) and item["version"] >= 1
        assert item["status"] in statuses
        assert item["holder_name"]
        assert ecert_id.check(item["identifier"]).ok, item["identifier"]
        assert item["identifier"].split(".")[5] == item["type_code"]
        assert int(item["identifier"].split(".")[-2]) == item["version"]
    # The demo's lifecycle left new versions and a revoked one behind.
    assert {"valid", "superseded", "revoked"} <= {item["status"] for item in ecerts}
    assert any(item["version"] == 2 for item in ecerts)


def test_ecert_list_filters(cli: Cli, ecerts: list[dict[str, Any]]) -> None:
    transport = cli.json("ecert", "list", "--json", "--type", "013")
    assert transport and all(item["type_code"].endswith("013") for item in transport)
    assert transport == [item for item in ecerts if item["type_code"].endswith("013")]
    full = cli.json("ecert", "list", "--json", "--type", transport[0]["type_code"])
    assert full == transport
    valid = cli.json("ecert", "list", "--json", "--status", "valid")
    assert valid and {item["status"] for item in valid} == {"valid"}
    assert len(cli.json("ecert", "list", "--json", "--limit", "3")) == 3
    table = cli.ok("ecert", "list", "--type", "013").stdout
    assert f"共 {len(transport)} 条" in table


def test_ecert_list_unknown_type_is_refused(cli: Cli, demo: Result) -> None:
    stderr = _refusal(cli("ecert", "list", "--type", "999"))
    assert "ecert.type_code" in stderr


def test_unknown_type_code_of_21_chars_is_refused(cli: Cli, demo: Result) -> None:
    stderr = _refusal(cli("ecert", "list", "--type", "11100000000019713D999"))
    assert "未知的证照类型代码" in stderr


def _write_chain(workdir: Path, chain_pem: str) -> tuple[Path, Path, Path]:
    leaf, ca, root = x509.from_pem(chain_pem)
    paths = (workdir / "leaf.pem", workdir / "ca.pem", workdir / "root.pem")
    for path, der in zip(paths, (leaf, ca, root), strict=True):
        path.write_text(x509.to_pem(der), encoding="ascii")
    return paths


def _openssl(*args: str) -> subprocess.CompletedProcess[str]:
    openssl = shutil.which("openssl")
    if openssl is None:
        if os.environ.get("CI") == "true":
            pytest.fail("openssl is required under CI=true")
        pytest.skip("openssl not installed")
    return subprocess.run([openssl, *args], capture_output=True, text=True, check=False)


def _openssl_verify(*args: str) -> subprocess.CompletedProcess[str]:
    return _openssl("verify", "-vfyopt", DISTID, *args)


@pytest.mark.parametrize("suffix", ["008", "013", "071"])
def test_ecert_show_verifies_with_openssl_and_gmssl(
    cli: Cli, ecerts: list[dict[str, Any]], suffix: str, tmp_path: Path
) -> None:
    item = next(e for e in ecerts if e["type_code"].endswith(suffix) and e["status"] == "valid")
    shown = cli.json("ecert", "show", item["identifier"], "--json")
    assert shown["identifier"] == item["identifier"]
    assert shown["type_code"] == item["type_code"] and shown["version"] == item["version"]
    assert shown["metadata"]["ZZBS"] == item["identifier"]
    assert [f["key"] for f in shown["face"]] == [i.key for i in CATALOGUE[item["type_code"]].face]
    signature = shown["signature"]
    assert signature["alg"] == "SM2-SM3"
    for key in ("value", "signed_data", "cert_chain", "key_id"):
        assert signature[key], key
    assert signature["cert_chain"].count("-----BEGIN CERTIFICATE-----") == 3

    leaf, ca, root = _write_chain(tmp_path, signature["cert_chain"])
    first = _openssl_verify("-CAfile", str(root), str(ca))
    assert first.returncode == 0 and first.stdout.strip() == f"{ca}: OK", first
    second = _openssl_verify("-partial_chain", "-CAfile", str(ca), str(leaf))
    assert second.returncode == 0 and second.stdout.strip() == f"{leaf}: OK", second
    # The root alone does not vouch for the leaf: the CA link is really checked.
    skipped = _openssl_verify("-CAfile", str(root), str(leaf))
    assert skipped.returncode != 0

    signed = base64.b64decode(signature["signed_data"])
    value = base64.b64decode(signature["value"])
    leaf_der = x509.from_pem(leaf.read_text())[0]
    assert gmssl_verify(leaf_der, value, signed)
    assert not gmssl_verify(leaf_der, value, signed + b"\0")

    # openssl checks the e-cert signature too, given the signer's public key and the user ID.
    public = _openssl("x509", "-in", str(leaf), "-pubkey", "-noout")
    assert public.returncode == 0, public
    (tmp_path / "signer.pub.pem").write_text(public.stdout, encoding="ascii")
    (tmp_path / "signed.cbor").write_bytes(signed)
    (tmp_path / "signature.der").write_bytes(value)
    pkeyutl = [
        "pkeyutl", "-verify", "-pubin", "-inkey", str(tmp_path / "signer.pub.pem"), "-rawin",
        "-digest", "sm3", "-in", str(tmp_path / "signed.cbor"),
        "-sigfile", str(tmp_path / "signature.der"),
    ]  # fmt: skip
    checked = _openssl(*pkeyutl, "-pkeyopt", DISTID)
    assert checked.returncode == 0 and "Signature Verified Successfully" in checked.stdout, checked
    # Without the default user ID OpenSSL hashes a different Z value, and the check fails.
    assert _openssl(*pkeyutl).returncode != 0
    # The same e-cert by its numeric id.
    assert cli.json("ecert", "show", str(shown["id"]), "--json")["signature"] == signature


def test_ecert_show_in_chinese(cli: Cli, ecerts: list[dict[str, Any]]) -> None:
    item = next(e for e in ecerts if e["type_code"].endswith("071"))
    out = cli.ok("ecert", "show", item["identifier"]).stdout
    assert "道路运输从业人员从业资格证" in out
    assert "从业资格类别" in out and "SM2-SM3" in out


def test_ecert_show_unknown(cli: Cli, demo: Result) -> None:
    stderr = _refusal(cli("ecert", "show", "1.2.156.3005.2.nothing", "--json"))
    assert "不存在" in stderr
    _refusal(cli("ecert", "show", "987654321"))


def test_ecert_expire(cli: Cli, demo: Result) -> None:
    assert "置为已过期" in cli.ok("ecert", "expire").stdout


# -- keys ----------------------------------------------------------------------------------------


def test_keys_export(cli: Cli, ecerts: list[dict[str, Any]]) -> None:
    exported = cli.ok("keys", "export").stdout
    certs = x509.from_pem(exported)
    assert len(certs) >= 3
    infos = [x509.load(der) for der in certs]
    assert sum(info.is_ca for info in infos) == 2  # the root and the provincial CA
    shown = cli.json("ecert", "show", ecerts[0]["identifier"], "--json")
    assert set(x509.from_pem(shown["signature"]["cert_chain"])) <= set(certs)
    listing = cli.ok("keys", "list").stdout
    assert "root" in listing and "province" in listing and "signing" in listing


# -- 不规范数据 -----------------------------------------------------------------------------------


def test_quality_lists_the_deliberate_non_standard_records(cli: Cli, demo: Result) -> None:
    listed = cli.json("quality", "--list", "--json")
    issues = listed["records"]
    assert listed["records_not_shown"] == 0 and listed["non_standard_total"] == len(issues)
    found = {(i["entity"], i["field"], i["rule"], i["value"]) for i in issues}
    expected = [
        ("operator", "uscc", "uscc.check_char", "91220101MA0Y1234X0"),
        ("operator", "uscc", "uscc.missing", None),
        ("operator", "uscc", "uscc.early_pilot", "91350100M0001TGQXM"),
        ("vehicle", "plate", "plate.serial", "吉AO1234"),
        ("vehicle", "vehicle_type", "vehicle_type.code_table", "X00"),
        ("practitioner", "qualifications.category", "qualifications.category.code_table", "99999"),
    ]
    for entry in expected:
        assert entry in found, entry
    id_issues = [i for i in issues if i["rule"] == "ric.check_char"]
    assert len(id_issues) == 1 and id_issues[0]["field"] == "id_number"
    for issue in issues:
        assert issue["authority"].endswith("交通运输局")
        assert issue["message"] and isinstance(issue["entity_id"], int)

    table = cli.ok("quality").stdout
    assert f"不规范数据共 {len(issues)} 条" in table


def test_quality_per_authority(cli: Cli, ecerts: list[dict[str, Any]]) -> None:
    issues = cli.json("quality", "--list", "--json")["records"]
    changchun = next(i["authority"] for i in issues if i["rule"] == "uscc.missing")
    # Issuer USCCs are in the e-cert identifiers; find Changchun's by an e-cert it issued.
    issuers = {e["identifier"].split(".")[6] for e in ecerts}
    per_authority = {
        code: cli.json("quality", "--list", "--json", "--authority", code)["records"]
        for code in issuers
    }
    assert sum(len(v) for v in per_authority.values()) <= len(issues)
    (mine,) = [v for v in per_authority.values() if any(i["rule"] == "uscc.missing" for i in v)]
    assert {i["authority"] for i in mine} == {changchun}
    stderr = _refusal(cli("quality", "--authority", "91220101MA0Y1234X0"))
    assert "不存在" in stderr


# -- the ledger by files -----------------------------------------------------------------------


def test_ledger_add_refusals(cli: Cli, demo: Result) -> None:
    missing = _refusal(cli("ledger", "add", "operator", str(cli.workdir / "nowhere.json")))
    assert "文件不存在" in missing
    invalid = _refusal(cli("ledger", "add", "operator", cli.file("broken.json", "{")))
    assert "JSON" in invalid
    schema = _refusal(cli("ledger", "add", "operator", cli.file("schema.json", {"name": "x"})))
    assert "输入不符合要求" in schema and "authority_id" in schema
    kind = _refusal(cli("ledger", "add", "ship", cli.file("ship.json", {})))
    assert "未知的记录类型" in kind
    stdin = _refusal(cli("ledger", "add", "authority", "-", input="[]"))
    assert "输入不符合要求" in stdin


def _refusal_cases(cli: Cli) -> list[tuple[list[str], str]]:
    return [
        (["ledger", "add", "operator", str(cli.workdir / "nowhere.json")], "input.missing"),
        (["ledger", "add", "operator", cli.file("broken.json", "{")], "input.json"),
        (["ledger", "add", "operator", cli.file("schema.json", {"name": "x"})], "bad_input"),
        (["ecert", "show", "1.2.156.3005.2.nothing"], "ecert.not_found"),
        (["ledger", "op", "practitioner", "1", "renew"], "ledger.category"),
    ]


def test_refusals_name_their_code(cli: Cli, demo: Result) -> None:
    for args, code in _refusal_cases(cli):
        stderr = _refusal(cli(*args))
        assert f"错误 [{code}]" in stderr, (args, stderr)


def test_ledger_add_and_renew_a_licence(cli: Cli, demo: Result) -> None:
    authority = cli.json(
        "ledger",
        "add",
        "authority",
        cli.file(
            "authority.json",
            {
                "name": "松原市宁江区交通运输局",
                "uscc": uscc.generate(random.Random(4), "220702", "1", "1"),
                "region_code": "220702",
                "number_prefix": "松",
                "ecert_enabled": True,
            },
        ),
    )
    assert authority["ecert_enabled"] is True
    operator = cli.json(
        "ledger",
        "add",
        "operator",
        cli.file(
            "operator.json",
            {
                "authority_id": authority["id"],
                "name": "松原市命令行物流有限公司",
                "uscc": uscc.generate(random.Random(5), "220702"),
                "address": "吉林省松原市宁江区松江大街1号",
                "region_code": "220702",
                "economic_type": "173",
            },
        ),
    )
    assert operator["ecerts"] == {"issued": [], "revoked": [], "suspended": [], "refused": []}
    today = date.today()
    licence = cli.json(
        "ledger",
        "add",
        "licence",
        cli.file(
            "licence.json",
            {
                "operator_id": operator["record"]["id"],
                "authority_id": authority["id"],
                "type_code": ROAD_TRANSPORT_LICENCE.type_code,
                "number": cert_numbers.licence_number("吉", "松", "220702", 424242),
                "business_scopes": ["02101"],
                "valid_from": (today - timedelta(days=10)).isoformat(),
                "valid_until": (today + timedelta(days=100)).isoformat(),
                "issue_date": (today - timedelta(days=10)).isoformat(),
            },
        ),
    )
    if licence["findings"]:
        pytest.fail(f"the test data should be standard: {licence['findings']}")
    (first,) = licence["ecerts"]["issued"]
    assert first["version"] == 1

    renewal = cli.file(
        "renewal.json",
        {
            "valid_from": today.isoformat(),
            "valid_until": (today + timedelta(days=1460)).isoformat(),
        },
    )
    renewed = cli.json("ledger", "op", "licence", str(licence["record"]["id"]), "renew", renewal)
    (second,) = renewed["ecerts"]["issued"]
    assert second["version"] == 2 and second["operation"] == "renew"
    assert second["identifier"].split(".")[-2] == "002"
    assert second["identifier"].split(".")[:-2] == first["identifier"].split(".")[:-2]
    assert renewed["record"]["valid_until"] == (today + timedelta(days=1460)).isoformat()

    old = cli.json("ecert", "show", first["identifier"], "--json")
    assert old["status"] == "superseded" and old["status_label"] == "无效（已换发）"
    new = cli.json("ecert", "show", second["identifier"], "--json")
    assert (
        new["status"] == "valid"
        and new["metadata"]["ZZYXQJZRQ"] == renewed["record"]["valid_until"]
    )

    cancelled = cli.json("ledger", "op", "licence", str(licence["record"]["id"]), "cancel")
    assert [e["identifier"] for e in cancelled["ecerts"]["revoked"]] == [second["identifier"]]
    again = _refusal(cli("ledger", "op", "licence", str(licence["record"]["id"]), "reissue"))
    assert "已注销" in again


def test_ledger_op_refusals(cli: Cli, demo: Result) -> None:
    no_category = _refusal(cli("ledger", "op", "practitioner", "1", "renew"))
    assert "--category" in no_category
    unknown = _refusal(cli("ledger", "op", "vehicle", "1", "fly"))
    assert "不支持业务" in unknown
    missing = _refusal(cli("ledger", "op", "licence", "987654", "reissue"))
    assert "不存在" in missing
    empty = _refusal(cli("ledger", "op", "operator", "1", "change", cli.file("empty.json", {})))
    assert "相同" in empty


def test_ledger_add_from_a_directory_is_refused(cli: Cli, demo: Result) -> None:
    _refusal(cli("ledger", "add", "operator", str(cli.workdir)))


# -- help ------------------------------------------------------------------------------------------


def _command_paths() -> list[list[str]]:
    def walk(command: Any, path: list[str]) -> Iterator[list[str]]:
        yield path
        for name, sub in sorted(getattr(command, "commands", {}).items()):
            yield from walk(sub, [*path, name])

    return list(walk(typer.main.get_command(app), []))


@pytest.mark.parametrize("path", _command_paths(), ids=lambda p: " ".join(p) or "roadcert")
def test_every_command_has_help(path: list[str]) -> None:
    result = CliRunner().invoke(app, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.stdout


def test_the_contract_commands_exist() -> None:
    paths = {" ".join(p) for p in _command_paths()}
    assert {"init", "demo", "serve", "ecert list", "ecert show", "keys export"} <= paths


# -- the documentation's examples ----------------------------------------------------------------

DOCS = Path(__file__).resolve().parents[1] / "docs"


def _blocks(doc: str, language: str) -> list[str]:
    text = (DOCS / doc).read_text(encoding="utf-8")
    return re.findall(rf"```{language}\n(.*?)```", text, flags=re.DOTALL)


def test_ledger_doc_examples_are_valid_and_standard() -> None:
    records = [json.loads(block) for block in _blocks("ledger.md", "json")]
    models = [
        schemas.AuthorityIn,
        schemas.OperatorIn,
        schemas.LicenceIn,
        schemas.VehicleIn,
        schemas.PractitionerIn,
    ]
    assert len(records) == len(models)
    parsed = [model.model_validate(record) for model, record in zip(models, records, strict=True)]
    assert uscc.check(parsed[0].uscc).ok
    assert quality.operator_findings(records[1]) == []
    assert quality.licence_findings(parsed[2].model_dump()) == []
    assert quality.vehicle_findings(parsed[3].model_dump()) == []
    assert quality.practitioner_findings(parsed[4].model_dump()) == []

    (operations,) = _blocks("ledger.md", "jsonc")
    lines = [line.split("//")[0].strip() for line in operations.splitlines()]
    changes = [json.loads(line) for line in lines if line.startswith("{")]
    change_models = [
        schemas.OperatorChange,
        schemas.LicenceChange,
        schemas.Renewal,
        schemas.Renewal,
        schemas.VehicleChange,
        schemas.PractitionerChange,
        schemas.QualificationIn,
        schemas.EntryIn,
    ]
    assert len(changes) == len(change_models)
    for model, change in zip(change_models, changes, strict=True):
        model.model_validate(change)


def test_signature_doc_checks_run(cli: Cli, ecerts: list[dict[str, Any]], tmp_path: Path) -> None:
    item = next(e for e in ecerts if e["type_code"].endswith("013") and e["status"] == "valid")
    (tmp_path / "ecert.json").write_text(
        cli.ok("ecert", "show", item["identifier"], "--json").stdout, encoding="utf-8"
    )
    (python_snippet,) = _blocks("signatures.md", "python")
    (tmp_path / "verify_ecert.py").write_text(python_snippet, encoding="utf-8")
    checked = subprocess.run(
        [sys.executable, "verify_ecert.py", "ecert.json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.splitlines() == [
        "signature: OK",
        "identifier matches: True",
        "issuer USCC matches the signer certificate: True",
    ]

    shell = [block for block in _blocks("signatures.md", "sh") if "openssl" in block]
    (openssl_snippet,) = shell
    if shutil.which("jq") is None or shutil.which("openssl") is None:
        pytest.skip("jq or openssl not installed")
    ran = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", openssl_snippet],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.splitlines() == [
        "ca.pem: OK",
        "leaf.pem: OK",
        "Signature Verified Successfully",
    ]
