"""Security headers on every response: the API's JSON, errors, files, the console, the export.

A header a view chose for itself stays (the console's and the printable record's own
Content-Security-Policy, a file's `Cache-Control: private` that lets a browser revalidate it
with its ETag, the console's `Referrer-Policy: same-origin`, which Flask-WTF's HTTPS referrer
check needs); what a view did not set gets the strict default.
"""

from __future__ import annotations

from flask import Flask, Response, request

# Nothing may frame any of our pages (clickjacking), in CSP's words and in the older header's.
FRAME_ANCESTORS = "frame-ancestors 'none'"
# JSON and problems are data, never a document: nothing may load from one.
DATA_POLICY = f"default-src 'none'; {FRAME_ANCESTORS}"
DATA_TYPES = ("application/json", "application/problem+json", "text/plain")
# Browsers honour it only on an HTTPS response (RFC 6797 8.1): over plain http it is ignored.
HSTS = "max-age=63072000"

_DEFAULTS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Strict-Transport-Security": HSTS,
}


def secure(response: Response) -> Response:
    """Adds the security headers a response lacks, and merges `frame-ancestors` into its CSP."""
    headers = response.headers
    for name, value in _DEFAULTS.items():
        headers.setdefault(name, value)
    if request.path.startswith("/v1/"):
        # Personal data: no shared cache and no browser cache, unless the view said otherwise.
        headers.setdefault("Cache-Control", "no-store")
    policy = headers.get("Content-Security-Policy")
    if policy is None:
        # Files (photos, videos, PDFs) keep what the browser needs to show them by themselves.
        data = response.mimetype in DATA_TYPES
        headers["Content-Security-Policy"] = DATA_POLICY if data else FRAME_ANCESTORS
    elif "frame-ancestors" not in policy:
        headers["Content-Security-Policy"] = f"{policy.rstrip('; ')}; {FRAME_ANCESTORS}"
    if response.mimetype == "text/html":
        # A page we serve shares no browsing context with a window another site opened.
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    return response


def init_app(app: Flask) -> None:
    app.after_request(secure)
