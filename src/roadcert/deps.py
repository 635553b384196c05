"""FastAPI dependencies: the request's unit of work commits at the edge, never in services."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request

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


#: The request's services. ``scope="function"`` commits before the response is sent: with the
#: default scope FastAPI runs the commit after sending, and a browser following the 303 of a form
#: post could read the page before the change is in. Every route uses this one alias, so a request
#: opens one session however many dependencies ask for it.
Svc = Annotated[Services, Depends(get_services, scope="function")]
