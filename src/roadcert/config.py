"""Typed settings, read once from ``ROADCERT_*`` environment variables."""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

#: The passphrase a development checkout uses when none is configured. Refused elsewhere.
DEVELOPMENT_PASSPHRASE = "roadcert-development-only"


class Environment(StrEnum):
    """Where the process runs; only ``development`` and ``test`` accept insecure defaults."""

    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class Settings(BaseSettings):
    """All configuration of a roadcert process."""

    model_config = SettingsConfigDict(env_prefix="ROADCERT_", extra="ignore")

    env: Environment = Environment.DEVELOPMENT
    data_dir: Path = Field(default=Path("var"), description="keys, photos and the SQLite file")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default: SQLite file in the data dir"
    )
    key_passphrase: str = Field(
        default=DEVELOPMENT_PASSPHRASE, description="encrypts private keys at rest (SM4)"
    )
    province_code: str = Field(default="220000", description="GB/T 2260 code of the province")
    verify_host: str = Field(default="127.0.0.1:8000", description="host named in 2D codes")
    signing_key_days: int = Field(default=365, ge=1, description="life of a signing key")
    status_list_ttl: int = Field(
        default=3600, ge=1, description="seconds a status list may be cached (its ttl and exp)"
    )
    trust_list_ttl: int = Field(
        default=86400, ge=1, description="seconds from a trust list's issue to its next update"
    )

    @model_validator(mode="after")
    def _refuse_insecure_defaults(self) -> Settings:
        if self.env is Environment.PRODUCTION and self.key_passphrase == DEVELOPMENT_PASSPHRASE:
            raise ValueError(
                "ROADCERT_KEY_PASSPHRASE 未设置：生产环境不得使用开发口令 "
                "(set ROADCERT_KEY_PASSPHRASE outside development)"
            )
        if self.env is Environment.PRODUCTION and len(self.key_passphrase) < 12:
            raise ValueError("ROADCERT_KEY_PASSPHRASE 过短：至少 12 个字符")
        return self

    @property
    def resolved_database_url(self) -> str:
        """The database URL, defaulting to ``roadcert.db`` in the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'roadcert.db').resolve()}"

    @property
    def key_dir(self) -> Path:
        """Where the file key store keeps encrypted private keys."""
        return self.data_dir / "keys"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read from the environment on first use."""
    return Settings()
