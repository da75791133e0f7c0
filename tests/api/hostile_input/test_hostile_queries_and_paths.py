"""Hostile queries and paths: list and event-log queries with operators, bounds and unknown
parameters; ids that are not ids or name nothing; actions that are not a person's; methods a
route does not take. Each is a clear 4xx and changes nothing stored (the shared database and
the checks: conftest.py).
"""

from __future__ import annotations

import pytest

from tests.support.bodies import complaint_body
from tests.support.hostile import (
    REFUND,
    Case,
    assert_clear_problem,
    counter,
    listing,
    requesting,
    send_case,
)
from tests.support.parties import CARE, SELLER
from tests.support.snapshots import assert_unchanged, stored

ABSENT_ID = "65f0000000000000000000ff"  # well-formed, but no such complaint

QUERY_CASES = [
    listing("list-state-ne", "state[$ne]=x", errors_at="state[$ne]"),
    listing("list-state-json-ne", "state=%7B%22%24ne%22%3Anull%7D", errors_at="state"),
    listing("list-state-regex", "state[$regex]=.*", errors_at="state[$regex]"),
    listing("list-state-new", "state=new", errors_at="state"),
    listing("list-state-unknown", "state=deleted", errors_at="state"),
    listing("list-buyer-id", "buyer_id=buyer-2", errors_at="buyer_id"),
    listing("list-buyer-id", "buyer_id=buyer-9", errors_at="buyer_id"),
    listing("list-where", "$where=1", errors_at="$where"),
    listing("list-limit-zero", "limit=0", errors_at="limit"),
    listing("list-limit-negative", "limit=-1", errors_at="limit"),
    listing("list-limit-too-large", "limit=101", errors_at="limit"),
    listing("list-limit-huge", "limit=" + "9" * 40, errors_at="limit"),
    listing("list-limit-word", "limit=all", errors_at="limit"),
    listing("list-limit-float", "limit=1.5", errors_at="limit"),
    listing("list-limit-empty", "limit=", errors_at="limit"),
    listing("list-limit-gt", "limit[$gt]=0", errors_at="limit[$gt]"),
    # A cursor this listing did not give: 400 `bad-cursor`, never a read from the start.
    listing("list-cursor-word", "cursor=next", 400),
    listing("list-cursor-ne", "cursor[$ne]=x", errors_at="cursor[$ne]"),
    listing("list-cursor-json", "cursor=%7B%22%24gt%22%3A%22%22%7D", 400),
    listing("list-cursor-old-id", "cursor=65f0000000000000000000ff", 400),
    listing("list-cursor-unchecked", "cursor=n1749351600000.65f0000000000000000000ff", 400),
    listing(
        "events-cursor-negative",
        "cursor=-1",
        path="/v1/complaints/{cid}/events",
        errors_at="cursor",
    ),
    listing(
        "events-cursor-word", "cursor=abc", path="/v1/complaints/{cid}/events", errors_at="cursor"
    ),
    listing(
        "events-cursor-ten-digits",
        "cursor=1234567890",
        path="/v1/complaints/{cid}/events",
        errors_at="cursor",
    ),
    listing(
        "events-cursor-gt",
        "cursor[$gt]=0",
        path="/v1/complaints/{cid}/events",
        errors_at="cursor[$gt]",
    ),
    listing(
        "events-limit-too-large",
        "limit=1000",
        path="/v1/complaints/{cid}/events",
        errors_at="limit",
    ),
    listing("events-type", "type=open", path="/v1/complaints/{cid}/events", errors_at="type"),
]

NOT_IDS = {
    "word": "not-an-id",
    "short": "65f00000000000000000000",
    "long": "65f0000000000000000000001",
    "upper": "{CID}",
    "non-hex": "65f00000000000000000000g",
    "json-ne": "%7B%22%24ne%22%3Anull%7D",
    "dollar-ne": "%24ne",
    "null": "null",
    "zero": "0",
    "huge": "9" * 2000,
    "encoded-slash": "..%2F..",
    "absent": ABSENT_ID,
}
PATH_CASES = [
    *(requesting(f"get-{n}", "GET", f"/v1/complaints/{x}", 404) for n, x in NOT_IDS.items()),
    *(
        requesting(f"events-{n}", "GET", f"/v1/complaints/{x}/events", 404)
        for n, x in NOT_IDS.items()
    ),
    *(
        requesting(f"message-{n}", "POST", f"/v1/complaints/{x}/messages", 404, {"body": "hi"})
        for n, x in NOT_IDS.items()
    ),
    *(
        requesting(
            f"propose-{n}",
            "POST",
            f"/v1/complaints/{x}/actions/propose",
            404,
            counter(REFUND),
            SELLER,
        )
        for n, x in NOT_IDS.items()
    ),
    requesting("get-trailing-newline", "GET", "/v1/complaints/{cid}%0A", 404),
    requesting(
        "message-trailing-newline", "POST", "/v1/complaints/{cid}%0A/messages", 404, {"body": "hi"}
    ),
    # actions that are not a person's, or not actions at all
    requesting(
        "action-auto-escalate", "POST", "/v1/complaints/{cid}/actions/auto_escalate", 404, {}
    ),
    requesting(
        "action-auto-close", "POST", "/v1/complaints/{cid}/actions/auto_close", 404, {}, CARE
    ),
    requesting("action-open", "POST", "/v1/complaints/{cid}/actions/open", 404, {}),
    requesting("action-unknown", "POST", "/v1/complaints/{cid}/actions/refund_now", 404, {}),
    requesting("action-upper", "POST", "/v1/complaints/{cid}/actions/WITHDRAW", 404, {}),
    requesting("action-empty", "POST", "/v1/complaints/{cid}/actions/", 404, {}),
    requesting("action-dollar", "POST", "/v1/complaints/{cid}/actions/$set", 404, {}),
    # wrong methods
    requesting("delete-complaint", "DELETE", "/v1/complaints/{cid}", 405),
    requesting("put-complaint", "PUT", "/v1/complaints/{cid}", 405, complaint_body()),
    requesting("patch-complaint", "PATCH", "/v1/complaints/{cid}", 405, {"state": "closed"}),
    requesting("post-complaint", "POST", "/v1/complaints/{cid}", 405, {"state": "closed"}),
    requesting("delete-list", "DELETE", "/v1/complaints", 405),
    requesting("put-list", "PUT", "/v1/complaints", 405, complaint_body("INV-2002")),
    requesting("get-action", "GET", "/v1/complaints/{cid}/actions/withdraw", 405),
    requesting("put-action", "PUT", "/v1/complaints/{cid}/actions/withdraw", 405, {}),
    requesting("delete-events", "DELETE", "/v1/complaints/{cid}/events", 405),
    requesting("post-events", "POST", "/v1/complaints/{cid}/events", 405, {"type": "message"}),
    requesting("delete-messages", "DELETE", "/v1/complaints/{cid}/messages", 405),
]


@pytest.mark.parametrize("case", [*QUERY_CASES, *PATH_CASES])
def test_hostile_request_is_a_clear_4xx_and_changes_nothing(client, cid, case: Case):
    before = stored()
    response = send_case(client, case, cid)
    assert_clear_problem(response, case.status, case.errors_at)
    assert_unchanged(before)
