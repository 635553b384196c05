"""Create or upgrade a database to the newest schema with Alembic."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection


def alembic_config(url: str | None = None, connection: Connection | None = None) -> Config:
    """An Alembic configuration pointing at roadcert's migrations, needing no ini file."""
    config = Config()
    config.set_main_option("script_location", "roadcert:migrations")
    if url is not None:
        config.attributes["url"] = url
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(url: str | None = None, connection: Connection | None = None) -> None:
    """Bring the database at ``url`` (or on ``connection``) to the newest revision."""
    command.upgrade(alembic_config(url, connection), "head")
