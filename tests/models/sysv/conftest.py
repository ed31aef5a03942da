"""The zygote the multi-actor System V comparisons spawn their actors from."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from conformance.harness.zygote import ZygoteClient

from .twin import BACKEND


@pytest.fixture(scope="module")
def zygote() -> Iterator[ZygoteClient]:
    client = ZygoteClient(BACKEND)
    try:
        yield client
    finally:
        client.close()
