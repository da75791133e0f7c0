"""The collections, their fields and their indexes, declared once with mongoengine.

Reads go through these documents' querysets. Writes that must commit together go through
the raw collections inside a pymongo transaction (`eventstore`), because mongoengine has no
sessions: a `Document.save()` would run outside the transaction.

How a query is written, so that the embedded database (SecantusDB 0.7) reads only what it
must; MongoDB plans each of these forms as well (benchmarks/query_plans.py shows each query's
time at 10,000 and 100,000 complaints):
- **No `hint`.** SecantusDB answers a hinted query by walking the whole index and decoding
  every document in it (its `explain` still reports the keys that match): a fan-out took
  4.7 s at 10,000 complaints with hints, 51 ms without.
- **A range has both ends.** `{"$lt": now}` alone is read as a collection scan;
  `{"$gte": EPOCH, "$lt": now}` reads the index range.
- **`$in` is not a prefix.** `state $in [...]` then a range on the next field of a compound
  index reads every document of those states: ask per state (`listings.due_complaints`).
- **The most selective clause first.** Of a filter no compound index covers, SecantusDB takes
  the first clause that an index serves and checks the rest on each document.
- A sort with a limit reads every match before it stops, and so do a count with a limit and
  a find with a limit and no sort: that is the embedded database's, and only MongoDB stops
  at the limit. A read that must stop at a page reads windows of its sort key, each a range
  closed at both ends (`listings.newest_page`, `newest_first`, `_oldest_first`).
"""

from __future__ import annotations

from mongoengine import (
    BooleanField,
    DateTimeField,
    DictField,
    Document,
    FloatField,
    IntField,
    ListField,
    StringField,
)
from pymongo.errors import CollectionInvalid, OperationFailure


class ComplaintDocument(Document):
    """The projection of a complaint's events that the API reads."""

    id = StringField(primary_key=True)
    state = StringField(required=True)
    version = IntField(required=True)
    last_hash = StringField(required=True)
    channel = StringField()
    order = DictField()
    buyer_id = StringField()
    shop_id = StringField()
    reason = StringField()
    description = StringField()
    outcome = StringField(null=True)
    turn = StringField(null=True)
    turn_started_at = DateTimeField(null=True)
    due_at = DateTimeField(null=True)
    deadline = DictField(null=True)
    paused = DictField(null=True)
    paused_until = DateTimeField(null=True)
    remind_at = DateTimeField(null=True)
    proposal = DictField(null=True)
    resolution = DictField(null=True)
    appeal = DictField(null=True)
    seller_answered = BooleanField()
    escalated_at = DateTimeField(null=True)
    assigned_to = StringField(null=True)
    assigned_at = DateTimeField(null=True)
    evidence_requests = ListField(DictField())
    evidence_request = DictField(null=True)
    evidence = ListField(DictField())
    decided_by = StringField(null=True)
    decided_at = DateTimeField(null=True)
    review_until = DateTimeField(null=True)
    care_replied_at = DateTimeField(null=True)
    care_reply_due_at = DateTimeField(null=True)
    care_decide_due_at = DateTimeField(null=True)
    care_due_at = DateTimeField(null=True)
    review_requested = BooleanField()
    under_review = BooleanField()
    return_shipment = DictField(null=True)
    shipment = DictField(null=True)
    settlement = DictField(null=True)
    earlier_settled = DictField(null=True)
    escalated = BooleanField()
    auto_escalated = BooleanField()
    seller_first_answer_at = DateTimeField(null=True)
    created_at = DateTimeField()
    updated_at = DateTimeField()
    closed_at = DateTimeField(null=True)
    legal_hold = DictField(null=True)
    retain_from = DateTimeField(null=True)
    retained_kinds = ListField(StringField())
    # Set while the complaint is not closed: the partial unique index below allows one such
    # complaint per order (a partial filter cannot say `state != closed`).
    active = BooleanField()

    meta = {
        "collection": "complaints",
        "auto_create_index": False,
        "indexes": [
            {
                "name": "one_open_complaint_per_order",
                "fields": ["channel", "order.id"],
                "unique": True,
                "partialFilterExpression": {"active": True},
            },
            # Every complaint on an order, closed ones too (what it already refunded).
            {"name": "by_order", "fields": ["channel", "order.id"]},
            # The listings, newest first by (created_at, id), each read a window of
            # `created_at` at a time (listings.window_page): the fields a listing filters on
            # by equality, then `created_at`, then `_id` (its tie-breaker: ids are not in
            # order of age). The embedded database reads a whole range before it sorts, so
            # a range closed at both ends bounds what it reads; MongoDB reads in the order.
            {"name": "by_buyer", "fields": ["buyer_id", "created_at", "_id"]},
            {"name": "by_buyer_state", "fields": ["buyer_id", "state", "created_at", "_id"]},
            # A seller's listing, and its shop's figures (the complaints opened in a window).
            {"name": "by_shop", "fields": ["shop_id", "created_at", "_id"]},
            {"name": "by_shop_state", "fields": ["shop_id", "state", "created_at", "_id"]},
            {"name": "by_state", "fields": ["state", "created_at", "_id"]},
            # The marketplace's listing of its channel, and its change feed (by updated_at).
            {"name": "by_channel", "fields": ["channel", "created_at", "_id"]},
            {"name": "channel_feed", "fields": ["channel", "updated_at", "_id"]},
            {"name": "due", "fields": ["state", "due_at"]},
            # The sweeper's reminders: `remind_at <= now < due_at`, both read from the keys,
            # so only complaints it reminds are fetched.
            {"name": "remind", "fields": ["remind_at", "due_at"], "sparse": True},
            {"name": "care_due", "fields": ["care_due_at"], "sparse": True},
            # Paused clocks the sweeper resumes at their `until`.
            {"name": "paused", "fields": ["paused_until"], "sparse": True},
            # The care queue in its order (oldest escalation first), read a window of
            # `escalated_at` at a time per state (listings.care_queue_page).
            {"name": "care_queue", "fields": ["state", "escalated_at", "_id"]},
            # An agent's own cases ("my cases"), its most urgent first.
            {"name": "by_agent", "fields": ["assigned_to", "state", "care_due_at"]},
            # An agent's own queue, oldest escalation first, a window of `escalated_at` at a
            # time from a kept floor (listings.care_queue_page with `assigned_to`).
            {"name": "agent_queue", "fields": ["assigned_to", "state", "escalated_at", "_id"]},
            # Settlements: one by its id (the payment system's answers), the listings by
            # status (newest first: ids sort by creation), and the held ones by release time.
            {"name": "by_settlement", "fields": ["settlement.id"], "sparse": True},
            {"name": "settlements", "fields": ["settlement.status", "-settlement.id"]},
            {
                "name": "channel_settlements",
                "fields": ["channel", "settlement.status", "-settlement.id"],
            },
            {"name": "settlement_due", "fields": ["settlement.status", "settlement.release_at"]},
            # Retention: closed complaints still keeping files of a kind, by when their
            # periods started (sparse: open and held complaints, and those with no file
            # left, are not in it).
            {"name": "retention", "fields": ["retained_kinds", "retain_from"], "sparse": True},
            # Closed complaints whose projection predates retention (no `closed_at`: null in
            # the index), filled in by the sweeper a batch at a time (service/retention.py).
            {"name": "closed_since", "fields": ["state", "closed_at"]},
            # Every complaint newest first (care's listing with no filter).
            {"name": "newest", "fields": ["created_at", "_id"]},
        ],
    }


class FloorDocument(Document):
    """Where an oldest-first read of an index range starts (`listings._oldest_first`): the
    lowest value the range held when last read. A hint only: each read also reads below it
    (nothing, while it holds), so a stale or missing floor costs reads, never a complaint."""

    id = StringField(primary_key=True)  # which read: "care_queue", "due", "remind", ...
    at = DateTimeField(required=True)
    # Seconds of the range that held what that read asked for, at the density it found: the
    # next read's first window above the floor (none: `listings.FIRST_WINDOW`).
    width = FloatField(null=True)

    meta = {"collection": "floors", "auto_create_index": False, "indexes": []}


class CounterDocument(Document):
    """One stripe of a counter kept in the same transaction as the change it counts
    (`store.counters`): `complaints:<state>:<stripe>`, its `n` the sum's share; and the
    marker of a counter's recount (`recount:complaints`)."""

    id = StringField(primary_key=True)
    n = IntField()

    meta = {"collection": "counters", "auto_create_index": False, "indexes": []}


class EventDocument(Document):
    """One event: appended once, never changed (but for its outbox mark, `fanout_at`)."""

    complaint_id = StringField(required=True)
    seq = IntField(required=True)
    type = StringField(required=True)
    actor = DictField(required=True)
    data = DictField()
    at = DateTimeField(required=True)
    prev_hash = StringField(required=True)
    hash = StringField(required=True)
    # The hash scheme (docs/hash-chain.md): absent on events written before salts (1).
    hash_version = IntField()
    salts = DictField()  # each field's salt (scheme 2)
    commitments = DictField()  # the commitment of each field whose value was erased
    fanout_at = DateTimeField()  # the webhook outbox mark: see eventstore.FANOUT

    meta = {
        "collection": "events",
        "auto_create_index": False,
        "indexes": [
            # The append guard: two writers of the same version cannot both get in.
            {"name": "complaint_seq", "fields": ["complaint_id", "seq"], "unique": True},
            {"name": "by_time", "fields": ["at", "complaint_id", "seq"]},
            # The webhook outbox: the events whose deliveries are still to be made carry
            # `fanout_at` (eventstore.FANOUT) until the deliverer's fan-out removes it.
            {"name": "fanout", "fields": ["fanout_at"], "sparse": True},
            # One person's events: what a data subject wrote (erasure, access report), and
            # the identity documents an agent opened in a time range (`type` =
            # evidence_viewed), one index range each.
            # (`data.kind` in the key: SecantusDB reads no index for a filter with a clause
            # the index lacks.)
            {"name": "by_actor", "fields": ["actor.id", "type", "data.kind", "at"]},
        ],
    }


class IdempotencyRecord(Document):
    """The first response to a POST with an `Idempotency-Key`, replayed on a retry."""

    id = StringField(primary_key=True)
    fingerprint = StringField(required=True)
    status = IntField(required=True)
    body = DictField()
    headers = DictField()
    created_at = DateTimeField(required=True)

    meta = {
        "collection": "idempotency",
        "auto_create_index": False,
        "indexes": [
            # Keys are kept for a day, like Stripe's: long enough for any client's retries.
            {"name": "expiry", "fields": ["created_at"], "expireAfterSeconds": 24 * 3600},
        ],
    }


class WebhookSubscription(Document):
    """Where an integrator wants events sent, which ones, and the secrets that sign them."""

    id = StringField(primary_key=True)
    owner = StringField(required=True)
    url = StringField(required=True)
    types = ListField(StringField())
    channel = StringField(null=True)
    # Newest first: [{"value": "whsec_…", "expires_at": None | datetime}]
    secrets = ListField(DictField())
    created_at = DateTimeField(required=True)

    meta = {
        "collection": "webhooks",
        "auto_create_index": False,
        "indexes": [{"name": "by_owner", "fields": ["owner", "-_id"]}],
    }


class WebhookDelivery(Document):
    """One event for one subscription: sent, retried, delivered or dead-lettered."""

    id = StringField(primary_key=True)
    subscription_id = StringField(required=True)
    complaint_id = StringField(required=True)
    seq = IntField(required=True)
    type = StringField(required=True)
    payload = DictField(required=True)
    status = StringField(required=True)  # pending, delivered, dead
    attempts = IntField(required=True)
    next_attempt_at = DateTimeField(null=True)
    lease_until = DateTimeField(null=True)
    last_status_code = IntField(null=True)
    last_error = StringField(null=True)
    last_response = StringField(null=True)  # the start of the receiver's answer (4 KB at most)
    created_at = DateTimeField(required=True)
    delivered_at = DateTimeField(null=True)

    meta = {
        "collection": "webhook_deliveries",
        "auto_create_index": False,
        "indexes": [
            # Fan-out is idempotent: one delivery per subscription and event.
            {
                "name": "one_per_event",
                "fields": ["subscription_id", "complaint_id", "seq"],
                "unique": True,
            },
            # The deliverer's queue: pending ones, in order within each complaint.
            {"name": "queue", "fields": ["status", "subscription_id", "complaint_id", "seq"]},
            # The deliverer's claim: pending ones, the longest due first, a window of
            # `next_attempt_at` at a time from a kept floor (webhooks.due_heads).
            {"name": "due", "fields": ["status", "next_attempt_at", "_id"]},
            # A subscription's deliveries newest first, of a status or of each, read a
            # window of `created_at` at a time (listings.newest_first). (It replaces
            # `listing`, by `_id`: a database made before keeps that one until dropped.)
            {
                "name": "by_subscription",
                "fields": ["subscription_id", "status", "created_at", "_id"],
            },
            # Delivered ones are kept 30 days for the deliveries listing; dead ones until
            # redelivered (the TTL passes over documents without the date).
            {"name": "expiry", "fields": ["delivered_at"], "expireAfterSeconds": 30 * 86400},
        ],
    }


class OrderDocument(Document):
    """An order as the marketplace registered it (its latest version): `_id` is
    `<channel>/<order id>` (a channel has no `/`)."""

    id = StringField(primary_key=True)
    channel = StringField(required=True)
    order_id = StringField(required=True)
    buyer_id = StringField(required=True)
    shop_id = StringField(required=True)
    items = ListField(DictField())
    total = IntField(required=True)
    payment = DictField()
    shipment = DictField(null=True)
    completed_at = DateTimeField(null=True)
    invoice_url = StringField(null=True)
    held_amount = IntField(required=True)
    version = IntField(required=True)
    registered_at = DateTimeField(required=True)
    updated_at = DateTimeField(required=True)

    meta = {"collection": "orders", "auto_create_index": False, "indexes": []}


class CheckpointDocument(Document):
    """A signed checkpoint (`domain.checkpoints`): `_id` is its number, one per number (the
    primary key is the unique index that lets one of two racing sweepers win), and one per
    predecessor (`prev`, unique: two checkpoints never fork from one)."""

    id = IntField(primary_key=True)
    size = IntField(required=True)
    events = IntField(required=True)
    time = StringField(required=True)
    root = StringField(required=True)
    prev = StringField(required=True)
    key = StringField(required=True)
    signature = StringField(required=True)
    # The roots of its leaves' chunks (each a `CheckpointChunk`) and each chunk's first
    # complaint id, in leaf order: a proof reads this and one chunk.
    chunks = ListField(StringField())
    firsts = ListField(StringField())

    meta = {
        "collection": "checkpoints",
        "auto_create_index": False,
        "indexes": [
            {"name": "one_successor", "fields": ["prev"], "unique": True},
            # The checkpoint an export ends at: the latest at or before a time (`time` is the
            # fixed-width ISO text, so text order is time order).
            {"name": "checkpoint_time", "fields": ["time"]},
        ],
    }


class CheckpointChunk(Document):
    """Up to 1,024 leaves of checkpoints, `[complaint_id, seq, hash]` in complaint id order,
    keyed by their Merkle root: a chunk no complaint of which moved is shared by the next
    checkpoint instead of written again."""

    id = StringField(primary_key=True)
    leaves = ListField(ListField())

    meta = {"collection": "checkpoint_chunks", "auto_create_index": False, "indexes": []}


class SigningKeyDocument(Document):
    """The key history: every public key that ever signed a checkpoint, kept after rotation."""

    id = StringField(primary_key=True)  # the key id
    public_key = StringField(required=True)
    first_used = StringField(required=True)
    last_used = StringField(required=True)

    meta = {"collection": "signing_keys", "auto_create_index": False, "indexes": []}


class FileKeyDocument(Document):
    """An evidence file's own key, wrapped by a master key (service/encryption.py): kept apart
    from the file's chunks, and destroyed to destroy the file (crypto-shredding)."""

    id = StringField(primary_key=True)  # the file's id
    kek = StringField(required=True)  # which master key wraps it
    scheme = StringField()

    meta = {
        "collection": "file_keys",
        "auto_create_index": False,
        # The rotation's read: the keys not yet under the current master key, per old key.
        "indexes": [{"name": "by_master_key", "fields": ["kek"]}],
    }


class ErasureReceipt(Document):
    """What an erasure of a data subject's personal data erased, where and when."""

    id = StringField(primary_key=True)
    subject_id = StringField(required=True)
    reason = StringField()
    by = StringField()
    at = DateTimeField()
    complaints = ListField(DictField())

    meta = {
        "collection": "erasures",
        "auto_create_index": False,
        "indexes": [{"name": "by_subject", "fields": ["subject_id", "-_id"]}],
    }


DOCUMENTS = (
    ComplaintDocument,
    FloorDocument,
    CounterDocument,
    CheckpointDocument,
    CheckpointChunk,
    SigningKeyDocument,
    OrderDocument,
    EventDocument,
    IdempotencyRecord,
    WebhookSubscription,
    WebhookDelivery,
    FileKeyDocument,
    ErasureReceipt,
)


# Indexes a release no longer declares, by collection: dropped at start (`_retire`).
RETIRED: dict[str, tuple[str, ...]] = {
    "complaints": ("shop_opened",),  # `by_shop` (shop_id, created_at, _id) serves its reads
    "webhook_deliveries": ("listing",),  # `by_subscription` serves the deliveries page
}


def _keys(spec: object) -> list[tuple[str, object]]:
    return [(field, value if isinstance(value, str) else int(value)) for field, value in spec]


def _retire(document: type[Document]) -> None:
    """Drops the collection's retired indexes, and those declared again under the same name
    with other keys (the listings' indexes gained `created_at`), so that `ensure_indexes`
    builds them anew: creating an index under a name taken by other keys is refused."""
    collection = document._get_collection()
    declared = {
        spec["name"]: _keys(spec["fields"])
        for spec in document._meta.get("index_specs", ())
        if spec.get("name")
    }
    retired = RETIRED.get(collection.name, ())
    for name, info in collection.index_information().items():
        changed = name in declared and _keys(info["key"]) != declared[name]
        if name in retired or changed:
            try:
                collection.drop_index(name)
            except OperationFailure:
                pass  # another worker, starting at the same moment, dropped it first


def ensure_indexes() -> None:
    """Creates every collection and index the service uses; safe to call at every start.

    Collections too, not only indexes: a collection made by its first write is made under
    load, and the embedded database, killed while it makes one, does not start again ("table
    ... cannot be used until all column groups are created": tests/reliability's crash test).
    """
    db = ComplaintDocument._get_db()
    existing = set(db.list_collection_names())
    for document in DOCUMENTS:
        name = document._get_collection_name()
        if name not in existing:
            try:
                db.create_collection(name)
            except (CollectionInvalid, OperationFailure):
                pass  # another worker, starting at the same moment, made it first
        _retire(document)
        document.ensure_indexes()
