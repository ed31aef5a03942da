"""Calling an operation's handler in a model, with the two ways a call can be wrong.

Every model keeps a table from operation names to handlers
``handler(world, process, *args)``. An operation of the catalogue the table
lacks is *unmodelled* (the clause is then unsupported on the model); a name
outside the catalogue, or arguments the handler cannot take, is a mistake in
the spec or machine that asked for it.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

from ..backends.ops import OPS
from .errors import ModelUsageError, Unmodelled


def call_handler(handlers: Mapping[str, Callable[..., Any]], world: Any, proc: Any, op: str,
                 args: tuple[Any, ...], scope: str) -> Any:
    """Run ``handlers[op](world, proc, *args)``; ``scope`` names the model in the Unmodelled reason."""
    handler = handlers.get(op)
    if handler is None:
        if op in OPS:
            raise Unmodelled(f"{op}: outside {scope}")
        raise ModelUsageError(f"unknown operation {op!r}")
    try:
        inspect.signature(handler).bind(world, proc, *args)
    except TypeError as exc:
        raise ModelUsageError(f"{op}{args!r}: {exc}") from None
    return handler(world, proc, *args)
