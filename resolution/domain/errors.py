"""The few ways a request can fail, as values the edges map to their own form of error."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every refusal the domain and the service layer raise on purpose."""

    status = 400
    title = "Bad request"
    slug = "bad-request"

    def __init__(self, detail: str, **extra: object) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class Invalid(DomainError):
    """The request is well-formed but its content breaks a rule (422)."""

    status = 422
    title = "Invalid request"
    slug = "invalid"

    def __init__(self, detail: str, errors: dict | None = None, **extra: object) -> None:
        super().__init__(detail, **extra)
        self.errors = errors or {}


class NotFound(DomainError):
    """No such thing, or the caller may not know that it exists (404)."""

    status = 404
    title = "Not found"
    slug = "not-found"


class Forbidden(DomainError):
    """The caller can see the complaint but its role may never take this action (403)."""

    status = 403
    title = "Forbidden"
    slug = "forbidden"


class NotAllowed(DomainError):
    """The action exists for this role but not in the complaint's current state (409)."""

    status = 409
    title = "Action not allowed now"
    slug = "not-allowed"

    def __init__(self, detail: str, allowed_actions: list[str], **extra: object) -> None:
        super().__init__(detail, **extra)
        self.allowed_actions = allowed_actions


class Conflict(DomainError):
    """The request collides with the stored state (an open complaint on the order, a race)."""

    status = 409
    title = "Conflict"
    slug = "conflict"


class InProgress(Conflict):
    """A request with the same Idempotency-Key is being processed right now (409): the client
    retries shortly and then gets the first request's response."""

    title = "Request in progress"
    slug = "in-progress"
    headers = {"Retry-After": "1"}


class PreconditionFailed(DomainError):
    """`If-Match` named a version that is no longer current (412)."""

    status = 412
    title = "Precondition failed"
    slug = "precondition-failed"


class Unsupported(DomainError):
    """The upload is not a kind of file the service keeps (415)."""

    status = 415
    title = "Unsupported media type"
    slug = "unsupported-media-type"


class TooLarge(DomainError):
    """The upload is over the size limit for its kind (413)."""

    status = 413
    title = "Too large"
    slug = "too-large"
