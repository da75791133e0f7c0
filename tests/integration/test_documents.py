"""The stored complaint declares every field of the projection, and nothing else."""

import dataclasses

from resolution.domain.projection import Complaint
from resolution.store.documents import ComplaintDocument


def test_the_complaint_document_declares_every_projection_field():
    projected = {f.name for f in dataclasses.fields(Complaint)}
    declared = set(ComplaintDocument._fields) - {"active"}
    assert declared == projected
