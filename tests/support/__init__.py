"""What the tests share, one copy each: import from the module that says what it is.

- `parties`: the tests' JWT secret and signing key, tokens, the usual callers' headers.
- `clock`: a clock the test moves by hand.
- `bodies`: an order, a complaint's opening body, a small real PNG.
- `snapshots`: what is stored, for "a refused request changes nothing".
- `http`: opening, acting and uploading over the Flask test client.
- `servers`: free ports, the app on a real socket, raw HTTP replies.
- `receiver`: a webhook endpoint on loopback that records what it gets.
- `spec`, `wire`: openapi.yaml read, and calls checked against it.
- `evidence`: files made on the spot and the evidence API's requests.
- `hostile`: hostile requests as cases, and what a clear refusal is.
- `stories`: the domain's unit tests' complaint stories.
- `gauntlet`: the scale and figures of tests/reliability.
- `audit_log`: a generated, sealed event log (benchmarks use it too).

Fixtures stay in the conftest.py files; nothing here is one.
"""

import pkgutil

import pytest

# Their asserts explain a failure as a test's own do: pytest rewrites them, as it does conftest.
pytest.register_assert_rewrite(*(f"{__name__}.{m.name}" for m in pkgutil.iter_modules(__path__)))
