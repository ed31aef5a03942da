"""The zygote the model-against-kernel comparisons spawn their actors from (one per module)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from conformance.harness.zygote import ZygoteClient

from .multi import BACKEND


@pytest.fixture(scope="module")
def zygote() -> Iterator[ZygoteClient]:
    client = ZygoteClient(BACKEND)
    try:
        yield client
    finally:
        client.close()
