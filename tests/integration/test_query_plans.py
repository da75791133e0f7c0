"""Every query the service makes keeps using its index: a few hundred complaints, `explain`.

The queries are made by the service's own functions (`benchmarks/_plans.py` lists each use
and the index each of its commands must read), captured as sent and explained with
`executionStats`. A query fails here when its winning plan stops reading the expected index
(a new filter field the planner does not take, a range left open at one end), when it is a
findAndModify or carries a `hint` (SecantusDB answers both by reading the whole collection or
index, whatever `explain` says: store/documents.py), when it reads documents that
do not match (documents examined beyond the server's `nReturned`, which SecantusDB counts
before any limit), or when it starts sending other commands than listed.

Queries with a known fault on the embedded database (a collection scan today) are expected
to fail, strictly: once the service is fixed they pass, and this test asks for their `known`
note to go. SecantusDB's `explain` is a model of its planner, and blind to one path of its
executor (a filter of which one clause rides an index): such queries say why in `unexplained`,
and their time in `benchmarks/query_plans.py` shows the index at work. That script prints the
same at 10,000 and 100,000 complaints, with each command's time.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from benchmarks import _data, _plans
from resolution.service import Context
from resolution.store import database
from resolution.store.documents import ComplaintDocument

COMPLAINTS = 300  # a few of each state, a big shop of 15, about 700 events


@pytest.fixture(scope="module")
def sample(mongodb_uri) -> Iterator[_plans.Sample]:
    _plans.recorder()  # before connecting: pymongo attaches listeners to new clients only
    name = "test_query_plans"
    database.connect(mongodb_uri, name)
    ComplaintDocument._get_db().client.drop_database(name)
    database.connect(mongodb_uri, name)  # the indexes again, on the empty database
    _data.fill(0, COMPLAINTS)
    yield _plans.Sample.find()
    ComplaintDocument._get_db().client.drop_database(name)
    database.disconnect()


@pytest.fixture
def ctx() -> Context:
    return Context(clock=lambda: _data.NOW, signing_key=Ed25519PrivateKey.generate())


def _cases():
    for query in _plans.QUERIES:
        marks = [pytest.mark.xfail(reason=query.known, strict=True)] if query.known else []
        yield pytest.param(query, id=query.name, marks=marks)


@pytest.mark.parametrize("query", list(_cases()))
def test_each_query_reads_its_index_and_only_the_documents_it_matches(query, sample, ctx):
    plans = _plans.plans(ctx, query, sample)
    sent = [f"{p.command.label} {p.command.collection}" for p in plans]
    assert len(plans) == len(query.indexes), f"{query.name} now sends {sent}"
    for plan, expected in zip(plans, query.indexes, strict=True):
        where = f"{query.name}: {plan.command.label} {plan.command.collection}"
        assert not _plans.scans_anyway(plan), (
            f"{where}: SecantusDB runs a hinted command or a findAndModify as a scan, whatever "
            f"its plan: {plan.command.body}"
        )
        if _plans.explained_blind(query, plan, expected):
            continue  # its explain reports a scan; the executor reads the index (`unexplained`)
        assert _plans.uses_index(plan, expected), (
            f"{where} reads {plan.index} ({plan.stages}), not {expected}: {plan.command.body}"
        )
        assert _plans.selective(plan), (
            f"{where} examines {plan.docs_examined} documents for "
            f"{plan.explained_returned} matching ({plan.index})"
        )
        if query.bounded:
            assert _plans.examines_what_it_returns(plan), (
                f"{where} examines {plan.docs_examined} documents to return "
                f"{plan.command.returned} in {plan.command.repeats} commands"
            )
    if query.unexplained:
        pairs = zip(plans, query.indexes, strict=True)
        assert any(_plans.explained_blind(query, p, e) for p, e in pairs), (
            f"{query.name}: SecantusDB's explain now sees every command: remove `unexplained`"
        )


def test_the_generated_data_has_something_for_every_query_to_find(sample, ctx):
    """A query that finds nothing proves nothing about its plan."""
    # (The last two find something only in a database older than retention and encryption.)
    empty = (
        "idempotency key",
        "last evidence reading (video seek)",
        "retention: complaints closed before retention existed (sweeper)",
        "evidence: files stored before encryption (encrypt-files)",
    )
    for query in _plans.QUERIES:
        if query.name in empty:
            continue
        plans = _plans.plans(ctx, query, sample)
        assert any(p.command.returned for p in plans), query.name
