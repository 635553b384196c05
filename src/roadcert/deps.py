"""FastAPI dependencies: the request's unit of work commits at the edge, never in services."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import Request

from roadcert.runtime import Runtime, Services


def get_runtime(request: Request) -> Runtime:
    """The process runtime stored on the app."""
    runtime: Runtime = request.app.state.runtime
    return runtime


def get_services(request: Request) -> Iterator[Services]:
    """Services in a transaction committed when the handler returns, rolled back if it raises."""
    runtime = get_runtime(request)
    session = runtime.sessions()
    try:
        # The actor is named once the caller is known (accounts.web.optional_principal).
        yield runtime.services(session, actor="api")
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
