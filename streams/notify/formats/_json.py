"""The one JSON encoding of every chat body (UTF-8, compact: Chinese text stays readable)."""

from __future__ import annotations

import json
from typing import Any

JSON_HEADERS = {"Content-Type": "application/json; charset=utf-8"}


def dumps(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
