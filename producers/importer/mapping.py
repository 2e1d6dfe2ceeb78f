"""The import map (TOML): which CSV column feeds which event field, constants, value lookups.

```toml
kind = "orders"                 # optional; `--as` must agree when both are given
timezone = "Asia/Shanghai"      # for times without an offset (default SALESPULSE_TZ)
date_format = "%Y/%m/%d %H:%M"  # optional; ISO dates and a few common forms are understood
[columns]                       # field = "column header as in the export"
order_id = "订单编号"
occurred_at = "签约日期"
rep_id = "负责人"
amount = "合同金额"
account_id = "客户名称"
[defaults]                      # constants for fields without a column
currency = "CNY"
[values.rep_id]                 # lookups: export value -> SalesPulse value
"张伟" = "r-001"
```
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class MapError(ValueError):
    """The map file is unusable; the message names the key."""


@dataclass(frozen=True)
class ImportMap:
    kind: str | None
    columns: Mapping[str, str]
    defaults: Mapping[str, Any] = field(default_factory=dict)
    values: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    timezone: str | None = None
    date_format: str | None = None

    def column_of(self, field_name: str) -> str | None:
        return self.columns.get(field_name)


def load_map(path: str | Path) -> ImportMap:
    try:
        doc = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise MapError(f"{path}: {exc}") from exc
    return parse_map(doc)


def parse_map(doc: Mapping[str, Any]) -> ImportMap:
    columns = doc.get("columns")
    if not isinstance(columns, dict) or not columns:
        raise MapError('[columns]: required, e.g. order_id = "Order Number"')
    for key in ("defaults", "values"):
        if not isinstance(doc.get(key, {}), dict):
            raise MapError(f"[{key}]: must be a table")
    values = doc.get("values", {})
    for name, table in values.items():
        if not isinstance(table, dict):
            raise MapError(f"[values.{name}]: must be a table of export value = our value")
    return ImportMap(
        kind=doc.get("kind"),
        columns={str(k): str(v) for k, v in columns.items()},
        defaults=dict(doc.get("defaults", {})),
        values={k: dict(v) for k, v in values.items()},
        timezone=doc.get("timezone"),
        date_format=doc.get("date_format"),
    )
