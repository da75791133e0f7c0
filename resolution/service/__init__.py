"""Use cases: one function each, the only thing the API, the CLI and the console call."""

from .complaints import (
    Context,
    Idempotency,
    Recorded,
    Replayed,
    act,
    check_chains,
    get_complaint,
    list_complaints,
    list_events,
    open_complaint,
    post_message,
    rebuild_all,
)

__all__ = [
    "Context",
    "Idempotency",
    "Recorded",
    "Replayed",
    "act",
    "check_chains",
    "get_complaint",
    "list_complaints",
    "list_events",
    "open_complaint",
    "post_message",
    "rebuild_all",
]
