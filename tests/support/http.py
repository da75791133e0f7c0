"""Requests over the Flask test client that API tests make the same way: open a complaint, take
an action, upload a file; and what a refusal looks like."""

from __future__ import annotations

import io

from tests.support.bodies import complaint_body
from tests.support.parties import BUYER

PROBLEM = "application/problem+json"


def complaint_opened(
    client, order_id: str = "INV-1001", *, solution: dict | None = None, **overrides
):
    """The buyer opens a complaint on the order: the 201 response (anything else fails)."""
    body = complaint_body(order_id, **overrides)
    if solution is not None:
        body["requested_solution"] = solution
    response = client.post("/v1/complaints", json=body, headers=BUYER)
    assert response.status_code == 201, response.get_json()
    return response


def open_complaint(client, order_id: str = "INV-1001", **overrides) -> str:
    """The buyer opens a complaint on the order: its id."""
    return complaint_opened(client, order_id, **overrides).get_json()["id"]


def post_action(client, cid, action, who, body=None):
    """POST the action: the response, whatever it is."""
    return client.post(f"/v1/complaints/{cid}/actions/{action}", json=body or {}, headers=who)


def act(client, cid, action, who, body=None):
    """Take the action: the 200 response (anything else fails)."""
    response = post_action(client, cid, action, who, body)
    assert response.status_code == 200, response.get_json()
    return response


def upload(client, cid, who, kind, content, filename="foto.jpg", headers=None, **form):
    """POST a file as the API takes it (multipart, the bytes in the part `file`): the response,
    whatever it is. `form` holds the other fields (`caption`, `care_only`, `answers`)."""
    data = {"kind": kind, **{k: str(v) for k, v in form.items()}}
    data["file"] = (io.BytesIO(content), filename, "application/octet-stream")
    return client.post(
        f"/v1/complaints/{cid}/evidence",
        headers={**who, **(headers or {})},
        data=data,
        content_type="multipart/form-data",
    )


def uploaded(client, cid, who, kind, content, filename="foto.jpg", **form) -> dict:
    """`upload`, taken: the evidence as the 201 shows it (anything else fails)."""
    response = upload(client, cid, who, kind, content, filename, **form)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True))
    assert response.mimetype == PROBLEM
    body = response.get_json()
    assert body["status"] == status
    return body
