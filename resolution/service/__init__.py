"""Use cases: one function each, the only thing the API, the CLI and the console call.

Every write goes through the unit of work (`unit_of_work`); what a caller sees of what the
use cases return is shaped in `views`.
"""

from .complaints import (
    act,
    check_chains,
    get_complaint,
    list_complaints,
    list_events,
    open_complaint,
    post_message,
    rebuild_all,
    recount,
)
from .unit_of_work import Context, Idempotency, Recorded, Replayed

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
    "recount",
]
