"""Alembic environment: the URL comes from the caller or from roadcert's settings."""

from __future__ import annotations

from alembic import context

from roadcert.config import get_settings
from roadcert.db import make_engine
from roadcert.models import metadata

config = context.config


def _include_name(name: str | None, type_: str, parent_names: object) -> bool:
    # procrastinate owns its task-queue tables (certificates/queue.py); they are not models.
    return not (type_ == "table" and name is not None and name.startswith("procrastinate_"))


def run() -> None:
    """Run migrations online, on the connection the caller passed or a new engine."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _migrate(connection)
        return
    url = config.attributes.get("url") or get_settings().resolved_database_url
    engine = make_engine(url)
    with engine.connect() as conn:
        _migrate(conn)
    engine.dispose()


def _migrate(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=metadata,
        render_as_batch=True,  # SQLite can only ALTER tables by copying them
        compare_type=True,
        include_name=_include_name,
    )
    with context.begin_transaction():
        context.run_migrations()
    # SQLAlchemy 2 connections autobegin; make the migration durable when we own it.
    if hasattr(connection, "commit"):
        connection.commit()


if context.is_offline_mode():
    raise SystemExit("roadcert migrations run online only")
run()
