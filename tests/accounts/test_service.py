"""Users, passwords, sessions and tokens on both databases, with a clock the test moves."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from roadcert.accounts.models import Role
from roadcert.accounts.service import (
    LOCKOUT,
    MAX_FAILED_LOGINS,
    SESSION_IDLE,
    SESSION_MAX_AGE,
    AccountService,
    LoginFailed,
    NewUser,
    digest,
)
from roadcert.app import sweep_expired
from roadcert.errors import BadInput, Conflict, Forbidden
from roadcert.kit import ric, uscc
from roadcert.runtime import Runtime, Services
from tests import factories as f

PASSWORD = "correct-horse-9"


class Clock:
    """A clock the test sets; every service in the test reads it."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def accounts(services: Services, clock: Clock) -> AccountService:
    return AccountService(services.session, clock)


def _user(accounts: AccountService, name: str = "alice", role: Role = Role.OFFICER) -> None:
    accounts.create_user(NewUser(name, PASSWORD, "爱丽丝", role))


def test_passwords_are_stored_as_argon2id(accounts: AccountService) -> None:
    _user(accounts)
    user = accounts.get_user("alice")
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash
    assert accounts.authenticate("alice", PASSWORD).id == user.id


@pytest.mark.parametrize(
    ("username", "password", "code"),
    [
        ("ab", PASSWORD, "user.username"),
        ("bad name", PASSWORD, "user.username"),
        ("bob", "short1", "user.password"),
        ("bob", "lettersonly", "user.password"),
        ("bob", "1234567890", "user.password"),
    ],
)
def test_bad_names_and_weak_passwords_are_refused(
    accounts: AccountService, username: str, password: str, code: str
) -> None:
    with pytest.raises(BadInput) as caught:
        accounts.create_user(NewUser(username, password, "", Role.OFFICER))
    assert caught.value.code == code


def test_a_username_is_taken_once(accounts: AccountService) -> None:
    _user(accounts)
    with pytest.raises(Conflict):
        _user(accounts)


def test_each_role_needs_its_binding(accounts: AccountService, services: Services) -> None:
    rng = random.Random(5)
    with pytest.raises(BadInput, match="核发机关"):
        accounts.create_user(NewUser("clerk1", PASSWORD, "", Role.CLERK))
    with pytest.raises(BadInput, match="统一社会信用代码"):
        accounts.create_user(NewUser("ent1", PASSWORD, "", Role.ENTERPRISE, holder_code="123"))
    with pytest.raises(BadInput, match="身份证号码"):
        accounts.create_user(
            NewUser("drv1", PASSWORD, "", Role.PRACTITIONER, holder_code="220101199001011234")
        )
    authority = f.authority(services)
    clerk = accounts.create_user(NewUser("clerk1", PASSWORD, "", Role.CLERK, authority.id))
    assert clerk.authority_id == authority.id
    code = uscc.generate(rng, "220100", "9", "1").lower()
    enterprise = accounts.create_user(
        NewUser("ent1", PASSWORD, "", Role.ENTERPRISE, holder_code=code)
    )
    assert enterprise.holder_code == code.upper()
    number = ric.generate(rng, "220102", datetime(1985, 3, 1).date(), male=True)
    driver = accounts.create_user(
        NewUser("drv1", PASSWORD, "", Role.PRACTITIONER, holder_code=number)
    )
    assert driver.holder_code == number


def test_wrong_passwords_lock_the_account_for_a_while(
    accounts: AccountService, clock: Clock
) -> None:
    _user(accounts)
    for _ in range(MAX_FAILED_LOGINS):
        with pytest.raises(LoginFailed):
            accounts.authenticate("alice", "wrong-password-1")
    # Locked: even the right password is refused, with its own message.
    with pytest.raises(Forbidden) as caught:
        accounts.authenticate("alice", PASSWORD)
    assert caught.value.code == "auth.locked"
    clock.now += LOCKOUT + timedelta(seconds=1)
    assert accounts.authenticate("alice", PASSWORD).username == "alice"


def test_an_unknown_user_fails_like_a_wrong_password(accounts: AccountService) -> None:
    _user(accounts)
    with pytest.raises(LoginFailed) as unknown:
        accounts.authenticate("nobody", PASSWORD)
    with pytest.raises(LoginFailed) as wrong:
        accounts.authenticate("alice", "wrong-password-1")
    assert unknown.value.message == wrong.value.message


def test_sessions_end_when_idle_and_at_their_maximum_age(
    accounts: AccountService, clock: Clock
) -> None:
    _user(accounts)
    user = accounts.get_user("alice")
    token, row = accounts.open_session(user, "127.0.0.1")
    assert row.token_sm3 != token  # only the digest is kept
    principal = accounts.resolve_session(token)
    assert principal is not None and principal.role is Role.OFFICER
    assert principal.csrf_token and principal.session_id == row.id

    # Active use keeps it alive past the idle limit…
    for _ in range(3):
        clock.now += SESSION_IDLE - timedelta(minutes=5)
        assert accounts.resolve_session(token) is not None
    # …but not past the maximum age.
    clock.now = row.created_at + SESSION_MAX_AGE + timedelta(seconds=1)
    assert accounts.resolve_session(token) is None

    token, _ = accounts.open_session(user)
    clock.now += SESSION_IDLE + timedelta(seconds=1)
    assert accounts.resolve_session(token) is None
    assert accounts.resolve_session("not-a-token") is None


def test_signing_out_and_a_new_password_end_sessions(accounts: AccountService) -> None:
    _user(accounts)
    user = accounts.get_user("alice")
    first, _ = accounts.open_session(user)
    second, _ = accounts.open_session(user)
    accounts.close_session(first)
    assert accounts.resolve_session(first) is None
    assert accounts.resolve_session(second) is not None
    accounts.set_password("alice", "another-pass-2")
    assert accounts.resolve_session(second) is None
    with pytest.raises(LoginFailed):
        accounts.authenticate("alice", PASSWORD)
    assert accounts.authenticate("alice", "another-pass-2")


def test_api_tokens_expire_and_are_stored_as_digests(
    accounts: AccountService, clock: Clock
) -> None:
    _user(accounts)
    token = accounts.issue_api_token("alice", "script", days=1)
    assert token.startswith("rc_")
    principal = accounts.resolve_api_token(token)
    assert principal is not None and principal.username == "alice"
    assert principal.csrf_token is None  # bearer requests need no CSRF token
    assert accounts.resolve_api_token(token + "x") is None
    clock.now += timedelta(days=1, seconds=1)
    assert accounts.resolve_api_token(token) is None


def test_the_hourly_sweep_drops_ended_sessions(
    accounts: AccountService, clock: Clock, runtime: Runtime, services: Services
) -> None:
    _user(accounts)
    token, _ = accounts.open_session(accounts.get_user("alice"))
    services.session.commit()
    runtime.clock = clock
    assert sweep_expired(runtime) == 0
    assert accounts.repo.web_session(digest(token)) is not None
    clock.now += SESSION_MAX_AGE + timedelta(seconds=1)
    sweep_expired(runtime)
    services.session.expire_all()
    assert accounts.repo.web_session(digest(token)) is None
