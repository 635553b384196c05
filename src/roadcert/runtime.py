"""Wiring: one Runtime per process (settings, engine, key store) and the services of a session."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from roadcert.accounts.service import AccountService
from roadcert.audit.service import AuditService
from roadcert.certificates.operations import BusinessService
from roadcert.certificates.service import Clock, IssuanceService
from roadcert.config import Settings, get_settings
from roadcert.crypto.keystore import FileKeyStore, KeyStore
from roadcert.crypto.service import KeyService
from roadcert.db import make_engine, make_sessionmaker, read_transaction, transaction, utcnow
from roadcert.registry.photos import PhotoReviewService
from roadcert.registry.service import LedgerService


@dataclass
class Services:
    """The domain services working in one session."""

    session: Session
    keys: KeyService
    ledger: LedgerService
    issuance: IssuanceService
    business: BusinessService
    accounts: AccountService
    audit: AuditService
    photos: PhotoReviewService

    def act_as(self, actor: str, scope: int | None = None) -> None:
        """Name the actor of ledger history and limit ledger work to one authority."""
        self.ledger.actor = actor
        self.ledger.scope = scope
        self.issuance.actor = actor


@dataclass
class Runtime:
    """What a process holds for its lifetime."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    store: KeyStore
    clock: Clock = utcnow

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> Runtime:
        """Open the configured database and key store."""
        settings = settings or get_settings()
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = make_engine(settings.resolved_database_url)
        store = FileKeyStore(settings.key_dir, settings.key_passphrase)
        return cls(settings, engine, make_sessionmaker(engine), store)

    def services(self, session: Session, actor: str = "system") -> Services:
        """Services bound to ``session``."""
        keys = KeyService(session, self.store, self.settings)
        ledger = LedgerService(session, actor)
        issuance = IssuanceService(session, keys, self.clock, actor)
        business = BusinessService(ledger, issuance)
        return Services(
            session,
            keys,
            ledger,
            issuance,
            business,
            AccountService(session, self.clock),
            AuditService(session, self.clock),
            PhotoReviewService(session, business, self.clock),
        )

    @contextmanager
    def unit_of_work(self, actor: str = "system", *, read_only: bool = False) -> Iterator[Services]:
        """Services in a transaction that commits on success and rolls back on error;
        ``read_only``: one that only reads, rolled back, taking no write lock on SQLite
        (``db.read_transaction``)."""
        with (read_transaction if read_only else transaction)(self.sessions) as session:
            yield self.services(session, actor)
