"""openapi.yaml is valid OpenAPI 3.1, and agrees with the code it describes: the Flask route
table, the lifecycle's actions (who may take them, from which states), the security and the
preconditions of every operation, and the headers the API accepts.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import validate as validate_spec

from resolution.domain.evidence import CONTENT_TYPES
from resolution.domain.lifecycle import PERSON_ACTIONS, Lifecycle, roles_for
from tests.support.http import PROBLEM
from tests.support.spec import (
    BINARY,
    EVIDENCE,
    NOT_JSON,
    action_path,
    operations,
    parameters,
    resolve,
)

# Writes that take no If-Match: there is no version before a complaint is opened. Listed
# here so that a new write cannot silently join them.
WITHOUT_IF_MATCH = {
    "/v1/complaints",
    # An erasure spans complaints: no one version to match.
    "/v1/data-subjects/{subject_id}/erasure",
    # Webhook management has no complaint version to match.
    "/v1/webhooks",
    "/v1/webhooks/{id}/rotate-secret",
    "/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver",
    # A settlement's answers are final by content, not by version.
    "/v1/settlements/{id}/confirm",
    "/v1/settlements/{id}/fail",
    "/v1/settlements/{id}/retry",
}
# Path variables as Flask names them, and as the spec does.
PATH_VARIABLES = {
    "subject_id": "subject_id",
    "cid": "id",
    "eid": "evidence_id",
    "wid": "id",
    "did": "delivery_id",
    "sid": "id",
    "shop_id": "shop_id",
    "request_id": "request_id",
    "channel": "channel",
    "order_id": "order_id",
}
# Path variables that are not ids of ours, and their formats.
OTHER_PATH_FORMATS = {
    "subject_id": "^(buyer|seller):[A-Za-z0-9._@-]{1,128}$",
    "channel": "^[a-z][a-z0-9_]{1,31}$",
    "shop_id": "^[A-Za-z0-9][A-Za-z0-9._:\\-]{0,63}$",
    "request_id": "^[0-9]{1,9}$",
    "order_id": "^[A-Za-z0-9][A-Za-z0-9._:\\-]{0,63}$",
}
# Writes by PUT: a whole resource the caller names (an order), keyed and conditional too.
PUT_WRITES = {"/v1/orders/{channel}/{order_id}"}


# --- the document ---------------------------------------------------------------------------------


def test_the_spec_is_valid_openapi_3_1(spec):
    assert spec["openapi"] == "3.1.0"
    validate_spec(spec)


def test_every_ref_resolves(spec):
    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                resolve(spec, {"$ref": node["$ref"]})
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(spec)


# --- the route table ------------------------------------------------------------------------------


# The care console and the contract's rendering (`/docs`, Swagger UI and its files) are HTML
# pages for people, not part of the API: openapi.yaml leaves them out.
PAGES = ("/console", "/docs")


def routes(app) -> dict[tuple[str, str], str]:
    """Every routed (path, method) as the spec spells it, with its Flask endpoint."""
    table = {}
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.rule.startswith(PAGES):
            continue
        path = re.sub(
            r"<(?:[^<>:]+:)?([a-z_]+)>",
            lambda m: "{" + PATH_VARIABLES.get(m.group(1), m.group(0)) + "}",
            rule.rule,
        )
        assert "<" not in path, f"a path variable the spec does not name: {rule.rule}"
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            table[(path, method.lower())] = rule.endpoint
    return table


def test_the_route_table_equals_the_spec(app, spec):
    routed = routes(app)
    documented = operations(spec)
    assert sorted(set(routed) - set(documented)) == [], "routed but not in openapi.yaml"
    assert sorted(set(documented) - set(routed)) == [], "in openapi.yaml but not routed"


def test_operation_ids_are_the_flask_endpoints(app, spec):
    for key, endpoint in routes(app).items():
        assert operations(spec)[key]["operationId"] == endpoint.rsplit(".", 1)[-1], key


def test_every_action_has_its_path(spec):
    for action in PERSON_ACTIONS:
        assert (action_path(action), "post") in operations(spec), action
    documented = {p.rsplit("/", 1)[-1] for p in spec["paths"] if "/actions/" in p}
    assert documented == set(PERSON_ACTIONS)
    action_enum = resolve(spec, spec["components"]["schemas"]["Action"])["enum"]
    assert action_enum == list(PERSON_ACTIONS)


def test_actions_say_who_may_take_them_and_from_which_states(spec):
    for action in PERSON_ACTIONS:
        op = operations(spec)[(action_path(action), "post")]
        sources = [s.id for s in Lifecycle.states for t in s.transitions if action in t.events]
        assert op["x-roles"] == sorted(roles_for(action), key=["buyer", "seller", "care"].index)
        assert op["x-from-states"] == list(dict.fromkeys(sources)), action
        for role in op["x-roles"]:
            assert f"**{role}**" in op["description"].lower(), (action, role)
        for state in op["x-from-states"]:
            assert f"`{state}`" in op["description"], (action, state)


def test_security(spec):
    scheme = spec["components"]["securitySchemes"]["bearerAuth"]
    assert scheme == {**scheme, "type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    assert "security" not in spec, "security is stated per operation"
    for (path, method), op in operations(spec).items():
        if path.startswith("/v1/"):
            assert op["security"] == [{"bearerAuth": []}], (path, method)
            assert "401" in op["responses"], (path, method)
        else:
            assert op["security"] == [], (path, method)
            assert "401" not in op["responses"], (path, method)


def test_writes_take_preconditions_and_idempotency_keys(spec):
    for path, method in operations(spec):
        params = parameters(spec, path, method)
        if method == "put" and path in PUT_WRITES:
            assert params[("header", "Idempotency-Key")]["required"] is False
            assert params[("header", "If-Match")]["required"] is False
            continue
        if method != "post":
            assert ("header", "Idempotency-Key") not in params
            continue
        key = params[("header", "Idempotency-Key")]
        assert key["required"] is False
        assert key["schema"] == {"type": "string", "minLength": 1, "maxLength": 255}
        # If-Match names a complaint's version: there is none before it is opened.
        assert (("header", "If-Match") in params) == (path not in WITHOUT_IF_MATCH), path
        if ("header", "If-Match") in params:
            assert params[("header", "If-Match")]["required"] is False
    for (path, method), op in operations(spec).items():
        params = parameters(spec, path, method)
        for name in re.findall(r"{([a-z_]+)}", path):
            assert params[("path", name)]["required"] is True, (path, name)
            wanted = OTHER_PATH_FORMATS.get(name, "^[0-9a-f]{24}$")
            assert params[("path", name)]["schema"]["pattern"] == wanted, (path, name)
            assert "404" in op["responses"], path


@pytest.mark.parametrize(
    "value",
    ['"3"', "3", 'W/"3"', "*", ' "12" ', '"123456789"', '"1234567890"', "latest", '"3', "-1", ""],
)
def test_the_if_match_pattern_is_what_the_api_accepts(app, spec, value):
    from resolution.domain.errors import Invalid
    from resolution.web.http import if_match

    pattern = resolve(spec, spec["components"]["parameters"]["IfMatch"])["schema"]["pattern"]
    with app.test_request_context(headers={"If-Match": value}):
        try:
            if_match()
            accepted = True
        except Invalid:
            accepted = False
    assert bool(re.search(pattern, value)) is accepted


@pytest.mark.parametrize("value", ["k", "k" * 255, "k" * 256, "5f0c7d1e-8d5a", "a b", "a\tb"])
def test_the_idempotency_key_schema_is_what_the_api_accepts(app, spec, value):
    from resolution.domain.errors import Invalid
    from resolution.web.http import idempotency_key

    schema = resolve(spec, spec["components"]["parameters"]["IdempotencyKey"])["schema"]
    with app.test_request_context(headers={"Idempotency-Key": value}):
        try:
            idempotency_key()
            accepted = True
        except Invalid:
            accepted = False
    valid = OAS31Validator(schema).is_valid(value)
    # The schema cannot say "printable"; its description does. Otherwise they agree.
    assert valid is accepted or (valid and not value.isprintable())


def test_the_open_response_links_to_every_follow_up(spec):
    op = operations(spec)[("/v1/complaints", "post")]
    links = op["responses"]["201"]["links"]
    targets = {link["operationId"] for link in links.values()}
    wanted = {
        "get_complaint",
        "list_events",
        "post_message",
        "add_evidence",
        "list_evidence",
        *(f"action_{a}" for a in PERSON_ACTIONS),
    }
    assert wanted <= targets
    ids = {o["operationId"] for o in operations(spec).values()}
    for link in links.values():
        assert link["operationId"] in ids
        assert link["parameters"] == {"id": "$response.body#/id"}


def test_an_action_that_can_close_links_to_its_settlement_and_every_action_leads_on(spec):
    """An action's answer links to the next actions (a client walks the lifecycle from any
    answer, not only from the opening's), and the answer of one that can close the complaint,
    per the machine, also to the payment system's answers to its settlement."""
    closing = {
        str(event)
        for state in Lifecycle.states
        for transition in state.transitions
        if transition.target.id == "closed"
        for event in transition.events
    }
    opened = operations(spec)[("/v1/complaints", "post")]["responses"]["201"]["links"]
    for action in PERSON_ACTIONS:
        op = operations(spec)[(f"/v1/complaints/{{id}}/actions/{action}", "post")]
        links = resolve(spec, op["responses"]["200"])["links"]
        assert {k: v for k, v in links.items() if k in opened} == opened, action
        settles = {"confirm_settlement", "fail_settlement"} <= set(links)
        assert settles == (action in closing), action


def test_errors_are_problem_json(spec):
    for (path, method), op in operations(spec).items():
        for status, raw in op["responses"].items():
            response = resolve(spec, raw)
            if int(status) >= 400:
                assert list(response["content"]) == [PROBLEM], (path, method, status)
                schema = resolve(spec, response["content"][PROBLEM]["schema"])
                assert schema == spec["components"]["schemas"]["Problem"] or any(
                    part.get("$ref") == "#/components/schemas/Problem"
                    for part in schema.get("allOf", [])
                ), (path, method, status)
            elif status == "204":
                assert "content" not in response, (path, method)
            elif (path, method, status) not in NOT_JSON:
                assert list(response["content"]) == ["application/json"], (path, method, status)


def test_a_file_is_served_as_any_type_an_upload_may_have(spec):
    stored = sorted(set().union(*CONTENT_TYPES.values()))
    for path, method, status in BINARY:
        response = resolve(spec, operations(spec)[(path, method)]["responses"][status])
        if status == "304":
            assert "content" not in response
        else:
            assert sorted(response["content"]) == stored, status
    file_schema = spec["components"]["schemas"]["EvidenceFile"]["properties"]["content_type"]
    assert sorted(file_schema["enum"]) == stored
    encoding = spec["paths"][EVIDENCE]["post"]["requestBody"]["content"]["multipart/form-data"]
    assert sorted(encoding["encoding"]["file"]["contentType"].split(", ")) == stored
