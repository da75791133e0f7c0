"""openapi.yaml is the API's contract: valid, complete, and true to the code and the wire.

Three kinds of checks:

- the document itself is valid OpenAPI 3.1;
- it agrees with the code it describes: the Flask route table, the lifecycle's actions (who may
  take them, from which states), and every marshmallow schema a request is loaded through;
- every response of a real flow (a running app on a real database) is one the spec declares
  for that operation and status, and its body and headers validate against the spec.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from typing import Any

import pytest
import yaml
from marshmallow import RAISE, Schema, fields, missing, validate
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import validate as validate_spec
from PIL import Image

from resolution.api import MAX_BODY
from resolution.api.audit import AuditEventsQuery
from resolution.domain.commands import EVENT_TYPES, OTHER_EVENTS
from resolution.domain.evidence import CONTENT_TYPES, KINDS
from resolution.domain.lifecycle import PERSON_ACTIONS, Lifecycle, roles_for
from schemas.complaints import (
    ACTION_SCHEMAS,
    ActorSchema,
    ComplaintSchema,
    EventSchema,
    ListComplaintsQuery,
    ListEventsQuery,
    MessageSchema,
    OpenComplaintSchema,
)
from schemas.evidence import (
    EvidenceFileSchema,
    EvidenceFormSchema,
    EvidenceSchema,
    ReviewSchema,
    ReviewShownSchema,
    TrackingEvidenceSchema,
)
from schemas.webhooks import (
    DeliverySchema,
    ListDeliveriesQuery,
    SubscribeSchema,
    SubscriptionSchema,
)
from tests.support.bodies import complaint_body, order, png
from tests.support.http import PROBLEM
from tests.support.parties import (
    AUDITOR,
    BUYER,
    CARE,
    CARE_2,
    OTHER_BUYER,
    OTHER_SELLER,
    SELLER,
    auth,
)
from tests.support.spec import (
    AUDIT,
    BINARY,
    CASE_EXPORT,
    EVIDENCE,
    EVIDENCE_FILE,
    EVIDENCE_REVIEW,
    NOT_JSON,
    SPEC_PATH,
    action_path,
    body_schema,
    operations,
    parameters,
    resolve,
    validator,
)
from tests.support.wire import (
    Wire,
    act,
    download,
    open_complaint,
    post_message,
    review_evidence,
    tracking,
    upload,
    viewed,
)

# Writes that take no If-Match: there is no version before a complaint is opened. Listed
# here so that a new write cannot silently join them.
WITHOUT_IF_MATCH = {
    "/v1/complaints",
    # Webhook management has no complaint version to match.
    "/v1/webhooks",
    "/v1/webhooks/{id}/rotate-secret",
    "/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver",
}
# Path variables as Flask names them, and as the spec does.
PATH_VARIABLES = {"cid": "id", "eid": "evidence_id", "wid": "id", "did": "delivery_id"}


@pytest.fixture(scope="module")
def spec() -> dict:
    return yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))


# --- the document ----------------------------------------------------------------------------


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


# --- the route table -------------------------------------------------------------------------


# The care console is HTML pages for people, not part of the API: openapi.yaml leaves it out.
CONSOLE = "/console"


def routes(app) -> dict[tuple[str, str], str]:
    """Every routed (path, method) as the spec spells it, with its Flask endpoint."""
    table = {}
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.rule.startswith(CONSOLE):
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
            assert params[("path", name)]["schema"]["pattern"] == "^[0-9a-f]{24}$", (path, name)
            assert "404" in op["responses"], path


@pytest.mark.parametrize(
    "value",
    ['"3"', "3", 'W/"3"', "*", ' "12" ', '"123456789"', '"1234567890"', "latest", '"3', "-1", ""],
)
def test_the_if_match_pattern_is_what_the_api_accepts(app, spec, value):
    from resolution.api.http import if_match
    from resolution.domain.errors import Invalid

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
    from resolution.api.http import idempotency_key
    from resolution.domain.errors import Invalid

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


# --- the marshmallow schemas -----------------------------------------------------------------


def json_types(spec: dict, node: dict) -> set[str]:
    """The JSON types a schema admits, through `$ref`, `oneOf`, `anyOf` and `const`."""
    node = resolve(spec, node)
    if "type" in node:
        return set([node["type"]] if isinstance(node["type"], str) else node["type"])
    if "const" in node:
        return {"null" if node["const"] is None else type(node["const"]).__name__}
    branches = node.get("oneOf") or node.get("anyOf") or []
    return set().union(*(json_types(spec, b) for b in branches)) if branches else set()


def mm_types(field: fields.Field) -> set[str]:
    kinds = [
        (fields.Nested, "object"),
        (fields.Dict, "object"),
        (fields.List, "array"),
        (fields.DateTime, "string"),
        (fields.Integer, "integer"),
        (fields.Boolean, "boolean"),
        (fields.String, "string"),
    ]
    found = next(kind for cls, kind in kinds if isinstance(field, cls))
    return {found, "null"} if field.allow_none else {found}


def expected_constraints(field: fields.Field) -> dict[str, Any]:
    """The JSON Schema keywords marshmallow's validators of `field` amount to."""
    wanted: dict[str, Any] = {}
    for rule in field.validators:
        if isinstance(rule, validate.Length):
            low, high = (
                ("minItems", "maxItems")
                if isinstance(field, fields.List)
                else ("minLength", "maxLength")
            )
            if rule.min is not None:
                wanted[low] = rule.min
            if rule.max is not None:
                wanted[high] = rule.max
        elif isinstance(rule, validate.Range):
            assert rule.min_inclusive and rule.max_inclusive
            if rule.min is not None:
                wanted["minimum"] = rule.min
            if rule.max is not None:
                wanted["maximum"] = rule.max
        elif isinstance(rule, validate.Regexp):
            wanted["pattern"] = rule.regex.pattern.replace("\\Z", "$")  # Python's \Z is ECMA's $
        elif isinstance(rule, validate.OneOf):
            wanted["enum"] = list(rule.choices)
        elif isinstance(rule, validate.Equal):
            wanted["const"] = rule.comparable
        else:  # pragma: no cover - a new kind of validator needs a rule here
            raise AssertionError(f"no JSON Schema rule for {rule!r}")
    if isinstance(field, fields.DateTime):
        wanted["format"] = "date-time"
    return wanted


CONSTRAINTS = (
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "minimum",
    "maximum",
    "pattern",
    "enum",
    "const",
    "format",
)


def assert_same_field(spec: dict, field: fields.Field, node: dict, where: str) -> None:
    js = resolve(spec, node)
    assert json_types(spec, js) == mm_types(field), where
    have = {k: js[k] for k in CONSTRAINTS if k in js}
    assert have == expected_constraints(field), where
    if isinstance(field, fields.Nested):
        assert_same_schema(spec, field.schema, js, where)
    elif isinstance(field, fields.List):
        assert_same_field(spec, field.inner, js["items"], f"{where}[]")


def assert_same_schema(
    spec: dict, schema: Schema, node: dict, where: str, *, besides: frozenset = frozenset()
) -> None:
    """The JSON Schema `node` admits exactly what marshmallow's `schema` loads.

    `besides` names properties the schema has that marshmallow does not load (the file of a
    multipart upload: it is read by the view, not by the schema).
    """
    js = resolve(spec, node)
    assert js["type"] == "object", where
    assert schema.unknown == RAISE
    assert js.get("additionalProperties") is False, f"{where}: unknown fields are refused"
    names = {f.data_key or name: f for name, f in schema.fields.items()}
    assert set(js.get("properties", {})) - besides == set(names), where
    required = sorted(n for n, f in names.items() if f.required)
    assert sorted(set(js.get("required", [])) - besides) == required, where
    for name, field in names.items():
        assert_same_field(spec, field, js["properties"][name], f"{where}.{name}")
        prop = resolve(spec, js["properties"][name])
        if field.load_default is not missing and not callable(field.load_default):
            assert prop.get("default") == field.load_default, f"{where}.{name}: default"


def test_action_bodies_are_the_action_schemas(spec):
    assert set(ACTION_SCHEMAS) == set(PERSON_ACTIONS)
    for action in PERSON_ACTIONS:
        op = operations(spec)[(action_path(action), "post")]
        schema = ACTION_SCHEMAS[action]()
        ref = body_schema(spec, op)["$ref"]
        assert ref == f"#/components/schemas/{type(schema).__name__.removesuffix('Schema')}"
        assert_same_schema(spec, schema, body_schema(spec, op), action)
        # An empty body counts as `{}`: it is only required when some field is.
        needs_body = any(f.required for f in schema.fields.values())
        assert op["requestBody"]["required"] is needs_body, action


@pytest.mark.parametrize(
    ("path", "schema"),
    [
        ("/v1/complaints", OpenComplaintSchema),
        ("/v1/complaints/{id}/messages", MessageSchema),
        ("/v1/webhooks", SubscribeSchema),
    ],
)
def test_other_bodies_are_their_schemas(spec, path, schema):
    op = operations(spec)[(path, "post")]
    assert op["requestBody"]["required"] is True
    assert_same_schema(spec, schema(), body_schema(spec, op), path)


def test_evidence_bodies_are_their_schemas(spec):
    op = operations(spec)[(EVIDENCE, "post")]
    assert op["requestBody"]["required"] is True
    content = op["requestBody"]["content"]
    assert sorted(content) == ["application/json", "multipart/form-data"]

    # A file: the form's fields are EvidenceFormSchema; the part `file` is the view's own.
    form = content["multipart/form-data"]
    assert form["schema"] == {"$ref": "#/components/schemas/EvidenceForm"}
    assert_same_schema(spec, EvidenceFormSchema(), form["schema"], "form", besides={"file"})
    js = resolve(spec, form["schema"])
    assert "file" in js["required"]
    assert js["properties"]["file"] == {
        **js["properties"]["file"],
        "type": "string",
        "contentMediaType": "application/octet-stream",
    }
    assert set(form["encoding"]) == {"file", *EvidenceFormSchema().fields}
    assert resolve(spec, js["properties"]["kind"])["enum"] == list(CONTENT_TYPES)

    # A tracking number: JSON.
    tracking = content["application/json"]["schema"]
    assert tracking == {"$ref": "#/components/schemas/TrackingEvidence"}
    assert_same_schema(spec, TrackingEvidenceSchema(), tracking, "tracking")

    review = operations(spec)[(EVIDENCE_REVIEW, "post")]
    assert review["requestBody"]["required"] is True
    assert body_schema(spec, review) == {"$ref": "#/components/schemas/Review"}
    assert_same_schema(spec, ReviewSchema(), body_schema(spec, review), "review")


@pytest.mark.parametrize(
    ("path", "schema"),
    [
        ("/v1/complaints", ListComplaintsQuery),
        ("/v1/complaints/{id}/events", ListEventsQuery),
        (AUDIT, AuditEventsQuery),
        ("/v1/webhooks/{id}/deliveries", ListDeliveriesQuery),
    ],
)
def test_query_parameters_are_the_query_schemas(spec, path, schema):
    query = {
        name: param
        for (where, name), param in parameters(spec, path, "get").items()
        if where == "query"
    }
    loaded = schema()
    assert set(query) == set(loaded.fields)
    for name, field in loaded.fields.items():
        assert query[name]["required"] is field.required, name
        js = resolve(spec, query[name]["schema"])
        assert json_types(spec, js) == mm_types(field), name
        have = {k: js[k] for k in CONSTRAINTS if k in js}
        assert have == expected_constraints(field), name
        if field.load_default is not None and not callable(field.load_default):
            default = field.load_default
            assert js.get("default") == (None if default is missing else default), name


def assert_same_response_properties(spec: dict, schema: Schema, name: str) -> dict:
    js = resolve(spec, spec["components"]["schemas"][name])
    assert set(js["properties"]) == set(schema.fields), name
    assert js.get("additionalProperties") is False, name
    for field_name, field in schema.fields.items():
        prop = js["properties"][field_name]
        assert json_types(spec, prop) == mm_types(field), f"{name}.{field_name}"
        if isinstance(field, fields.DateTime):
            assert resolve(spec, prop).get("format") == "date-time", f"{name}.{field_name}"
    return js


def test_the_complaint_is_complaint_schema(spec):
    js = assert_same_response_properties(spec, ComplaintSchema(), "Complaint")
    only_for_care = {"care_due_at", "care_overdue"}
    assert set(js["required"]) == set(ComplaintSchema().fields) - only_for_care


def test_the_event_is_event_schema(spec):
    js = assert_same_response_properties(spec, EventSchema(), "Event")
    # `data_hashes` is the event log's (what it withholds); a message's 201 has none.
    assert set(js["required"]) == set(EventSchema().fields) - {"data_hashes"}
    actor = assert_same_response_properties(spec, ActorSchema(), "Actor")
    assert set(actor["required"]) == {"role", "id"}
    event_types = resolve(spec, js["properties"]["type"])["enum"]
    besides_transitions = set(OTHER_EVENTS)
    assert set(event_types) == {e.id for e in Lifecycle.events} | besides_transitions
    assert set(event_types) == set(EVENT_TYPES)
    for kind in besides_transitions:
        assert f"`{kind}`" in js["properties"]["data"]["description"], kind


def test_evidence_is_evidence_schema(spec):
    js = assert_same_response_properties(spec, EvidenceSchema(), "Evidence")
    mention = {"id", "kind", "by", "at", "care_only", "restricted", "reviewed"}
    assert set(js["required"]) == mention
    assert js["properties"]["kind"]["enum"] == list(KINDS)
    file = assert_same_response_properties(spec, EvidenceFileSchema(), "EvidenceFile")
    assert set(file["required"]) == set(EvidenceFileSchema().fields)
    review = assert_same_response_properties(spec, ReviewShownSchema(), "EvidenceReview")
    # `note` is left out of the mention of restricted evidence the caller may not open.
    assert set(review["required"]) == set(ReviewShownSchema().fields) - {"note"}
    # What a mention holds is what the domain keeps of restricted evidence.
    from resolution.domain.actors import Actor, Role
    from resolution.domain.evidence import as_seen_by

    item = {
        "id": "0" * 24,
        "kind": "identity_document",
        "by": {"role": "buyer", "id": "buyer-1"},
        "at": "2025-06-05T03:00:00.000+00:00",
        "care_only": False,
        "restricted": True,
        "reviewed": None,
        "caption": "KTP",
        "file": {"content_type": "image/png", "size": 1, "sha256": "0" * 64, "filename": "k"},
    }
    seen = as_seen_by(Actor(Role.SELLER, "seller-1", "shop-1"), item)
    assert set(seen) == mention
    evidence = validator(spec, "/components/schemas/Evidence")
    assert not list(evidence.iter_errors(seen))
    full = {**as_seen_by(Actor(Role.CARE, "agent-1"), item), "href": f"/v1/complaints/{'1' * 24}"}
    full["href"] += f"/evidence/{item['id']}"
    assert not list(evidence.iter_errors(full))
    # The three forms do not mix: a mention holds no content, a full entry names its sender,
    # and `restricted` is what the kind and `care_only` make it.
    assert not evidence.is_valid({**seen, "caption": "KTP"})
    assert not evidence.is_valid({**full, "by": {"role": "buyer"}})
    assert not evidence.is_valid({**full, "restricted": False})
    assert not evidence.is_valid({**full, "courier": "JNE"})
    assert not evidence.is_valid({**seen, "kind": "photo"})


def test_states_are_the_lifecycle_states(spec):
    from schemas.complaints import REASONS, STATES

    assert resolve(spec, spec["components"]["schemas"]["State"])["enum"] == list(STATES)
    complaint = spec["components"]["schemas"]["Complaint"]["properties"]
    assert complaint["reason"]["enum"] == list(REASONS)


# --- the wire --------------------------------------------------------------------------------


@pytest.fixture
def wire(client, spec) -> Wire:
    return Wire(client, spec)


def test_a_whole_flow_answers_as_the_spec_says(wire, spec):
    assert wire("get", "/healthz").status_code == 200
    assert wire("get", "/readyz").status_code == 200

    # Complaint A: refund, counter-offer, escalation, evidence, decision, review, return.
    refund_40000 = {"solution": {"kind": "refund", "amount": 40000}}
    first = open_complaint(wire, complaint_body(), {**BUYER, "Idempotency-Key": "a-1"})
    assert first.status_code == 201
    a = first.get_json()
    cid = a["id"]
    assert first.headers["Location"] == f"/v1/complaints/{cid}"
    assert first.headers["ETag"] == '"1"'
    assert "care_due_at" not in a and "care_overdue" not in a
    replay = open_complaint(wire, complaint_body(), {**BUYER, "Idempotency-Key": "a-1"})
    assert replay.status_code == 201 and replay.headers["Idempotent-Replayed"] == "true"
    assert replay.get_json()["id"] == cid

    seen_by_care = wire("get", "/v1/complaints/{id}", id=cid, headers=CARE).get_json()
    assert seen_by_care["care_due_at"] is None and seen_by_care["care_overdue"] is False
    assert wire("get", "/v1/complaints/{id}", id=cid, headers=BUYER).headers["ETag"] == '"1"'
    assert wire("get", "/v1/complaints/{id}", id=cid, headers=AUDITOR).status_code == 200

    message = post_message(wire, cid, {**BUYER, "If-Match": '"1"'}, "Foto terlampir.")
    assert message.status_code == 201 and message.headers["ETag"] == '"2"'
    assert message.get_json()["type"] == "message"

    offer = {"solution": {"kind": "refund", "amount": 30000}, "note": "Sebagian saja."}
    stale = act(wire, cid, "propose", {**SELLER, "If-Match": '"1"'}, offer)
    assert stale.status_code == 412 and stale.get_json()["version"] == 2
    assert act(wire, cid, "propose", {**SELLER, "If-Match": '"2"'}, offer).status_code == 200
    escalated = act(wire, cid, "escalate", BUYER, {"reason": "Tidak sepakat."})
    assert escalated.get_json()["state"] == "awaiting_care"
    assert act(wire, cid, "assign", CARE).get_json()["assigned_to"] == "agent-1"
    not_assignee = act(wire, cid, "request_evidence", CARE_2, {"party": "buyer", "what": "Video"})
    assert not_assignee.status_code == 409 and "allowed_actions" in not_assignee.get_json()
    asked = act(wire, cid, "request_evidence", CARE, {"party": "buyer", "what": "Video unboxing"})
    assert asked.get_json()["turn"] == "buyer"
    request = asked.get_json()["evidence_request"]
    assert asked.headers["ETag"] == f'"{request["id"]}"' and request["answer_ids"] == []

    # Evidence: a photo answering the request, an identity document, a tracking number.
    sent = upload(wire, cid, BUYER, "photo", png(), caption="Robek", answers=str(request["id"]))
    assert sent.status_code == 201 and sent.headers["Location"] == f"/v1/complaints/{cid}/evidence"
    photo = sent.get_json()
    assert photo["file"]["content_type"] == "image/png" and photo["restricted"] is False
    assert photo["href"] == f"/v1/complaints/{cid}/evidence/{photo['id']}"
    ktp = upload(wire, cid, BUYER, "identity_document", png("white")).get_json()
    assert ktp["restricted"] is True and "file" in ktp  # the uploader sees it all
    resi = tracking(wire, cid, {**SELLER, "Idempotency-Key": "resi-1"}, caption="Diterima")
    assert resi.status_code == 201 and resi.get_json()["tracking_number"] == "JP1234567890"
    again = tracking(wire, cid, {**SELLER, "Idempotency-Key": "resi-1"}, caption="Diterima")
    assert again.headers["Idempotent-Replayed"] == "true" and again.get_json() == resi.get_json()
    pointing = {"body": "Ini fotonya.", "evidence_ids": [photo["id"]], "answers": request["id"]}
    said = wire("post", "/v1/complaints/{id}/messages", id=cid, json=pointing, headers=BUYER)
    assert said.status_code == 201 and said.get_json()["data"] == pointing
    answered = wire("get", "/v1/complaints/{id}", id=cid, headers=CARE).get_json()
    assert answered["evidence_request"]["answer_ids"] == [photo["id"], ktp["id"]]
    assert answered["turn"] == "care"

    # Listing: the seller sees a bare mention of the buyer's identity document.
    as_seller = wire("get", EVIDENCE, id=cid, headers=SELLER).get_json()
    assert [item["id"] for item in as_seller["items"]] == [photo["id"], ktp["id"], resi.json["id"]]
    assert as_seller["items"][1] == {
        "id": ktp["id"],
        "kind": "identity_document",
        "by": {"role": "buyer"},
        "at": ktp["at"],
        "care_only": False,
        "restricted": True,
        "reviewed": None,
    }
    assert wire("get", EVIDENCE, id=cid, headers=CARE).get_json()["items"][1] == ktp

    # Downloads: the whole file, a range, a conditional request; the trail of restricted reads.
    whole = download(wire, cid, photo["id"], SELLER)
    assert whole.status_code == 200 and whole.mimetype == "image/png"
    content = whole.get_data()
    assert hashlib.sha256(content).hexdigest() == photo["file"]["sha256"]
    assert len(content) == photo["file"]["size"] == int(whole.headers["Content-Length"])
    assert whole.headers["ETag"] == f'"{photo["file"]["sha256"]}"'
    assert whole.headers["Cache-Control"] == "private"
    part = download(wire, cid, photo["id"], SELLER, Range="bytes=0-9")
    assert part.status_code == 206 and part.get_data() == content[:10]
    assert part.headers["Content-Range"] == f"bytes 0-9/{len(content)}"
    same = download(wire, cid, photo["id"], SELLER, **{"If-None-Match": whole.headers["ETag"]})
    assert same.status_code == 304
    assert download(wire, cid, ktp["id"], SELLER).status_code == 403
    assert viewed(wire, cid) == []  # ordinary evidence leaves no trail, a refusal neither
    read = download(wire, cid, ktp["id"], CARE)
    assert read.status_code == 200 and read.headers["Cache-Control"] == "private, no-store"
    seeking = download(wire, cid, ktp["id"], CARE, Range="bytes=10-")
    assert seeking.status_code == 206  # continues the read: not recorded again
    assert download(wire, cid, ktp["id"], AUDITOR).status_code == 200
    trail = viewed(wire, cid)
    assert [(e["actor"]["role"], e["data"]) for e in trail] == [
        ("care", {"evidence_id": ktp["id"], "kind": "identity_document"}),
        ("auditor", {"evidence_id": ktp["id"], "kind": "identity_document"}),
    ]

    # The decision waits until care has reviewed what answered its request.
    unread = act(wire, cid, "decide", CARE, {**refund_40000, "rationale": "Belum dibaca."})
    assert unread.status_code == 409 and "reviewed" in unread.get_json()["detail"]
    checked = review_evidence(wire, cid, photo["id"], CARE_2, {"note": "Robek terlihat jelas."})
    assert checked.status_code == 200 and checked.headers["ETag"]
    assert checked.get_json()["reviewed"]["by"] == "agent-2"
    assert review_evidence(wire, cid, ktp["id"], CARE, {"note": "KTP cocok."}).status_code == 200
    decided = act(
        wire,
        cid,
        "decide",
        CARE,
        {**refund_40000, "rationale": "Foto menunjukkan robek."},
    )
    assert decided.get_json()["outcome"] == "decided"
    assert post_message(wire, cid, BUYER, "Halo?").status_code == 409
    review = act(wire, cid, "request_review", SELLER, {"reason": "Kami keberatan."})
    assert review.get_json()["state"] == "awaiting_care"
    assert act(wire, cid, "assign", CARE).status_code == 409  # the decider may not review
    assert act(wire, cid, "assign", CARE_2, {}).status_code == 200
    return_refund = {"solution": {"kind": "return_refund", "amount": 45000}, "rationale": "Retur."}
    assert act(wire, cid, "decide", CARE_2, return_refund).get_json()["state"] == "awaiting_return"
    shipment = {"courier": "JNE", "tracking_number": "JNE-0001234"}
    assert act(wire, cid, "ship_return", BUYER, shipment).get_json()["state"] == "return_shipped"
    done = act(wire, cid, "confirm_return", SELLER)
    assert done.get_json()["outcome"] == "fulfilled"

    # Complaint B: appeal, a new request, acceptance, the missing part shipped and received.
    b = wire(
        "post",
        "/v1/complaints",
        json=complaint_body(
            "INV-1002",
            reason="incomplete",
            requested_solution={"kind": "send_remaining", "items": [{"sku": "TOPI", "qty": 1}]},
        ),
        headers=BUYER,
    ).get_json()["id"]
    assert act(wire, b, "appeal", SELLER, {"reason": "Sudah dikirim lengkap."}).status_code == 200
    remaining = {"solution": {"kind": "send_remaining", "items": [{"sku": "TOPI", "qty": 1}]}}
    assert act(wire, b, "propose", BUYER, remaining).get_json()["state"] == "awaiting_seller"
    assert act(wire, b, "accept", SELLER).get_json()["state"] == "awaiting_shipment"
    sent = act(wire, b, "ship_items", SELLER, {"courier": "SiCepat", "tracking_number": "SC12345"})
    assert sent.get_json()["state"] == "shipment_sent"
    assert act(wire, b, "confirm_received", BUYER, {}).get_json()["outcome"] == "fulfilled"

    # Complaint C: withdrawn at once.
    c = open_complaint(wire, complaint_body("INV-1003")).get_json()["id"]
    assert act(wire, c, "withdraw", BUYER).get_json()["outcome"] == "withdrawn"

    # Reading: lists a page at a time, the event log to its end.
    for who in (BUYER, SELLER, CARE, AUDITOR):
        page = wire("get", "/v1/complaints", headers=who).get_json()
        assert len(page["items"]) == 3 and page["next_cursor"] is None
    query = {"limit": 1}
    listed = []
    while True:
        page = wire("get", "/v1/complaints", query=query, headers=BUYER).get_json()
        listed += [item["id"] for item in page["items"]]
        if page["next_cursor"] is None:
            break
        query = {"limit": 1, "cursor": page["next_cursor"]}
    assert listed == [c, b, cid]
    closed_ones = wire("get", "/v1/complaints", query={"state": "closed"}, headers=CARE).get_json()
    assert {item["id"] for item in closed_ones["items"]} == {cid, b, c}
    seqs, query = [], {"limit": 5}
    while True:
        page = wire(
            "get", "/v1/complaints/{id}/events", id=cid, query=query, headers=AUDITOR
        ).get_json()
        seqs += [event["seq"] for event in page["items"]]
        if page["next_cursor"] is None:
            break
        query = {"limit": 5, "cursor": page["next_cursor"]}
    assert seqs == list(range(1, len(seqs) + 1)) and len(seqs) > 5

    # Every action was taken once and answered as documented; so was every evidence operation.
    for action in PERSON_ACTIONS:
        assert (action_path(action), "post", 200) in wire.seen, action
    for template, method, status in [
        (EVIDENCE, "post", 201),
        (EVIDENCE, "get", 200),
        (EVIDENCE_FILE, "get", 200),
        (EVIDENCE_FILE, "get", 206),
        (EVIDENCE_FILE, "get", 304),
        (EVIDENCE_REVIEW, "post", 200),
    ]:
        assert (template, method, status) in wire.seen, (template, method, status)


def test_errors_answer_as_the_spec_says(wire, spec, monkeypatch):
    cid = open_complaint(wire, complaint_body()).get_json()["id"]
    offer = {"solution": {"kind": "refund", "amount": 30000}}

    # 401: no token, a forged one.
    assert wire("get", "/v1/complaints").status_code == 401
    forged = wire("get", "/v1/complaints/{id}", id=cid, headers={"Authorization": "Bearer x.y.z"})
    assert forged.status_code == 401 and forged.headers["WWW-Authenticate"].startswith("Bearer")
    assert act(wire, cid, "propose", {}, offer).status_code == 401

    # 404: not an id, an unknown id, a complaint the caller may not see.
    assert wire("get", "/v1/complaints/{id}", id="not-an-id", headers=BUYER).status_code == 404
    unknown = "0123456789abcdef01234567"
    assert wire("get", "/v1/complaints/{id}", id=unknown, headers=BUYER).status_code == 404
    assert wire("get", "/v1/complaints/{id}", id=cid, headers=OTHER_BUYER).status_code == 404
    assert wire("get", "/v1/complaints/{id}/events", id=unknown, headers=CARE).status_code == 404
    assert act(wire, "NOT-AN-ID", "propose", SELLER, offer).status_code == 404
    assert post_message(wire, unknown, CARE, "Halo").status_code == 404

    # 403: a role that may never do it.
    assert open_complaint(wire, complaint_body("INV-9999"), SELLER).status_code == 403
    assert act(wire, cid, "propose", AUDITOR, offer).status_code == 403
    assert act(wire, cid, "decide", BUYER, {**offer, "rationale": "x"}).status_code == 403
    assert post_message(wire, cid, AUDITOR, "Halo").status_code == 403

    # 409: a second open complaint on the order; an action not allowed now.
    again = open_complaint(wire, complaint_body())
    assert again.status_code == 409 and again.get_json()["complaint_id"] == cid
    early = act(wire, cid, "escalate", BUYER, {"reason": "Lama."})
    assert early.status_code == 409
    assert early.get_json()["allowed_actions"] == ["withdraw"]
    assert act(wire, cid, "accept", BUYER).status_code == 409

    # 412: a stale If-Match.
    stale = act(wire, cid, "propose", {**SELLER, "If-Match": '"7"'}, offer)
    assert stale.status_code == 412 and stale.get_json()["version"] == 1

    # 422: unknown, missing or malformed fields, rules, headers and queries.
    invalid = [
        act(wire, cid, "propose", SELLER, {**offer, "extra": 1}),
        act(wire, cid, "propose", SELLER, {}),
        act(wire, cid, "propose", SELLER, {"solution": {"kind": "refund", "amount": 1.5}}),
        act(wire, cid, "propose", SELLER, {"solution": {"kind": "refund", "amount": 999999}}),
        act(wire, cid, "propose", SELLER, [offer]),
        act(wire, cid, "accept", SELLER, {"why": "not"}),
        act(wire, cid, "propose", {**SELLER, "If-Match": "latest"}, offer),
        act(wire, cid, "propose", {**SELLER, "Idempotency-Key": "k" * 256}, offer),
        open_complaint(wire, {**complaint_body("INV-2"), "order": order("INV-2", total=0)}),
        wire("get", "/v1/complaints", query={"limit": 0}, headers=BUYER),
        wire("get", "/v1/complaints", query={"state": "open"}, headers=BUYER),
        wire("get", "/v1/complaints", query={"sort": "id"}, headers=BUYER),
        wire("get", "/v1/complaints/{id}/events", id=cid, query={"cursor": "x"}, headers=BUYER),
    ]
    for response in invalid:
        assert response.status_code == 422, response.get_json()
        assert "errors" in response.get_json()
    reused = act(wire, cid, "propose", {**SELLER, "Idempotency-Key": "k-1"}, offer)
    assert reused.status_code == 200
    other = {"solution": {"kind": "refund", "amount": 20000}}
    assert act(wire, cid, "propose", {**SELLER, "Idempotency-Key": "k-1"}, other).status_code == 422
    replayed = act(wire, cid, "propose", {**SELLER, "Idempotency-Key": "k-1"}, offer)
    assert replayed.status_code == 200 and replayed.headers["Idempotent-Replayed"] == "true"

    # 415, 400, 413: the body itself.
    plain = act(wire, cid, "propose", SELLER, data="refund please", content_type="text/plain")
    assert plain.status_code == 415
    broken = act(wire, cid, "propose", SELLER, data='{"solution":', content_type="application/json")
    assert broken.status_code == 400
    huge = json.dumps({"body": "x" * MAX_BODY})
    too_large = wire(
        "post",
        "/v1/complaints/{id}/messages",
        id=cid,
        data=huge,
        content_type="application/json",
        headers=BUYER,
    )
    assert too_large.status_code == 413
    assert (
        wire(
            "post", "/v1/complaints", data="{", content_type="application/json", headers=BUYER
        ).status_code
        == 400
    )

    # 503: the database does not answer.
    monkeypatch.setattr("resolution.api.health.is_ready", lambda: False)
    assert wire("get", "/readyz").status_code == 503

    statuses = {status for _, _, status in wire.seen}
    assert {400, 401, 403, 404, 409, 412, 413, 415, 422, 503} <= statuses


def test_evidence_errors_answer_as_the_spec_says(wire, app):
    import dataclasses

    from resolution.domain.evidence import Limits

    cid = open_complaint(wire, complaint_body()).get_json()["id"]
    photo = upload(wire, cid, BUYER, "photo", png()).get_json()["id"]
    ktp = upload(wire, cid, BUYER, "identity_document", png()).get_json()["id"]
    resi = tracking(wire, cid, SELLER).get_json()["id"]
    unknown = "0123456789abcdef01234567"

    # 401: no token.
    assert wire("get", EVIDENCE, id=cid).status_code == 401
    assert upload(wire, cid, {}, "photo", png()).status_code == 401
    assert download(wire, cid, photo, {}).status_code == 401
    assert review_evidence(wire, cid, photo, {}, {"note": "x"}).status_code == 401

    # 403: auditors add nothing; another party's identity document; reviews are care's.
    assert tracking(wire, cid, AUDITOR).status_code == 403
    assert download(wire, cid, ktp, SELLER).status_code == 403
    assert review_evidence(wire, cid, photo, SELLER, {"note": "x"}).status_code == 403

    # 404: a complaint the caller may not see; evidence that is not there; a tracking number.
    assert wire("get", EVIDENCE, id=cid, headers=OTHER_BUYER).status_code == 404
    assert upload(wire, unknown, BUYER, "photo", png()).status_code == 404
    assert download(wire, cid, unknown, BUYER).status_code == 404
    assert download(wire, cid, "not-an-id", BUYER).status_code == 404
    assert download(wire, cid, resi, SELLER).status_code == 404
    assert review_evidence(wire, cid, unknown, CARE, {"note": "x"}).status_code == 404

    # 416: a range past the end; more than one range.
    assert download(wire, cid, photo, BUYER, Range="bytes=100000-").status_code == 416
    assert download(wire, cid, photo, BUYER, Range="bytes=0-1,3-4").status_code == 416

    # 415: neither form nor JSON; bytes that are not what the kind allows.
    assert (
        wire(
            "post", EVIDENCE, id=cid, data="foto", content_type="text/plain", headers=BUYER
        ).status_code
        == 415
    )
    assert upload(wire, cid, BUYER, "photo", b"%PDF-1.4\n%%EOF\n").status_code == 415
    assert upload(wire, cid, BUYER, "video", png()).status_code == 415
    assert (
        review_evidence(wire, cid, photo, CARE, data="ok", content_type="text/plain").status_code
        == 415
    )

    # 400: malformed JSON.
    assert (
        wire(
            "post", EVIDENCE, id=cid, data="{", content_type="application/json", headers=SELLER
        ).status_code
        == 400
    )
    assert (
        review_evidence(
            wire, cid, photo, CARE, data="{", content_type="application/json"
        ).status_code
        == 400
    )

    # 422: no file, an empty one, an unknown field, a kind for the other body, no note.
    no_file = wire(
        "post",
        EVIDENCE,
        id=cid,
        data={"kind": "photo"},
        content_type="multipart/form-data",
        headers=BUYER,
    )
    invalid = [
        no_file,
        upload(wire, cid, BUYER, "photo", b""),
        upload(wire, cid, BUYER, "photo", png(), where="rumah"),
        upload(wire, cid, BUYER, "tracking", png()),
        upload(wire, cid, BUYER, "photo", png(), answers="7"),  # no such request
        wire("post", EVIDENCE, id=cid, json={"kind": "photo"}, headers=BUYER),
        tracking(wire, cid, SELLER, tracking_number="?"),
        review_evidence(wire, cid, photo, CARE, {}),
        review_evidence(wire, cid, photo, CARE),
    ]
    for response in invalid:
        assert response.status_code == 422, response.get_json()
        assert "errors" in response.get_json()

    # 413: a file over the limit for what it is; a request over the largest limit.
    context = app.extensions["resolution.context"]
    tiny = Limits(image=64, document=64, video=64)
    app.extensions["resolution.context"] = dataclasses.replace(context, evidence_limits=tiny)
    big = io.BytesIO()
    Image.effect_noise((64, 64), 64).convert("RGB").save(big, "PNG")
    assert upload(wire, cid, BUYER, "photo", big.getvalue()).status_code == 413
    framing = b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n\r\n'
    oversized = framing + b"\0" * (2 << 20) + b"\r\n--b--\r\n"  # built here: no temporary file
    assert (
        wire(
            "post",
            EVIDENCE,
            id=cid,
            data=oversized,
            content_type="multipart/form-data; boundary=b",
            headers=BUYER,
        ).status_code
        == 413
    )
    app.extensions["resolution.context"] = context

    # 409: reviewed twice; a closed complaint takes no evidence and no reviews.
    assert review_evidence(wire, cid, photo, CARE, {"note": "ok"}).status_code == 200
    twice = review_evidence(wire, cid, photo, CARE, {"note": "ok"})
    assert twice.status_code == 409 and twice.get_json()["type"] == "/problems/conflict"
    assert act(wire, cid, "withdraw", BUYER).status_code == 200
    closed = upload(wire, cid, BUYER, "photo", png())
    assert closed.status_code == 409 and closed.get_json()["allowed_actions"] == []
    assert review_evidence(wire, cid, ktp, CARE, {"note": "ok"}).status_code == 409
    assert download(wire, cid, photo, SELLER).status_code == 200  # still readable

    statuses = {(t, m, s) for t, m, s in wire.seen if s >= 400}
    for template, method, wanted in [
        (EVIDENCE, "post", {400, 401, 403, 404, 409, 413, 415, 422}),
        (EVIDENCE, "get", {401, 404}),
        (EVIDENCE_FILE, "get", {401, 403, 404, 416}),
        (EVIDENCE_REVIEW, "post", {400, 401, 403, 404, 409, 415, 422}),
    ]:
        assert {s for t, m, s in statuses if (t, m) == (template, method)} == wanted, template


def test_the_audit_export_answers_as_the_spec_says(wire, spec):
    cid = open_complaint(wire, complaint_body()).get_json()["id"]
    upload(wire, cid, BUYER, "identity_document", png(), caption="NIK 3171234567890001")
    assert wire("get", AUDIT).status_code == 401
    assert wire("get", AUDIT, headers=BUYER).status_code == 403
    assert wire("get", AUDIT, query={"since": "2025-01-01"}, headers=CARE).status_code == 422

    exported = wire("get", AUDIT, query={"complaint_id": cid}, headers=AUDITOR)
    assert exported.status_code == 200 and exported.mimetype == "application/x-ndjson"
    *records, last = [json.loads(line) for line in exported.get_data(as_text=True).splitlines()]
    record_schema = validator(spec, "/components/schemas/AuditRecord")
    for record in records:
        assert not list(record_schema.iter_errors(record)), record
    assert [r["type"] for r in records] == ["open", "evidence_added"]
    assert "3171234567890001" not in json.dumps(records)
    assert not list(validator(spec, "/components/schemas/AuditManifest").iter_errors(last))
    assert last["manifest"]["count"] == 2 and last["manifest"]["filters"] == {"complaint_id": cid}

    as_csv = wire("get", AUDIT, headers={**CARE, "Accept": "text/csv"})
    assert as_csv.status_code == 200 and as_csv.mimetype == "text/csv"
    assert as_csv.headers["Content-Disposition"].endswith('"resolution-events.csv"')


def test_the_printable_record_answers_as_the_spec_says(wire):
    cid = open_complaint(wire, complaint_body()).get_json()["id"]
    for query, language in (({}, "id"), ({"lang": "en"}, "en")):
        page = wire("get", CASE_EXPORT, id=cid, query=query, headers=SELLER)
        assert page.status_code == 200 and page.mimetype == "text/html"
        assert page.headers["Content-Language"] == language
    assert wire("get", CASE_EXPORT, id=cid).status_code == 401
    assert wire("get", CASE_EXPORT, id=cid, headers=OTHER_SELLER).status_code == 404


def test_webhook_responses_are_their_schemas(spec):
    js = assert_same_response_properties(spec, SubscriptionSchema(), "Subscription")
    assert set(js["required"]) == set(SubscriptionSchema().fields) - {
        "secret",
        "previous_secret_expires_at",
    }
    js = assert_same_response_properties(spec, DeliverySchema(), "Delivery")
    assert set(js["required"]) == set(DeliverySchema().fields)
    types = resolve(spec, spec["components"]["schemas"]["Subscribe"]["properties"]["types"])
    assert types["maxItems"] == len(EVENT_TYPES)


def test_webhooks_answer_as_the_spec_says(wire, context):
    from dataclasses import replace

    from resolution import deliverer

    market = auth("integration", "market-1")
    context = replace(context, webhooks_allow_private=True)
    wire.client.application.extensions["resolution.context"] = context
    url = "http://127.0.0.1:9/hooks"  # nothing listens: every attempt fails
    assert wire("post", "/v1/webhooks", json={"url": url}, headers=BUYER).status_code == 403
    assert (
        wire("post", "/v1/webhooks", json={"url": "ftp://x.y/"}, headers=market).status_code == 422
    )
    created = wire("post", "/v1/webhooks", json={"url": url, "types": ["open"]}, headers=market)
    assert created.status_code == 201, created.get_json()
    wid = created.get_json()["id"]
    assert wire("get", "/v1/webhooks", headers=market).status_code == 200
    assert wire("get", "/v1/webhooks/{id}", id=wid, headers=market).status_code == 200
    rotated = wire("post", "/v1/webhooks/{id}/rotate-secret", id=wid, headers=market)
    assert rotated.status_code == 200
    open_complaint(wire, complaint_body())
    deliverer.run(context)
    listing = wire("get", "/v1/webhooks/{id}/deliveries", id=wid, headers=market)
    (delivery,) = listing.get_json()["items"]
    assert delivery["status"] == "pending" and delivery["last_error"]
    again = wire(
        "post",
        "/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver",
        id=wid,
        delivery_id=delivery["id"],
        headers=market,
    )
    assert again.status_code == 202
    assert wire("delete", "/v1/webhooks/{id}", id=wid, headers=market).status_code == 204
    assert wire("get", "/v1/webhooks/{id}", id=wid, headers=market).status_code == 404
