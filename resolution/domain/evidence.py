"""Evidence: what may be uploaded for which kind, and who may see its content.

Identity documents (KTP/NIK) are personal data under Indonesia's personal-data-protection law:
their content is for care, auditors and the party that uploaded them (seed 000, 004). The
other party sees that such evidence exists, never what it is.
"""

from __future__ import annotations

from collections.abc import Mapping

from .actors import Actor, Role

IMAGES = frozenset({"image/jpeg", "image/png", "image/webp"})
VIDEOS = frozenset({"video/mp4", "video/quicktime"})
PDF = frozenset({"application/pdf"})

# What each kind of evidence may be, by the content type read from its bytes.
CONTENT_TYPES: dict[str, frozenset[str]] = {
    "photo": IMAGES,
    "screenshot": IMAGES,
    "video": VIDEOS,
    "document": PDF | IMAGES,
    "identity_document": IMAGES | VIDEOS | PDF,
}
KINDS = (*CONTENT_TYPES, "tracking")
# Evidence nobody but care, auditors and the uploading party may open.
ALWAYS_RESTRICTED = frozenset({"identity_document"})


def category(content_type: str) -> str:
    """`image`, `video` or `document`: what the size limits are set by."""
    if content_type in IMAGES:
        return "image"
    if content_type in VIDEOS:
        return "video"
    return "document"


def is_restricted(item: Mapping) -> bool:
    """Identity documents, and anything the uploader marked `care_only`."""
    return item["kind"] in ALWAYS_RESTRICTED or bool(item.get("care_only"))


def party_of(actor: Mapping | Actor) -> str:
    """The side of the complaint an actor speaks for: the buyer, the shop, or care."""
    data = actor.as_data() if isinstance(actor, Actor) else actor
    if data["role"] == "seller":
        return f"seller:{data.get('shop_id')}"
    return f"{data['role']}:{data['id']}"


def can_open(actor: Actor, item: Mapping) -> bool:
    """May `actor` see this evidence's content (file, caption, file name)?"""
    if not is_restricted(item):
        return True
    if actor.is_staff:
        return True
    return party_of(actor) == party_of(item["by"])


WITHHELD = "[withheld: visible to the care team and its uploader only]"
# Care's word to one party, and care's own notes: the others see that they exist, not what
# they say (their hashes still chain).
PRIVATE = "[withheld: between the care team and the other party]"
CARE_NOTE = "[withheld: the care team's own note]"
# What of a restricted upload's event data the other party may still see.
MENTION_FIELDS = frozenset({"evidence_id", "kind", "care_only", "answers"})


def event_as_seen_by(
    actor: Actor, event_type: str, event_data: Mapping, event_actor: Mapping, evidence, commit
) -> tuple[dict, dict]:
    """An event's data as `actor` may see it, and the commitments of what it hides
    (`commit(key)`: a field's commitment, `Event.commitment`).

    Of restricted evidence the other party sees only the mention: in `evidence_added`, every
    field but `MENTION_FIELDS`; in `evidence_reviewed`, care's note (it may quote the
    document). `evidence` maps evidence ids to their entries. The hidden fields are replaced,
    and their commitments given (`data_hashes`; their salts are not), so the caller can still
    verify the event's hash without seeing the content.
    """
    if event_type == "note" and not actor.is_staff:
        return _withheld(event_data, set(), CARE_NOTE, commit)
    if event_type == "message" and event_data.get("to") and not reads_private(actor, event_data):
        return _withheld(event_data, {"to"}, PRIVATE, commit)
    if event_type == "evidence_added":
        item = {"kind": event_data.get("kind"), "care_only": event_data.get("care_only")}
        item["by"], shown = event_actor, MENTION_FIELDS
    elif event_type == "evidence_reviewed":
        item, shown = evidence.get(event_data.get("evidence_id")), {"evidence_id"}
    else:
        item = None
    if item is None or can_open(actor, item):
        return dict(event_data), {}
    return _withheld(event_data, shown, WITHHELD, commit)


def _withheld(event_data: Mapping, shown: set[str], marker: str, commit) -> tuple[dict, dict]:
    data, hashes = {}, {}
    for key, value in event_data.items():
        if key in shown:
            data[key] = value
        else:
            data[key], hashes[key] = marker, commit(key)
    return data, hashes


def reads_private(actor: Actor, message: Mapping) -> bool:
    """Care's message to one party (`to`): for care, auditors, that party, and the
    marketplace (which relays it to that party's app)."""
    if actor.is_staff or actor.role in (Role.INTEGRATION, Role.SYSTEM):
        return True
    return actor.role.value == message.get("to")


def as_seen_by(actor: Actor, item: Mapping) -> dict:
    """The evidence entry as this caller may see it: restricted content becomes a bare mention
    (that it exists, who sent it, whether and when care reviewed it, not care's note)."""
    if can_open(actor, item):
        return dict(item)
    hidden = {
        "id",
        "kind",
        "by",
        "at",
        "care_only",
        "restricted",
        "reviewed",
        "purged_at",
        "erased_at",
    }
    mention = {k: v for k, v in item.items() if k in hidden}
    mention["by"] = {"role": item["by"]["role"]}
    if mention.get("reviewed"):
        mention["reviewed"] = {"by": item["reviewed"]["by"], "at": item["reviewed"]["at"]}
    return mention


class Limits:
    """Upload size limits in bytes, by what the bytes turn out to be."""

    def __init__(self, image: int = 10 << 20, document: int = 10 << 20, video: int = 100 << 20):
        self.image, self.document, self.video = image, document, video

    def for_category(self, name: str) -> int:
        return {"image": self.image, "document": self.document, "video": self.video}[name]

    @property
    def largest(self) -> int:
        return max(self.image, self.document, self.video)
