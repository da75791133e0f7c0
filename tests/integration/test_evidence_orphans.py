"""Files whose upload never got its event are cleaned up; recorded ones never are."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from resolution.domain.actors import Actor, Role
from resolution.service.evidence import add_evidence, remove_orphan_files
from resolution.store import files
from resolution.store.documents import ComplaintDocument
from tests.support.bodies import complaint_body, png_file
from tests.support.orders import open_registered

BUYER = Actor(Role.BUYER, "buyer-1")


def _files():
    return ComplaintDocument._get_db()["evidence.files"]


def test_an_orphan_older_than_an_hour_is_removed_and_a_recorded_file_is_kept(context, clock):
    complaint = open_registered(context, BUYER, complaint_body()).complaint
    kept = add_evidence(context, BUYER, complaint.id, {"kind": "photo"}, png_file("blue"), "a.png")
    kept_id = kept.event.data["evidence_id"]
    orphan_id = files.put(png_file("blue"), {"complaint_id": complaint.id, "kind": "photo"})
    # A process that died right after committing: recorded but never marked.
    _files().update_many({}, {"$unset": {"metadata.recorded": 1}})

    real_now = datetime.now(UTC)  # GridFS stamps uploadDate with the real clock
    assert remove_orphan_files(context, real_now) == 0  # younger than the grace period
    assert remove_orphan_files(context, real_now + timedelta(hours=2)) == 1
    assert files.open_file(orphan_id) is None
    assert files.open_file(kept_id) is not None
    assert str(_files().find_one({"metadata.recorded": True})["_id"]) == kept_id
