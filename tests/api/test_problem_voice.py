"""One voice for errors: every problem's `type` is one the spec lists, with that type's one
title; the router's 404 and 405 are problems like the rest, in the service's own words."""

from __future__ import annotations

import re

import yaml

from resolution.web.problems import TYPES
from tests.support.parties import BUYER
from tests.support.spec import SPEC_PATH

SPEC = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
DOCUMENTED = SPEC["components"]["schemas"]["Problem"]["properties"]["type"]


def test_the_spec_lists_every_problem_type_with_its_title():
    assert DOCUMENTED["enum"] == [f"/problems/{slug}" for slug in TYPES]
    for slug, title in TYPES.items():
        assert f"`/problems/{slug}` ({title})" in DOCUMENTED["description"], slug


def test_titles_are_in_one_style_sentence_case():
    for title in TYPES.values():
        first, *rest = title.split()
        assert first[0].isupper() and first[1:].islower(), title
        assert all(word.islower() for word in rest), title


def assert_problem(answer, status: int, slug: str) -> dict:
    assert answer.status_code == status
    assert answer.mimetype == "application/problem+json"
    body = answer.get_json()
    assert body["type"] == f"/problems/{slug}" and body["title"] == TYPES[slug]
    assert body["status"] == status and body["detail"]
    assert "If you entered the URL manually" not in body["detail"]
    return body


def test_an_unknown_path_is_the_services_own_not_found(client):
    for path in ("/nowhere", "/v1/nowhere", "/v1/complaints/abc/unknown"):
        body = assert_problem(client.get(path, headers=BUYER), 404, "not-found")
        assert "/openapi.yaml" in body["detail"]


def test_a_method_the_path_does_not_take_is_a_problem_naming_the_allowed_ones(client):
    answer = client.delete("/v1/complaints", headers=BUYER)
    assert_problem(answer, 405, "method-not-allowed")
    assert set(re.split(r",\s*", answer.headers["Allow"])) >= {"GET", "POST"}


def test_a_not_found_raised_by_a_view_has_the_same_title_as_the_routers(client):
    answer = client.get("/v1/complaints/" + "0" * 24, headers=BUYER)
    assert_problem(answer, 404, "not-found")
