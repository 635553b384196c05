"""Fixtures for the face tests. poppler-utils is a Debian package; it is required under CI=true."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.render._readers import TOOLS, Poppler


@pytest.fixture
def poppler(tmp_path: Path) -> Poppler:
    """poppler-utils, or a skip (a failure under CI=true) when it is not installed."""
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        message = f"poppler-utils not installed (apt-get install poppler-utils): {missing}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return Poppler(tmp_path)
