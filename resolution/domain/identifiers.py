"""What the service's own ids and a channel's name look like, written once.

The API's schemas, its paths and the console all check against these.
"""

from __future__ import annotations

import re

# A complaint, evidence file, webhook subscription or delivery: 24 hex characters.
OBJECT_ID = re.compile(r"[0-9a-f]{24}")
# An id from another system (an order, a shop, a sku, a buyer): printable, no spaces.
EXTERNAL_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:\-]{0,63}")
# A storefront (tokopedia, tiktok_shop …): lower-case letters, digits and `_`.
CHANNEL = re.compile(r"[a-z][a-z0-9_]{1,31}")


def is_object_id(value: str) -> bool:
    return OBJECT_ID.fullmatch(value) is not None
