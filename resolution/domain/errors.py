"""The few ways a request can fail, in the product's words.

The domain and the service layer raise these; each edge says them in its own form, in one
place (the API's problem+json statuses: `resolution/web/problems.py`).
"""

from __future__ import annotations


class DomainError(Exception):
    """Base of every refusal the domain and the service layer raise on purpose."""

    def __init__(self, detail: str, **extra: object) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class Invalid(DomainError):
    """The request is well-formed but its content breaks a rule; `errors` names the fields."""

    def __init__(self, detail: str, errors: dict | None = None, **extra: object) -> None:
        super().__init__(detail, **extra)
        self.errors = errors or {}


class BadCursor(DomainError):
    """A listing's `cursor` that this listing never gave: another listing's, or edited."""


class NotFound(DomainError):
    """No such thing, or the caller may not know that it exists."""


class Gone(DomainError):
    """It existed and was destroyed on purpose (a file whose key is gone): never coming back."""


class Forbidden(DomainError):
    """The caller's role may never do this (whatever the complaint's state)."""


class NotAllowed(DomainError):
    """The action exists for this role, but not in the complaint's current state."""

    def __init__(self, detail: str, allowed_actions: list[str], **extra: object) -> None:
        super().__init__(detail, **extra)
        self.allowed_actions = allowed_actions


class Conflict(DomainError):
    """The request collides with the stored state (an open complaint on the order, a race)."""


class InProgress(Conflict):
    """A request with the same Idempotency-Key is being processed right now: the client
    retries shortly and then gets the first request's response."""


class Stale(DomainError):
    """The caller acted on a version of the complaint that is no longer the current one."""


class UnsupportedFile(DomainError):
    """The upload is not a kind of file the service keeps."""


class FileTooLarge(DomainError):
    """The upload is over the size limit for its kind."""
