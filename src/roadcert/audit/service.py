"""Recording audit events. Tags are ``domain:subject:action``; every tag in use is listed here."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from roadcert.audit.models import AuditEvent
from roadcert.audit.repository import AuditRepository
from roadcert.db import utcnow

#: Every audit tag with the Chinese words the holder's access list shows for it.
TAGS: dict[str, str] = {
    "accounts:user:signed_in": "登录",
    "accounts:user:sign_in_failed": "登录失败",
    "accounts:user:signed_out": "退出",
    "certificates:ecert:viewed": "查看",
    "certificates:ecert:downloaded": "下载",
    "certificates:ecert:activated": "激活",
    "verification:ecert:verified": "核验",
    "sharing:ecert:shown": "亮证",
    "sharing:show_code:verified": "亮证核验",
    "sharing:show_code:refused": "亮证核验被拒",
    "sharing:grant:created": "授权",
    "sharing:grant:withdrawn": "撤回授权",
    "sharing:grant:accessed": "授权查看",
    "sharing:grant:refused": "授权查看被拒",
    "registry:record:changed": "台账变更",
    "registry:import:completed": "存量数据导入",
    "registry:photo:submitted": "上传照片",
    "registry:photo:approved": "照片审核通过",
    "registry:photo:rejected": "照片审核不通过",
    "public:query:run": "公众查询",
}


def ecert_subject(serial: str) -> str:
    """The audit subject of a certificate: all its versions share one."""
    return f"ecert:{serial}"


class AuditService:
    """Appends events in the caller's transaction, so an event exists exactly when the act does."""

    def __init__(self, session: Session, clock: Callable[[], datetime] = utcnow) -> None:
        self.repo = AuditRepository(session)
        self.clock = clock

    def record(
        self,
        tag: str,
        actor: str,
        subject: str = "",
        *,
        user_id: int | None = None,
        client_ip: str = "",
        **details: Any,
    ) -> AuditEvent:
        """Append one event; an unknown tag is a programming error."""
        if tag not in TAGS:
            raise ValueError(f"unknown audit tag {tag!r}")
        event = AuditEvent(
            at=self.clock(),
            tag=tag,
            actor=actor[:200],
            subject=subject[:120],
            user_id=user_id,
            client_ip=client_ip[:64],
            details=details,
        )
        self.repo.add(event)
        return event

    def about(
        self, subjects: Sequence[str], tags: Sequence[str] | None = None, limit: int = 200
    ) -> list[AuditEvent]:
        """Newest events about ``subjects``."""
        return self.repo.for_subjects(subjects, tags, limit)
