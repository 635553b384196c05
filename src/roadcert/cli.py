"""The ``roadcert`` command line (DESIGN.md §8). Commands commit; services never do."""

from __future__ import annotations

import json
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from datetime import date, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from pydantic import BaseModel, ValidationError
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from roadcert import present
from roadcert.accounts.models import Role
from roadcert.accounts.service import NewUser
from roadcert.certificates import bulk
from roadcert.certificates.bulk import SLICE_SIZE
from roadcert.certificates.collection import (
    CollectionRate,
    collection_rates,
    collection_summary,
    percent,
    province_total,
)
from roadcert.certificates.models import EcertStatus, Operation
from roadcert.certificates.repository import CollectionRepository
from roadcert.config import Settings, get_settings
from roadcert.crypto.errors import CryptoError
from roadcert.crypto.keystore import FileKeyStore
from roadcert.errors import BadInput, RoadcertError, validation_error
from roadcert.kit.chinatime import china_time
from roadcert.migration.import_cli import import_ as import_command
from roadcert.migration.synth_cli import synth as synth_command
from roadcert.registry import schemas
from roadcert.registry.models import EntryKind
from roadcert.registry.schemas import MAX_ID
from roadcert.runtime import Runtime, Services

app = typer.Typer(
    help="roadcert：道路运输电子证照（台账、制发、查验）",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
ecert_app = typer.Typer(help="电子证照：列表、详情", no_args_is_help=True)
keys_app = typer.Typer(help="密钥与证书：导出、轮换、撤回", no_args_is_help=True)
ledger_app = typer.Typer(help="台账：录入记录、办理业务", no_args_is_help=True)
app.add_typer(ecert_app, name="ecert")
app.add_typer(keys_app, name="keys")
app.add_typer(ledger_app, name="ledger")
trust_list_app = typer.Typer(help="信任列表：导出签名的受信任证书列表", no_args_is_help=True)
status_list_app = typer.Typer(help="状态列表：导出核发机关签名的证照状态列表", no_args_is_help=True)
app.add_typer(trust_list_app, name="trust-list")
app.add_typer(status_list_app, name="status-list")
user_app = typer.Typer(help="账户：新增用户、修改密码、签发接口令牌", no_args_is_help=True)
app.add_typer(user_app, name="user")

out = Console()
err = Console(stderr=True)


def fail(message: str, code: str = "error", exit_code: int = 1) -> NoReturn:
    """Print a refusal as ``错误 [code]: message`` on stderr and exit."""
    err.print(f"[bold red]错误[/] {escape(f'[{code}]')}: {escape(message)}", highlight=False)
    raise typer.Exit(exit_code)


@contextmanager
def unit_of_work(actor: str = "cli", *, read_only: bool = False) -> Iterator[Services]:
    """Run a command's work in one transaction, turning refusals into clean messages
    (``read_only``: see ``Runtime.unit_of_work``)."""
    try:
        runtime = Runtime.from_settings()
    except ValidationError as exc:
        fail(str(exc.errors()[0].get("msg")), "configuration", 2)
    try:
        with runtime.unit_of_work(actor, read_only=read_only) as services:
            yield services
    except RoadcertError as exc:
        fail(exc.message, exc.code, 2 if exc.status < 500 else 1)
    except CryptoError as exc:
        fail(exc.message, exc.code, 1)
    except ValidationError as exc:
        refusal = validation_error(list(exc.errors()))
        fail(refusal.message, refusal.code, 2)
    except SQLAlchemyError as exc:
        # The database unreachable, locked or refusing: the driver's first line says which.
        cause = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        fail(f"数据库操作失败：{cause[0] if cause else type(exc).__name__}", "database.error", 1)
    finally:
        runtime.engine.dispose()


def echo_json(data: Any) -> None:
    """Print JSON (UTF-8, not ASCII-escaped) on stdout."""
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


# -- users -----------------------------------------------------------------------------------

ROLE_HELP = (
    "角色：admin 省级管理员、clerk 发证机关工作人员、officer 执法人员、"
    "enterprise 经营业户、practitioner 从业人员"
)


@user_app.command("add")
def user_add(
    username: Annotated[str, typer.Argument(help="用户名（字母、数字或 _.@-）")],
    role: Annotated[Role, typer.Option(help=ROLE_HELP)],
    name: Annotated[str, typer.Option("--name", help="显示名称")] = "",
    authority: Annotated[
        str | None, typer.Option(help="clerk 所属核发机关的统一社会信用代码")
    ] = None,
    holder: Annotated[
        str | None, typer.Option(help="enterprise 的统一社会信用代码或 practitioner 的身份证号码")
    ] = None,
    password: Annotated[
        str,
        typer.Option(
            prompt="密码", hide_input=True, confirmation_prompt=True, envvar="ROADCERT_NEW_PASSWORD"
        ),
    ] = "",
) -> None:
    """新增用户（密码以 argon2id 保存；可由 ROADCERT_NEW_PASSWORD 提供）。"""
    with unit_of_work() as svc:
        authority_id = None
        if authority is not None:
            found = svc.ledger.repo.authority_by_uscc(authority.strip().upper())
            if found is None:
                fail(f"核发机关 {authority} 不存在", "authority.not_found", 2)
            authority_id = found.id
        user = svc.accounts.create_user(
            NewUser(username, password, name, role, authority_id, holder)
        )
        out.print(f"已新增用户 {user.username}（{role.label}）")


@user_app.command("list")
def user_list(
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON 数组")] = False,
) -> None:
    """列出用户。"""
    with unit_of_work() as svc:
        rows: list[dict[str, Any]] = [
            {
                "username": u.username,
                "display_name": u.display_name,
                "role": u.role,
                "authority_id": u.authority_id,
                "holder_code": u.holder_code,
                "active": u.active,
                "last_login_at": u.last_login_at.isoformat() if u.last_login_at else None,
            }
            for u in svc.accounts.repo.users()
        ]
    if as_json:
        echo_json(rows)
        return
    table = Table()
    for column in ("用户名", "名称", "角色", "绑定", "最近登录"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            row["username"],
            row["display_name"],
            Role(row["role"]).label,
            row["holder_code"] or (f"机关 {row['authority_id']}" if row["authority_id"] else ""),
            row["last_login_at"] or "",
        )
    out.print(table)


@user_app.command("passwd")
def user_passwd(
    username: Annotated[str, typer.Argument(help="用户名")],
    password: Annotated[
        str,
        typer.Option(
            prompt="新密码",
            hide_input=True,
            confirmation_prompt=True,
            envvar="ROADCERT_NEW_PASSWORD",
        ),
    ] = "",
) -> None:
    """修改密码（该用户的全部登录会话随之失效）。"""
    with unit_of_work() as svc:
        svc.accounts.set_password(username, password)
    out.print(f"已修改 {username} 的密码")


@user_app.command("token")
def user_token(
    username: Annotated[str, typer.Argument(help="用户名")],
    name: Annotated[str, typer.Option("--name", help="令牌用途")] = "api",
    days: Annotated[int, typer.Option(help="有效天数", min=1, max=3650)] = 365,
) -> None:
    """为用户签发 JSON 接口访问令牌（Authorization: Bearer …；只显示这一次）。"""
    with unit_of_work() as svc:
        token = svc.accounts.issue_api_token(username, name, days)
    sys.stdout.write(token + "\n")


# -- setup -----------------------------------------------------------------------------------


@app.command()
def migrate() -> None:
    """创建或升级数据库结构（不创建密钥）。"""
    from roadcert.migrate import upgrade

    upgrade(get_settings().resolved_database_url)
    out.print("数据库已是最新结构")


@app.command()
def init() -> None:
    """创建或升级数据库，并在缺失时创建密钥体系（根 CA → 省级 CA）。"""
    from roadcert.migrate import upgrade

    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.resolved_database_url)
    with unit_of_work() as svc:
        root, province = svc.keys.ensure_hierarchy()
    out.print(f"数据库：{settings.resolved_database_url}")
    out.print(f"根证书 key_id={root.key_id}；省级 CA key_id={province.key_id}")


@app.command()
def demo(
    no_serve: Annotated[bool, typer.Option("--no-serve", help="只建演示数据，不启动服务")] = False,
    host: Annotated[str, typer.Option(help="监听地址")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="监听端口")] = 8000,
    operators: Annotated[int, typer.Option(help="演示业户数量")] = 120,
    practitioners: Annotated[int, typer.Option(help="演示从业人员数量")] = 300,
    seed: Annotated[int, typer.Option(help="随机种子（同一种子得到同一省份）")] = 2020,
) -> None:
    """建立演示省份（吉林）并制发全部电子证照，然后启动服务。"""
    from roadcert import demo as demo_module
    from roadcert.migrate import upgrade

    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.resolved_database_url)
    with unit_of_work("demo") as svc:
        report = demo_module.build(
            svc, operators=operators, practitioners=practitioners, seed=seed, progress=out
        )
    for line in report.lines():
        out.print(line)
    with unit_of_work("demo") as svc:
        logins = demo_module.ensure_users(svc)
    table = Table(title=f"演示账户（密码均为 {demo_module.DEMO_PASSWORD}）")
    for column in ("角色", "用户名", "绑定"):
        table.add_column(column)
    for login in logins:
        table.add_row(login.role.label, login.username, login.bound_to)
    out.print(table)
    out.print(f"登录：http://{host}:{port}/login")
    if not no_serve:
        serve(host, port)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="监听地址")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="监听端口")] = 8000,
) -> None:
    """启动网页与 JSON 接口（默认 127.0.0.1:8000）。"""
    import uvicorn

    from roadcert.app import create_app

    _rebuild_deferred_indexes(quiet=False)
    out.print(f"roadcert 服务：http://{host}:{port}/  接口文档：http://{host}:{port}/docs")
    uvicorn.run(create_app(), host=host, port=port, log_level="info")


# -- e-certs ---------------------------------------------------------------------------------


@ecert_app.command("list")
def ecert_list(
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON 数组")] = False,
    type_code: Annotated[
        str | None, typer.Option("--type", help="证照类型代码（21 位）或后 3 位")
    ] = None,
    status: Annotated[EcertStatus | None, typer.Option(help="状态")] = None,
    limit: Annotated[int | None, typer.Option(help="最多列出条数")] = None,
) -> None:
    """列出电子证照。"""
    from roadcert.catalog.types import CATALOGUE, by_suffix

    if type_code and len(type_code) == 3:
        try:
            type_code = by_suffix(type_code).type_code
        except KeyError:
            fail(f"未知的证照类型代码 {type_code}", "ecert.type_code", 2)
    if type_code and type_code not in CATALOGUE:
        fail(f"未知的证照类型代码 {type_code}", "ecert.type_code", 2)
    with unit_of_work() as svc:
        rows = svc.issuance.repo.search(type_code=type_code, status=status, limit=limit)
        items = [
            present.ecert_summary(e) | {"status": str(svc.issuance.effective_status(e))}
            for e in rows
        ]
    if as_json:
        echo_json(items)
        return
    table = Table("证照标识", "证照名称", "版本", "状态", "持证主体", "有效期至")
    for item in items:
        table.add_row(
            item["identifier"],
            CATALOGUE[item["type_code"]].name,
            f"{item['version']:03d}",
            EcertStatus(item["status"]).label,
            item["holder_name"],
            item["valid_until"],
        )
    out.print(table)
    out.print(f"共 {len(items)} 条")


@ecert_app.command("show")
def ecert_show(
    ref: Annotated[str, typer.Argument(help="证照标识或编号 id")],
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON")] = False,
) -> None:
    """显示一张电子证照：元数据、照面、签名与证书链。"""
    with unit_of_work() as svc:
        data = svc.issuance.describe(svc.issuance.get(ref))
    if as_json:
        echo_json(data)
        return
    out.print(f"[bold]{data['type_name']}[/]  {data['number']}")
    out.print(
        f"证照标识：{data['identifier']}  版本 {data['version']:03d}  状态：{data['status_label']}"
    )
    for item in data["face"]:
        value = item["value"]
        if isinstance(value, list):
            value = "；".join(
                f"{c['label']}（{c['valid_from']}至{c['valid_until']}）" for c in value
            )
        out.print(f"  {item['label']}：{value}")
    out.print(f"签名：{data['signature']['alg']}  签名密钥 {data['signature']['key_id']}")


class FaceFormat(StrEnum):
    """Formats a face renders to."""

    PDF = "pdf"
    PNG = "png"


@ecert_app.command("render")
def ecert_render(
    ref: Annotated[str, typer.Argument(help="证照标识或编号 id")],
    fmt: Annotated[FaceFormat, typer.Option("--format", help="pdf 或 png")] = FaceFormat.PDF,
    output: Annotated[Path, typer.Option("-o", "--output", help="输出文件")] = Path("ecert.pdf"),
) -> None:
    """生成电子证照照面（PDF 内嵌签名证照，可离线查验）。"""
    from roadcert.render.service import render

    with unit_of_work() as svc:
        data = render(svc, svc.issuance.get(ref), fmt.value)
    output.write_bytes(data)
    out.print(f"已写出 {output}（{len(data)} 字节）")


@ecert_app.command("code")
def ecert_code(ref: Annotated[str, typer.Argument(help="证照标识或编号 id")]) -> None:
    """打印该证照二维码的内容（HTTPS://<查验主机>/R/<BASE32>）。"""
    from roadcert.verification.codes import text_for

    with unit_of_work() as svc:
        text = text_for(svc, svc.issuance.get(ref), svc.keys.settings.verify_host)
    sys.stdout.write(text + "\n")


@ecert_app.command("expire")
def ecert_expire() -> None:
    """把有效期已届满的电子证照置为“已过期”（每日运行）。"""
    with unit_of_work() as svc:
        count = svc.issuance.expire_due()
    out.print(f"置为已过期：{count} 张")


# -- keys ------------------------------------------------------------------------------------


@keys_app.command("export")
def keys_export() -> None:
    """把所有受信任证书（根、省级 CA、各机关签名证书）以 PEM 输出到标准输出。"""
    from roadcert.crypto import x509

    with unit_of_work() as svc:
        records = svc.keys.trusted()
        pem = "".join(x509.to_pem(k.certificate) for k in records)
    if not records:
        fail("尚无密钥：请先运行 roadcert init", "keys.none", 1)
    sys.stdout.write(pem)


@keys_app.command("list")
def keys_list() -> None:
    """列出密钥体系中的全部密钥与状态。"""
    with unit_of_work() as svc:
        table = Table("id", "角色", "机关", "key_id", "状态", "有效期至")
        for k in svc.keys.all():
            table.add_row(
                str(k.id),
                k.role,
                str(k.authority_id or ""),
                k.key_id,
                k.state,
                k.not_after.date().isoformat(),
            )
    out.print(table)


@keys_app.command("rotate")
def keys_rotate(uscc: Annotated[str, typer.Argument(help="核发机关统一社会信用代码")]) -> None:
    """为核发机关换新签名密钥；旧密钥退役但仍可验证旧证照。"""
    with unit_of_work() as svc:
        authority = svc.ledger.repo.authority_by_uscc(uscc)
        if authority is None:
            raise BadInput(f"核发机关 {uscc} 不存在", code="authority.not_found")
        record = svc.keys.rotate(authority)
    out.print(f"新签名密钥 key_id={record.key_id}")


@keys_app.command("withdraw")
def keys_withdraw(
    key_record_id: Annotated[int, typer.Argument(help="密钥 id（keys list）")],
) -> None:
    """撤回一把签名密钥：此后不再受信任。"""
    with unit_of_work() as svc:
        record = svc.keys.withdraw(key_record_id)
    out.print(f"已撤回 key_id={record.key_id}")


# -- trust list and status lists -------------------------------------------------------------

OutputFile = Annotated[Path, typer.Option("-o", "--output", help="写入的文件")]


def _write_bytes(path: Path, content: bytes) -> None:
    try:
        path.write_bytes(content)
    except OSError as exc:
        fail(f"无法写入：{path}（{exc.strerror}）", "output.unwritable", 2)


def _china_time(moment: datetime) -> str:
    return f"{china_time(moment, seconds=True)}（北京时间）"


@trust_list_app.command("export")
def trust_list_export(output: OutputFile) -> None:
    """导出签名的信任列表（COSE_Sign1，省级 CA 签名；格式见 docs/trust.md）。"""
    from roadcert.crypto import trustlist
    from roadcert.crypto.models import KeyRole

    with unit_of_work() as svc:
        now = svc.issuance.clock()
        next_update = now + timedelta(seconds=svc.keys.settings.trust_list_ttl)
        token = trustlist.build_trust_list(svc.session, svc.keys, now, next_update)
    _write_bytes(output, token)
    entries = trustlist.parse_trust_list(token).entries
    roles = Counter(e.role for e in entries)
    out.print(
        f"信任列表已写入 {output}：{len(entries)} 张证书（根 {roles[KeyRole.ROOT]}、"
        f"省级 CA {roles[KeyRole.PROVINCE]}、签名 {roles[KeyRole.SIGNING]}），{len(token)} 字节，"
        f"下次更新 {_china_time(next_update)}",
        highlight=False,
        soft_wrap=True,
    )


@status_list_app.command("export")
def status_list_export(
    uscc: Annotated[str, typer.Argument(help="核发机关统一社会信用代码")], output: OutputFile
) -> None:
    """导出核发机关签名的状态列表（Token Status List，CWT；格式见 docs/trust.md）。"""
    from roadcert.certificates import status

    with unit_of_work() as svc:
        authority = svc.ledger.repo.authority_by_uscc(uscc)
        if authority is None:
            raise BadInput(f"核发机关 {uscc} 不存在", code="authority.not_found")
        name = authority.name
        ttl = svc.keys.settings.status_list_ttl
        token = status.build_status_list(
            svc.session, authority, svc.keys, svc.issuance.clock(), ttl
        )
    _write_bytes(output, token)
    parsed = status.parse_status_list(token)
    counts = parsed.counts()
    out.print(
        f"状态列表已写入 {output}：{name}，{parsed.size} 个条目，其中无效 "
        f"{counts[status.ListStatus.INVALID]}、暂停 {counts[status.ListStatus.SUSPENDED]}、"
        f"已换发 {counts[status.ListStatus.SUPERSEDED]}，{len(token)} 字节，"
        f"有效至 {_china_time(parsed.stale_after or parsed.issued_at)}",
        highlight=False,
        soft_wrap=True,
    )


# -- quality ---------------------------------------------------------------------------------


@app.command()
def quality(
    authority: Annotated[
        str | None, typer.Option(help="只看该核发机关（统一社会信用代码）")
    ] = None,
    as_list: Annotated[bool, typer.Option("--list", help="逐条列出不规范数据")] = False,
    limit: Annotated[int, typer.Option(min=1, help="--list 最多列出的条数")] = 200,
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON")] = False,
) -> None:
    """按核发机关统计制证率、年度激活率（附录 A 计分）和不规范数据；--list 逐条列出不规范数据。"""
    with unit_of_work(read_only=True) as svc:
        authority_id = None
        if authority:
            found = svc.ledger.repo.authority_by_uscc(authority)
            if found is None:
                raise BadInput(f"核发机关 {authority} 不存在", code="authority.not_found")
            authority_id = found.id
        today = svc.issuance.today()
        rates = collection_rates(svc.session, today, authority_id)
        records = _quality_records(svc, authority_id, limit) if as_list else []
    total = province_total(rates) if authority_id is None else None
    open_total = sum(r.non_standard_total for r in rates)
    if as_json:
        summary = collection_summary(rates, today, whole_province=authority_id is None)
        if as_list:
            summary["records"] = records
            summary["records_not_shown"] = open_total - len(records)
        echo_json(summary)
        return
    if as_list:
        _print_quality_records(records, open_total)
        return
    _print_rates(rates, total, today)


def _quality_records(svc: Services, authority_id: int | None, limit: int) -> list[dict[str, Any]]:
    """The first ``limit`` open 不规范数据 findings as ``quality --list`` prints them."""
    names = {a.id: a.name for a in svc.ledger.repo.authorities()}
    return [
        {
            "authority": names.get(i.authority_id, ""),
            "entity": i.entity,
            "entity_id": i.entity_id,
            "field": i.field,
            "rule": i.rule,
            "message": i.message,
            "value": i.value,
        }
        for i in CollectionRepository(svc.session).open_issues(authority_id, limit)
    ]


def _print_quality_records(records: list[dict[str, Any]], open_total: int) -> None:
    table = Table("核发机关", "记录", "字段", "规则", "原因")
    for i in records:
        table.add_row(
            i["authority"],
            f"{i['entity']} {i['entity_id']}",
            i["field"],
            i["rule"],
            i["message"],
        )
    out.print(table)
    per_authority = Counter(i["authority"] for i in records)
    for name, count in sorted(per_authority.items()):
        out.print(f"{name}：{count} 条")
    if open_total > len(records):
        out.print(f"另有 {open_total - len(records)} 条未列出（用 --limit 调整）")
    out.print(f"不规范数据共 {open_total} 条")


#: Columns of the rates table after 核发机关 (seed 002 App. A items 1 and 2).
RATE_HEADERS = (
    "有效证照",
    "已制电子证照",
    "制证率",
    "得分",
    "本年制发",
    "已激活",
    "激活率",
    "得分",
)


def _print_rates(rates: list[CollectionRate], total: CollectionRate | None, today: date) -> None:
    """The per-authority table of 制证率 and 激活率, then 不规范数据 by rule."""
    table = Table("核发机关", title=f"制证率与年度激活率（{today.isoformat()}，附录 A 各 40 分）")
    for header in RATE_HEADERS:
        table.add_column(header, justify="right")
    shown = [*rates, total] if total else rates
    for r in shown:
        disabled = not r.ecert_enabled and r is not total
        name = f"{r.authority_name}（未启用）" if disabled else r.authority_name
        table.add_row(
            f"[bold]{escape(name)}[/]" if r is total else escape(name),
            str(r.valid),
            str(r.with_ecert),
            percent(r.rate),
            "—" if r.score is None else str(r.score),
            str(r.issued_this_year),
            str(r.activated_this_year),
            percent(r.activation_rate),
            "—" if r.activation_score is None else str(r.activation_score),
        )
    _print_whole(table)
    issues = Table("核发机关", "规则", title="不规范数据（按规则）")
    issues.add_column("条数", justify="right")
    for r in rates:
        for rule, count in r.non_standard.items():
            issues.add_row(escape(r.authority_name), rule, str(count))
    open_total = sum(r.non_standard_total for r in rates)
    if open_total:
        _print_whole(issues)
    out.print(f"不规范数据共 {open_total} 条（roadcert quality --list 逐条列出）")


def _print_whole(table: Table) -> None:
    """Print a table at its natural width when stdout is a file or a pipe, where rich would
    otherwise squeeze it into 80 columns and cut names and figures to "…"."""
    if out.is_terminal:
        out.print(table)
        return
    natural = out.measure(table, options=out.options.update_width(1000)).maximum
    Console(width=max(out.width, natural)).print(table)


# -- ledger ----------------------------------------------------------------------------------

ADD: dict[str, tuple[type[BaseModel], Callable[[Services, Any], Any]]] = {
    "authority": (schemas.AuthorityIn, lambda s, d: s.ledger.create_authority(d)),
    "operator": (schemas.OperatorIn, lambda s, d: s.business.new_operator(d)),
    "licence": (schemas.LicenceIn, lambda s, d: s.business.new_licence(d)),
    "vehicle": (schemas.VehicleIn, lambda s, d: s.business.new_vehicle(d)),
    "practitioner": (schemas.PractitionerIn, lambda s, d: s.business.new_practitioner(d)),
}

OPERATIONS: dict[tuple[str, str], tuple[type[BaseModel] | None, Callable[..., Any]]] = {
    ("operator", "change"): (
        schemas.OperatorChange,
        lambda s, i, d, c: s.business.change_operator(i, d),
    ),
    ("licence", "change"): (
        schemas.LicenceChange,
        lambda s, i, d, c: s.business.change_licence(i, d),
    ),
    ("licence", "renew"): (schemas.Renewal, lambda s, i, d, c: s.business.renew_licence(i, d)),
    ("licence", "review"): (
        schemas.Renewal,
        lambda s, i, d, c: s.business.renew_licence(i, d, Operation.REVIEW),
    ),
    ("licence", "reissue"): (None, lambda s, i, d, c: s.business.reissue_licence(i)),
    ("licence", "cancel"): (None, lambda s, i, d, c: s.business.cancel_licence(i)),
    ("vehicle", "change"): (
        schemas.VehicleChange,
        lambda s, i, d, c: s.business.change_vehicle(i, d),
    ),
    ("vehicle", "review"): (schemas.Renewal, lambda s, i, d, c: s.business.review_vehicle(i, d)),
    ("vehicle", "renew"): (schemas.Renewal, lambda s, i, d, c: s.business.renew_vehicle(i, d)),
    ("vehicle", "reissue"): (None, lambda s, i, d, c: s.business.reissue_vehicle(i)),
    ("vehicle", "cancel"): (None, lambda s, i, d, c: s.business.cancel_vehicle(i)),
    ("practitioner", "change"): (
        schemas.PractitionerChange,
        lambda s, i, d, c: s.business.change_practitioner(i, d),
    ),
    ("practitioner", "add-qualification"): (
        schemas.QualificationIn,
        lambda s, i, d, c: s.business.add_qualification(i, d),
    ),
    ("practitioner", "renew"): (
        schemas.Renewal,
        lambda s, i, d, c: s.business.renew_qualification(i, c, d),
    ),
    ("practitioner", "reissue"): (None, lambda s, i, d, c: s.business.reissue_qualification(i, c)),
    ("practitioner", "cancel"): (None, lambda s, i, d, c: s.business.cancel_qualification(i, c)),
    ("practitioner", "integrity"): (
        schemas.EntryIn,
        lambda s, i, d, c: s.business.add_entry(i, EntryKind.INTEGRITY_ASSESSMENT, d),
    ),
    ("practitioner", "education"): (
        schemas.EntryIn,
        lambda s, i, d, c: s.business.add_entry(i, EntryKind.CONTINUING_EDUCATION, d),
    ),
}


def _read_json(path: str | None) -> Any:
    if path is None:
        return {}
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
        return json.loads(text)
    except FileNotFoundError:
        fail(f"文件不存在：{path}", "input.missing", 2)
    except OSError as exc:
        fail(f"无法读取：{path}（{exc.strerror}）", "input.unreadable", 2)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        fail(f"不是有效的 UTF-8 JSON：{exc}", "input.json", 2)


@ledger_app.command("add")
def ledger_add(
    kind: Annotated[
        str, typer.Argument(help="authority | operator | licence | vehicle | practitioner")
    ],
    file: Annotated[str, typer.Argument(help="JSON 文件（- 为标准输入），字段同 JSON 接口")],
) -> None:
    """录入一条台账记录（新增业务：同步制发电子证照）。"""
    if kind not in ADD:
        fail(f"未知的记录类型 {kind}；可选：{', '.join(ADD)}", "ledger.kind", 2)
    model, action = ADD[kind]
    payload = _read_json(file)
    with unit_of_work() as svc:
        result = action(svc, model.model_validate(payload))
        data = present.outcome(result) if hasattr(result, "effect") else present.snapshot(result)
    echo_json(data)


@ledger_app.command("op")
def ledger_op(
    kind: Annotated[str, typer.Argument(help="operator | licence | vehicle | practitioner")],
    record_id: Annotated[int, typer.Argument(help="记录 id", min=1, max=MAX_ID)],
    operation: Annotated[
        str,
        typer.Argument(
            help="change | renew | review | reissue | cancel | add-qualification | integrity"
            " | education"
        ),
    ],
    file: Annotated[str | None, typer.Argument(help="JSON 文件（- 为标准输入）")] = None,
    category: Annotated[
        str | None, typer.Option(help="从业资格类别（从业人员的换证/补证/注销）")
    ] = None,
) -> None:
    """办理业务：变更、换证、审验、补证、注销、签注，并同步生成电子证照效果。"""
    entry = OPERATIONS.get((kind, operation))
    if entry is None:
        choices = sorted(op for k, op in OPERATIONS if k == kind)
        fail(
            f"{kind} 不支持业务 {operation}；可选：{', '.join(choices) or '无'}",
            "ledger.operation",
            2,
        )
    model, action = entry
    if kind == "practitioner" and operation in ("renew", "reissue", "cancel") and not category:
        fail("请用 --category 指定从业资格类别", "ledger.category", 2)
    payload = _read_json(file)
    with unit_of_work() as svc:
        data = model.model_validate(payload) if model else None
        result = action(svc, record_id, data, category)
        echo_json(present.outcome(result))


@ledger_app.command("photo")
def ledger_photo(
    kind: Annotated[str, typer.Argument(help="vehicle | practitioner")],
    record_id: Annotated[int, typer.Argument(help="记录 id", min=1, max=MAX_ID)],
    file: Annotated[Path, typer.Argument(help="照片文件（JPEG 或 PNG，不超过 2 MB）")],
) -> None:
    """上传车辆照片或个人照片，并为其证照制发新版本（或首次制发）。"""
    if kind not in ("vehicle", "practitioner"):
        fail(f"只有车辆和从业人员有照片，不支持 {kind}", "ledger.kind", 2)
    try:
        content = file.read_bytes()
    except OSError as exc:
        fail(f"无法读取：{file}（{exc.strerror}）", "input.unreadable", 2)
    with unit_of_work() as svc:
        if kind == "vehicle":
            result = svc.business.vehicle_photo(record_id, content)
        else:
            result = svc.business.practitioner_photo(record_id, content)
        echo_json(present.outcome(result))


# -- migration (存量数据归集): docs/migration.md -------------------------------------------------

app.command("synth")(synth_command)
app.command("import")(import_command)


# -- bulk issuance ---------------------------------------------------------------------------


def _rebuild_deferred_indexes(*, quiet: bool) -> tuple[list[str], float]:
    """Build the e-cert indexes a large ``issue --all`` left out (``bulk.defer_indexes``),
    if any are missing; (their names, seconds)."""
    started = time.perf_counter()
    with unit_of_work("cli") as svc:
        if not bulk.missing_indexes(svc.session):
            return [], 0.0
        with err.status("重建查询索引（持证主体代码、有效期）…") if not quiet else nullcontext():
            rebuilt = bulk.restore_indexes(svc.session)
    seconds = time.perf_counter() - started
    if not quiet:
        err.print(f"已重建查询索引 {'、'.join(rebuilt)}，用时 {seconds:.1f} 秒")
    return rebuilt, seconds


@app.command("issue")
def issue_all(
    all_due: Annotated[
        bool, typer.Option("--all", help="制发台账中所有应制未制的电子证照（存量归集）")
    ] = False,
    authority: Annotated[
        str | None, typer.Option(help="只制发该核发机关（统一社会信用代码）的证照")
    ] = None,
    type_code: Annotated[
        str | None, typer.Option("--type", help="只制发该证照类型（21 位证照类型代码）")
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(min=1, max=256, help="签名进程数，缺省为本机 CPU 核数"),
    ] = None,
    report: Annotated[
        Path | None,
        typer.Option(help="未能制发的记录清单（CSV）写到此文件；缺省写到当前目录"),
    ] = None,
    slice_size: Annotated[
        int, typer.Option(min=10, max=100_000, help="每个工作分片的台账记录数")
    ] = SLICE_SIZE,
    indexes: Annotated[
        bulk.IndexMode,
        typer.Option(
            help="持证主体代码、有效期两个查询索引：defer 制发期间不维护、完成后一次重建（快），"
            "keep 边制发边维护；auto 在台账记录不少于 10 万条且多于已有电子证照时 defer",
            case_sensitive=False,
        ),
    ] = bulk.IndexMode.AUTO,
    use_queue: Annotated[
        bool,
        typer.Option(
            "--queue",
            help="不在本机制发：把分片加入 PostgreSQL 任务队列，由各机器的 roadcert worker 制发",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="结果输出 JSON")] = False,
) -> None:
    """批量制发：为台账中每一张有效证照制发电子证照，多进程签名，可中断、可续跑。

    已有电子证照的记录跳过；不能制发的记录（不规范数据、缺照片、已过期……）逐条列入清单，
    写明原因，供补正后再次运行。运行中被中断（包括 kill -9）后重新运行即可从中断处继续，
    不会重复制发。
    """
    if not all_due:
        fail("请加 --all：批量制发台账中所有应制未制的电子证照", "issue.scope", 2)
    started = time.perf_counter()
    settings = get_settings()
    if use_queue:
        # The task queue (procrastinate, psycopg) is imported by the commands that use it:
        # it is a fifth of the command line's start-up, in every worker process too.
        from roadcert.certificates import queue as issue_queue

        try:  # refuses SQLite before any key is made
            issue_queue.conninfo(settings.resolved_database_url)
        except RoadcertError as exc:
            fail(exc.message, exc.code, 2)
    with unit_of_work("cli") as svc:
        work = bulk.plan(
            svc.session, authority_uscc=authority, type_code=type_code, slice_size=slice_size
        )
        bulk.ensure_keys(svc.session, svc.keys, work.authorities)
        # Queued slices are issued by workers elsewhere, with no end this command would see.
        deferred = [] if use_queue else bulk.defer_indexes(svc.session, work, indexes)
    if deferred is None:
        err.print("电子证照表正被其他事务占用，查询索引改为边制发边维护（不影响结果，只是较慢）")
        deferred = []
    for skipped, held in work.disabled:
        err.print(f"核发机关“{skipped.name}”未启用电子证照，跳过其 {held} 条台账记录")
    if use_queue:
        _defer(settings, work, as_json)
        return
    setup = bulk.WorkerSetup(
        settings.resolved_database_url,
        FileKeyStore(settings.key_dir, settings.key_passphrase),
        settings,
    )
    report_path = report or Path(f"issue-refusals-{datetime.now():%Y%m%d-%H%M%S}.csv")
    refusals = bulk.RefusalWriter(report_path)
    progress = Progress(
        TextColumn("制发"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("条记录 · 新制 {task.fields[issued]} 张"),
        TextColumn("{task.fields[rate]}"),
        TimeRemainingColumn(),
        console=err,
        disable=as_json,
    )
    issued = 0

    def on_result(piece: bulk.Slice, result: bulk.SliceResult) -> None:
        nonlocal issued
        issued += result.issued
        refusals.write(result.refused)
        elapsed = time.perf_counter() - started
        rate = f"{issued / elapsed:,.0f} 张/秒" if elapsed else ""
        progress.update(task, advance=piece.records, issued=issued, rate=rate)

    try:
        with progress:
            task = progress.add_task("issue", total=work.records, issued=0, rate="")
            total = bulk.run(work, setup, workers=workers, on_result=on_result)
    except RoadcertError as exc:
        fail(exc.message, exc.code, 1)
    finally:
        refusals.close()
        # Also after a failure: the e-certs committed so far are kept and must be found.
        rebuilt, index_seconds = _rebuild_deferred_indexes(quiet=as_json)
    elapsed = time.perf_counter() - started
    by_code = Counter(r.code for r in total.refused)
    summary = {
        "records": work.records,
        "issued": total.issued,
        "existing": total.existing,
        "refused": len(total.refused),
        "refused_by_code": dict(by_code.most_common()),
        "retries": total.retries,
        "seconds": round(elapsed, 2),
        "ecerts_per_second": round(total.issued / elapsed, 1) if elapsed else None,
        "report": str(report_path) if refusals.count else None,
        "disabled_authorities": [
            {"authority": a.name, "uscc": a.uscc, "records": held} for a, held in work.disabled
        ],
        "time_split": total.timing.as_dict(),
        "indexes_deferred": deferred,
        "indexes_rebuilt": rebuilt,
        "index_seconds": round(index_seconds, 2),
    }
    if as_json:
        echo_json(summary)
        return
    out.print(
        f"检查台账记录 {work.records} 条：新制发电子证照 {total.issued} 张，"
        f"已有 {total.existing} 张，未能制发 {len(total.refused)} 张；"
        f"用时 {elapsed:.1f} 秒（{summary['ecerts_per_second'] or 0:,.0f} 张/秒）"
    )
    if by_code:
        table = Table("原因代码", "张数")
        for code, count in by_code.most_common():
            table.add_row(code, str(count))
        out.print(table)
        out.print(f"未能制发的记录及原因见 {report_path}")


def _defer(settings: Settings, work: bulk.Plan, as_json: bool) -> None:
    from roadcert.certificates import queue as issue_queue

    try:
        added = issue_queue.defer_plan(settings, work)
        status = issue_queue.queue_status(settings)
    except RoadcertError as exc:
        fail(exc.message, exc.code, 2 if exc.status < 500 else 1)
    if as_json:
        echo_json(
            {
                "slices": len(work.slices),
                "deferred": added,
                "records": work.records,
                "queue": status,
                "disabled_authorities": [
                    {"authority": a.name, "uscc": a.uscc, "records": held}
                    for a, held in work.disabled
                ],
            }
        )
        return
    out.print(
        f"已将 {added} 个分片（共 {len(work.slices)} 个，台账记录 {work.records} 条）加入制发队列；"
        f"待办 {status['todo']}，进行中 {status['doing']}，完成 {status['succeeded']}，"
        f"失败 {status['failed']}"
    )
    out.print("在每台机器上运行 roadcert worker --processes <核数> --no-wait 开始制发")


@app.command()
def worker(
    processes: Annotated[
        int | None, typer.Option(min=1, max=256, help="本机制发进程数，缺省为 CPU 核数")
    ] = None,
    wait: Annotated[
        bool, typer.Option("--wait/--no-wait", help="队列空了以后继续等待新任务（缺省）或退出")
    ] = True,
    report: Annotated[
        Path | None,
        typer.Option(help="本机未能制发的记录清单（CSV）；缺省写到当前目录"),
    ] = None,
    status_only: Annotated[bool, typer.Option("--status", help="只显示队列状态")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="结果输出 JSON")] = False,
) -> None:
    """从 PostgreSQL 任务队列领取批量制发分片并制发（roadcert issue --all --queue 入队）。

    可在多台机器上同时运行，各机器须能连到同一数据库并持有同一密钥库。被中断的分片会由
    其他工作进程重新领取，不会重复制发。
    """
    from roadcert.certificates import queue as issue_queue

    settings = get_settings()
    if status_only:
        try:
            status = issue_queue.queue_status(settings)
        except RoadcertError as exc:
            fail(exc.message, exc.code, 2 if exc.status < 500 else 1)
        if as_json:
            echo_json(status)
        else:
            out.print("，".join(f"{name} {count}" for name, count in status.items()))
        return
    report_path = report or Path(f"worker-refusals-{datetime.now():%Y%m%d-%H%M%S}.csv")
    refusals = bulk.RefusalWriter(report_path)
    progress = Progress(
        SpinnerColumn(),
        TextColumn("制发：已完成 {task.completed} 个分片 · 新制 {task.fields[issued]} 张"),
        console=err,
        disable=as_json,
    )
    issued = 0

    def on_result(piece: bulk.Slice, result: bulk.SliceResult) -> None:
        nonlocal issued
        issued += result.issued
        refusals.write(result.refused)
        progress.update(task, advance=1, issued=issued)

    try:
        with progress:
            task = progress.add_task("worker", total=None, issued=0)
            summary = issue_queue.run_workers(
                settings, processes or os.cpu_count() or 1, wait, on_result
            )
            status = issue_queue.queue_status(settings)
    except RoadcertError as exc:
        fail(exc.message, exc.code, 2 if exc.status < 500 else 1)
    finally:
        refusals.close()
    result = summary.as_dict() | {
        "queue": status,
        "report": str(report_path) if refusals.count else None,
    }
    if as_json:
        echo_json(result)
        return
    out.print(
        f"本机制发 {summary.slices} 个分片：新制发 {summary.issued} 张，"
        f"已有 {summary.existing} 张，未能制发 {summary.refused} 张；"
        f"队列待办 {status['todo']}，失败 {status['failed']}"
    )
    if refusals.count:
        out.print(f"未能制发的记录及原因见 {report_path}")


@app.command()
def verify(
    source: Annotated[
        str, typer.Argument(help="二维码文本，或二维码图片（PNG/JPEG）、roadcert PDF 的文件路径")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON")] = False,
    trust_list: Annotated[
        Path | None, typer.Option(help="离线：受信任列表文件（roadcert trust-list export）")
    ] = None,
    root: Annotated[
        Path | None, typer.Option(help="离线：根证书 PEM（roadcert keys export 的输出即可）")
    ] = None,
    status_list: Annotated[
        list[Path] | None,
        typer.Option(help="离线：状态列表文件，可多次给出（roadcert status-list export）"),
    ] = None,
) -> None:
    """查验电子证照：签名、签发机关、状态、有效期、证照标识分别给出；全部通过时退出码为 0。

    给出 --trust-list 与 --root 时离线查验，不需要数据库；否则查询本机电子证照库。
    """
    from datetime import UTC, datetime

    from roadcert.verification import inputs
    from roadcert.verification.service import verify_cose
    from roadcert.verification.sources import OnlineSource, load_offline

    try:
        path = Path(source)
        # os.path.isfile is False on any OS error, e.g. a 500-character base32 "file name".
        is_file = os.path.isfile(source)
        cose = (
            inputs.cose_from_bytes(path.read_bytes()) if is_file else inputs.cose_from_text(source)
        )
        now = datetime.now(UTC)
        if trust_list is not None or root is not None:
            if trust_list is None or root is None:
                fail("离线查验需同时给出 --trust-list 与 --root", "verify.offline_args", 2)
            offline = load_offline(
                trust_list.read_bytes(),
                root.read_bytes(),
                [p.read_bytes() for p in status_list or []],
                now,
            )
            result = verify_cose(cose, offline, now)
        else:
            with unit_of_work("verify") as svc:
                result = verify_cose(cose, OnlineSource(svc), now)
    except RoadcertError as exc:
        fail(exc.message, exc.code, 2)
    except OSError as exc:
        fail(f"无法读取文件（{exc.strerror}）", "input.unreadable", 2)
    data = result.to_dict()
    if as_json:
        echo_json(data)
    else:
        out.print("[bold green]✔ 查验通过[/]" if result.ok else "[bold red]✘ 查验未通过[/]")
        for name, key in (
            ("签名", "signature"),
            ("签发机关", "issuer"),
            ("证照状态", "status"),
            ("有效期", "validity"),
            ("证照标识", "identifier"),
        ):
            part = data[key]
            mark = "✔" if part["ok"] else "✘"
            out.print(f"  {mark} {name}：{escape(part['message'])}")
        face = data.get("face")
        if face:
            out.print(f"  {face['holder_name']} · {face['number']} · {face['identifier']}")
    raise typer.Exit(0 if result.ok else 1)


def main() -> None:
    """Entry point of the ``roadcert`` script."""
    app()
