"""The price table `labcloud bill` uses: a CSV committed beside this module, USD per instance-hour by
component (training, processing, transform, hosting) and instance type, with its region, date and source
stated in its header comments. A type the table does not name is unpriced, never free."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_TABLE = Path(__file__).with_name("prices-eu-west-1.csv")

# The component a usage row's kind is billed under, and the botocore enum of the types valid for it.
COMPONENT_OF_KIND = {"training-job": "training", "processing-job": "processing", "transform-job": "transform",
                     "endpoint": "hosting"}
ENUM_OF_COMPONENT = {"training": "TrainingInstanceType", "processing": "ProcessingInstanceType",
                     "transform": "TransformInstanceType", "hosting": "ProductionVariantInstanceType"}
_ABOUT = ("region", "date", "source")


@dataclass(frozen=True)
class PriceTable:
    prices: dict[tuple[str, str], float]  # (component, instance type) -> USD per instance-hour
    about: dict[str, str] = field(default_factory=dict)  # region, date, source, as the file states them
    path: Path | None = None

    def usd_per_hour(self, component: str, instance_type: str | None) -> float | None:
        return self.prices.get((component, instance_type)) if instance_type else None

    @property
    def region(self) -> str:
        return self.about.get("region", "unknown")

    @property
    def date(self) -> str:
        return self.about.get("date", "unknown")

    @property
    def source(self) -> str:
        return self.about.get("source", "unknown")


def load(path: str | Path | None = None) -> PriceTable:
    """Read a price table (the committed one by default)."""
    path = Path(path) if path else DEFAULT_TABLE
    return parse(path.read_text(), path)


def parse(text: str, path: Path | None = None) -> PriceTable:
    about: dict[str, str] = {}
    data, key = [], None
    for line in text.splitlines():
        if not line.startswith("#"):
            data.append(line)
            continue
        comment = line[1:]
        head, _, rest = comment.strip().partition(":")
        if head in _ABOUT and comment.startswith(" ") and not comment.startswith("  "):
            key, about[head] = head, rest.strip()
        elif key and comment.startswith("   "):  # an indented line carries the field above on
            about[key] = f"{about[key]} {comment.strip()}".strip()
        else:
            key = None
    prices = {}
    for row in csv.DictReader(io.StringIO("\n".join(data))):
        component = row["component"].strip()
        if component not in ENUM_OF_COMPONENT:
            raise ValueError(f"{path or 'price table'}: unknown component {component!r}")
        prices[(component, row["instance_type"].strip())] = float(row["usd_per_hour"])
    return PriceTable(prices, about, path)
