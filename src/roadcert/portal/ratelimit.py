"""A per-client-IP rate limit counted in the database, so it holds across server processes.

The count is of audit events the limited act already records (``public:query:run`` for the
public query), in sliding windows: no second table, no in-memory state a second process would
not see. The queries are bounded by time and use the audit table's indexes on ``tag`` and
``at``. Two processes deciding at the same moment may both let one more through; a limit meant
to stop bulk harvesting can afford that.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from roadcert.audit.models import AuditEvent
from roadcert.errors import RoadcertError


@dataclass(frozen=True)
class Window:
    """At most ``limit`` acts in any ``seconds`` long stretch of time."""

    seconds: int
    limit: int


#: The public query: 10 a minute (a person typing), 200 a day (no harvesting of the ledger).
PUBLIC_QUERY_WINDOWS: Final = (Window(60, 10), Window(86_400, 200))


class RateLimited(RoadcertError):
    """Too many acts from one client; ``retry_after`` is the wait in whole seconds."""

    status = 429
    code = "rate_limited"

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"查询过于频繁，请 {retry_after} 秒后再试")
        self.retry_after = retry_after


class AuditWindowRepository:
    """The one query the limiter needs, on the audit table."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def nth_newest(self, tag: str, client_ip: str, since: datetime, n: int) -> datetime | None:
        """When the ``n``-th newest ``tag`` event of ``client_ip`` after ``since`` happened."""
        query = (
            select(AuditEvent.at)
            .where(AuditEvent.tag == tag, AuditEvent.at > since, AuditEvent.client_ip == client_ip)
            .order_by(AuditEvent.at.desc())
            .offset(n - 1)
            .limit(1)
        )
        return self.session.scalar(query)


class RateLimiter:
    """Refuses an act when the client's earlier acts already fill one of the windows."""

    def __init__(
        self,
        session: Session,
        tag: str,
        clock: Callable[[], datetime],
        windows: Sequence[Window] = PUBLIC_QUERY_WINDOWS,
    ) -> None:
        self.repo = AuditWindowRepository(session)
        self.tag = tag
        self.clock = clock
        self.windows = tuple(windows)

    def retry_after(self, client_ip: str) -> int:
        """Seconds until ``client_ip`` may act again; 0 when it may act now."""
        now = self.clock()
        wait = 0.0
        for window in self.windows:
            span = timedelta(seconds=window.seconds)
            # With ``limit`` acts inside the window, the next is allowed once the oldest of
            # them (the limit-th newest) leaves it.
            oldest = self.repo.nth_newest(self.tag, client_ip, now - span, window.limit)
            if oldest is not None:
                wait = max(wait, (oldest + span - now).total_seconds())
        return math.ceil(wait) if wait > 0 else 0

    def check(self, client_ip: str) -> None:
        """Raise :class:`RateLimited` when ``client_ip`` has used up a window."""
        wait = self.retry_after(client_ip)
        if wait:
            raise RateLimited(wait)
