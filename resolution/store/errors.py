"""What the store says when the database fails, in its own words: the driver stays inside.

Every public function of the store is `@guarded`: a driver error that leaves it becomes
`Unavailable` (the database did not answer in time, or is restarting: the caller may try
again) or `StoreError` (the database refused a command: a bug of ours). Inside a transaction
the driver's own errors pass through untouched, because `with_transaction` reads their labels
to retry (only the outermost store call translates).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

from pymongo.errors import ConnectionFailure, ExecutionTimeout, PyMongoError

F = TypeVar("F", bound=Callable[..., Any])
_depth: ContextVar[int] = ContextVar("store_depth", default=0)


class StoreError(Exception):
    """The database refused a command (not a refusal of the domain's: a fault of ours)."""


class Unavailable(StoreError):
    """The database did not answer (down, restarting, too slow): nothing to fix but wait.

    `maybe_committed`: a commit was sent and never confirmed, so the change may be recorded.
    """

    def __init__(self, message: str, maybe_committed: bool = False) -> None:
        super().__init__(message)
        self.maybe_committed = maybe_committed


def translated(error: PyMongoError) -> StoreError:
    """The store's exception for a driver error."""
    if isinstance(error, ConnectionFailure | ExecutionTimeout):
        unconfirmed = error.has_error_label("UnknownTransactionCommitResult")
        return Unavailable(str(error), maybe_committed=unconfirmed)
    return StoreError(str(error))


@contextmanager
def _translating() -> Iterator[None]:
    token = _depth.set(_depth.get() + 1)
    try:
        yield
    except PyMongoError as error:
        if _depth.get() > 1:
            raise  # inside another store call (a transaction's work): it translates
        raise translated(error) from error
    finally:
        _depth.reset(token)


_END = object()


def guarded(function: F) -> F:
    """Translates driver errors leaving `function` (a function or a generator function)."""
    if inspect.isgeneratorfunction(function):

        @functools.wraps(function)
        def generate(*args, **kwargs):
            iterator = function(*args, **kwargs)
            while True:
                with _translating():
                    item = next(iterator, _END)
                if item is _END:
                    return
                yield item

        return generate  # type: ignore[return-value]

    @functools.wraps(function)
    def call(*args, **kwargs):
        with _translating():
            return function(*args, **kwargs)

    return call  # type: ignore[return-value]
