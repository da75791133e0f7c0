"""Reading an evidence file: streamed with its ETag, byte ranges, conditional requests and the
headers that keep it from being sniffed or cached; evidence without a file has none to read.
"""

from __future__ import annotations

from bson import ObjectId

from tests.support.evidence import download, of_type, pdf, tracking
from tests.support.http import assert_problem, open_complaint, upload
from tests.support.parties import BUYER, SELLER


def test_a_file_is_streamed_with_etag_and_byte_ranges(client):
    cid = open_complaint(client)
    content = pdf(padding=200)
    item = upload(client, cid, BUYER, "document", content, "a.pdf").get_json()
    eid, size = item["id"], len(content)
    tag = f'"{item["file"]["sha256"]}"'

    whole = download(client, cid, eid, SELLER)
    assert whole.status_code == 200 and whole.data == content
    assert whole.headers["ETag"] == tag
    assert whole.headers["Accept-Ranges"] == "bytes"
    assert whole.headers["Content-Length"] == str(size)
    assert whole.headers["X-Content-Type-Options"] == "nosniff"
    assert whole.headers["Content-Disposition"] == "inline"
    assert whole.headers["Cache-Control"] == "private"
    assert whole.mimetype == "application/pdf"

    first = download(client, cid, eid, SELLER, Range="bytes=0-9")
    assert first.status_code == 206 and first.data == content[:10]
    assert first.headers["Content-Range"] == f"bytes 0-9/{size}"
    assert first.headers["Content-Length"] == "10"
    rest = download(client, cid, eid, SELLER, Range="bytes=10-")
    assert rest.status_code == 206 and rest.data == content[10:]
    assert rest.headers["Content-Range"] == f"bytes 10-{size - 1}/{size}"
    tail = download(client, cid, eid, SELLER, Range="bytes=-5")
    assert tail.status_code == 206 and tail.data == content[-5:]

    assert_problem(download(client, cid, eid, SELLER, Range=f"bytes={size}-"), 416)
    assert_problem(download(client, cid, eid, SELLER, Range="bytes=0-1,5-6"), 416)

    cached = download(client, cid, eid, SELLER, **{"If-None-Match": tag})
    assert cached.status_code == 304 and cached.data == b""
    assert cached.headers["ETag"] == tag
    stale = download(client, cid, eid, SELLER, **{"If-None-Match": '"0000"'})
    assert stale.status_code == 200 and stale.data == content
    changed = download(client, cid, eid, SELLER, Range="bytes=0-9", **{"If-Range": '"0000"'})
    assert changed.status_code == 200 and changed.data == content
    same = download(client, cid, eid, SELLER, Range="bytes=0-9", **{"If-Range": tag})
    assert same.status_code == 206 and same.data == content[:10]
    # Ordinary evidence leaves no trail when read.
    assert of_type(client, cid, "evidence_viewed") == []


def test_a_range_in_another_unit_is_ignored(client):
    cid = open_complaint(client)
    content = pdf(padding=50)
    eid = upload(client, cid, BUYER, "document", content, "a.pdf").get_json()["id"]
    response = download(client, cid, eid, SELLER, Range="items=0-5")
    assert response.status_code == 200 and response.data == content


def test_unknown_evidence_and_tracking_have_no_file(client):
    cid = open_complaint(client)
    eid = tracking(client, cid, BUYER).get_json()["id"]
    assert_problem(download(client, cid, eid, BUYER), 404)
    assert_problem(download(client, cid, str(ObjectId()), BUYER), 404)
    assert_problem(download(client, cid, "not-an-id", BUYER), 404)
    assert_problem(download(client, str(ObjectId()), eid, BUYER), 404)
