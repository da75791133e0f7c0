"""A write the database cannot take in time is a 503 problem that says what is known."""

from __future__ import annotations

import pytest
from pymongo.client_session import ClientSession
from pymongo.errors import ExecutionTimeout

from resolution.store import transactions
from tests.support.bodies import complaint_body
from tests.support.orders import registration
from tests.support.parties import BUYER, MARKETPLACE


def _timed_out(labels: list[str]):
    """A transaction the driver gives up on: its time ran out, with what it knows of the commit."""

    def with_transaction(session, work, *args, **kwargs):
        error = ExecutionTimeout("operation exceeded time limit", 50, {"code": 50})
        for label in labels:
            error._add_error_label(label)
        raise error

    return with_transaction


@pytest.mark.parametrize(
    ("labels", "said"),
    [
        (["TransientTransactionError"], "nothing was changed"),
        (["UnknownTransactionCommitResult"], "it may have been recorded"),
    ],
    ids=["not-committed", "commit-unconfirmed"],
)
def test_a_write_out_of_time_is_a_503_that_says_what_is_known(client, monkeypatch, labels, said):
    order = registration(complaint_body("INV-503")["order"], "buyer-1")
    assert client.put("/v1/orders/tokopedia/INV-503", json=order, headers=MARKETPLACE).status_code
    monkeypatch.setattr(ClientSession, "with_transaction", _timed_out(labels))
    response = client.post("/v1/complaints", json=complaint_body("INV-503"), headers=BUYER)
    assert response.status_code == 503
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.headers["Retry-After"]
    assert said in response.get_json()["detail"]


def test_the_write_budget_is_under_the_worker_timeout():
    from resolution.workers import gunicorn_config

    assert transactions.WRITE_BUDGET < gunicorn_config.timeout
