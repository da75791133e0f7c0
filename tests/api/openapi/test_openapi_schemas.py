"""openapi.yaml's schemas are the marshmallow schemas: every request body and query is loaded
through the schema the spec describes, with the same fields, types, constraints and defaults;
every response object has the fields its schema dumps.
"""

from __future__ import annotations

from typing import Any

import pytest
from marshmallow import RAISE, Schema, fields, missing, validate

from resolution.api.audit import AuditEventsQuery
from resolution.domain.commands import EVENT_TYPES, OTHER_EVENTS
from resolution.domain.evidence import CONTENT_TYPES, KINDS
from resolution.domain.lifecycle import PERSON_ACTIONS, Lifecycle
from schemas.anchoring import (
    CheckpointPageSchema,
    CheckpointSchema,
    ListCheckpointsQuery,
    ProofSchema,
    SigningKeySchema,
)
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
from schemas.orders import OrderReferenceSchema, OrderSchema, RegisterOrderSchema
from schemas.webhooks import (
    DeliverySchema,
    ListDeliveriesQuery,
    SubscribeSchema,
    SubscriptionSchema,
)
from tests.support.spec import (
    AUDIT,
    EVIDENCE,
    EVIDENCE_REVIEW,
    action_path,
    body_schema,
    operations,
    parameters,
    resolve,
    validator,
)

ORDER = "/v1/orders/{channel}/{order_id}"

# --- the marshmallow schemas ----------------------------------------------------------------------


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
        if "oneOf" in js:  # a nullable object: its object branch
            js = next(b for b in js["oneOf"] if resolve(spec, b).get("type") == "object")
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


def test_the_order_registry_is_its_schemas(spec):
    op = operations(spec)[(ORDER, "put")]
    assert op["requestBody"]["required"] is True
    assert body_schema(spec, op) == {"$ref": "#/components/schemas/RegisterOrder"}
    assert_same_schema(spec, RegisterOrderSchema(), body_schema(spec, op), "register")
    assert_same_response_properties(spec, OrderSchema(), "Order")
    for status in ("200", "201"):
        shown = op["responses"][status]["content"]["application/json"]["schema"]
        assert shown == {"$ref": "#/components/schemas/Order"}
    reference = resolve(spec, spec["components"]["schemas"]["OpenComplaint"])["properties"]
    assert_same_schema(spec, OrderReferenceSchema(), reference["order"], "order reference")


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
        ("/v1/audit/checkpoints", ListCheckpointsQuery),
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
    only_for_care = {"care_due_at", "care_reply_due_at", "care_overdue", "legal_hold"}
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


@pytest.mark.parametrize(
    ("schema", "name"),
    [
        (CheckpointSchema, "Checkpoint"),
        (SigningKeySchema, "SigningKey"),
        (CheckpointPageSchema, "CheckpointPage"),
        (ProofSchema, "Proof"),
    ],
)
def test_checkpoints_and_proofs_are_their_schemas(spec, schema, name):
    js = assert_same_response_properties(spec, schema(), name)
    assert set(js["required"]) == set(schema().fields)
