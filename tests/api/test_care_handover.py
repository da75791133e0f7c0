"""A case changing hands over the API, under races: one hand-over wins, the others are refused
cleanly, and the log names each agent."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from tests.support.evidence import in_mediation
from tests.support.http import assert_problem, post_action
from tests.support.parties import BUYER, CARE, CARE_2, auth


def test_two_hand_overs_at_once_leave_one_owner(app):
    client = app.test_client()
    cid = in_mediation(client)

    def hand(agent: str) -> int:
        body = {"agent_id": agent}
        return post_action(app.test_client(), cid, "reassign", CARE, body).status_code

    with ThreadPoolExecutor(6) as pool:
        statuses = list(pool.map(hand, ["agent-2", "agent-3", "agent-4"] * 2))
    assert statuses.count(200) == 1 and set(statuses) <= {200, 409}
    events = client.get(f"/v1/complaints/{cid}/events", headers=CARE).get_json()["items"]
    handed = [e for e in events if e["type"] == "reassign"]
    assert len(handed) == 1 and handed[0]["data"]["from_agent"] == "agent-1"
    owner = client.get(f"/v1/complaints/{cid}", headers=CARE).get_json()["assigned_to"]
    assert owner == handed[0]["data"]["agent_id"]


def test_two_agents_taking_over_an_overdue_case_at_once_leave_one(app, clock):
    client = app.test_client()
    cid = in_mediation(client)
    clock.advance(hours=25)
    takers = [CARE_2, auth("care", "agent-3"), auth("care", "agent-4")]
    with ThreadPoolExecutor(3) as pool:
        statuses = list(
            pool.map(
                lambda who: post_action(app.test_client(), cid, "assign", who).status_code, takers
            )
        )
    # The winner's 24 hours start: the case is no longer overdue for the others.
    assert statuses.count(200) == 1 and set(statuses) <= {200, 409}


def test_bad_hand_overs_are_refused_and_change_nothing(client):
    cid = in_mediation(client)
    version = client.get(f"/v1/complaints/{cid}", headers=CARE).get_json()["version"]
    for who, action, body, status in [
        (CARE, "release", {}, 422),  # a reason is required
        (CARE, "reassign", {"agent_id": "not an id"}, 422),
        (CARE, "reassign", {"agent_id": "agent-1"}, 422),  # to oneself
        (CARE_2, "release", {"reason": "x"}, 409),  # not the case's agent
        (CARE_2, "assign", {}, 409),  # agent-1's 24 hours to decide have not passed
        (BUYER, "release", {"reason": "x"}, 403),
    ]:
        assert_problem(post_action(client, cid, action, who, body), status)
    assert client.get(f"/v1/complaints/{cid}", headers=CARE).get_json()["version"] == version
