"""What this lab cloud's SageMaker jobs and endpoints would have cost on AWS.

    usage (labcloud's usage API: services/usage) ──► price(rows, table) ──► Bill: .rows, .total_usd,
                                                                               .csv(), .table(), .chart(path)

Each row is billed as AWS bills it: billable seconds x instance count x the hourly rate of its type for
its component, / 3600. Training's billable seconds are DescribeTrainingJob's BillableTimeInSeconds (a managed
spot job's are already discounted, so it is priced at the on-demand rate, as AWS does); processing and
transform jobs bill from their start to their end; an endpoint bills while it is in service, until it is
deleted or now. A type the price table does not name is unpriced: its row says so and the total leaves
it out (it is not counted as free).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from labcloud.billing import prices as price_tables
from labcloud.billing.prices import COMPONENT_OF_KIND, PriceTable

USAGE_TARGET = "Labcloud_Usage.ListUsage"  # services/usage/service.py
CSV_COLUMNS = ["name", "kind", "instance_type", "instance_count", "billable_seconds", "usd_per_hour", "usd",
               "status", "spot", "training_seconds"]
UNPRICED = "unpriced"


@dataclass(frozen=True)
class BillRow:
    name: str
    kind: str  # training-job, processing-job, transform-job or endpoint
    instance_type: str | None
    instance_count: int
    billable_seconds: int  # per instance
    usd_per_hour: float | None  # None: the price table does not name this type for this component
    status: str = ""
    spot: bool = False
    training_seconds: int | None = None

    @property
    def component(self) -> str:
        return COMPONENT_OF_KIND[self.kind]

    @property
    def priced(self) -> bool:
        return self.usd_per_hour is not None

    @property
    def usd(self) -> float | None:
        if self.usd_per_hour is None:
            return None
        return self.billable_seconds * self.instance_count * self.usd_per_hour / 3600


@dataclass
class Bill:
    rows: list[BillRow]
    prices: PriceTable
    generated: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.timezone.utc))

    @property
    def total_usd(self) -> float:
        """The sum of the priced rows (unpriced ones are left out, and listed by `unpriced`)."""
        return sum(row.usd for row in self.rows if row.priced)

    @property
    def unpriced(self) -> list[BillRow]:
        return [row for row in self.rows if not row.priced]

    def price_note(self) -> str:
        return (f"prices: {self.prices.region}, {self.prices.date}; source: {self.prices.source}")

    def csv(self) -> str:
        """One row per job, endpoint (variant) or transform, then a total row."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        for row in self.rows:
            writer.writerow([row.name, row.kind, row.instance_type or "", row.instance_count,
                             row.billable_seconds, "" if row.usd_per_hour is None else f"{row.usd_per_hour:g}",
                             UNPRICED if row.usd is None else f"{row.usd:.6f}", row.status,
                             "yes" if row.spot else "no",
                             "" if row.training_seconds is None else row.training_seconds])
        unpriced = len(self.unpriced)
        writer.writerow(["total", "", "", "", "", "",
                         f"{self.total_usd:.6f}", f"{unpriced} unpriced" if unpriced else "", "", ""])
        return out.getvalue()

    def table(self) -> str:
        """The bill as the terminal shows it."""
        head = ["name", "kind", "instance type", "count", "billable s", "USD/hour", "USD"]
        lines = [[r.name + (" (spot)" if r.spot else ""), r.kind, r.instance_type or "-", str(r.instance_count),
                  str(r.billable_seconds), "-" if r.usd_per_hour is None else f"{r.usd_per_hour:g}",
                  UNPRICED if r.usd is None else f"{r.usd:.4f}"] for r in self.rows]
        total = ["total", "", "", "", "", "", f"{self.total_usd:.4f}"]
        widths = [max(len(cells[i]) for cells in [head, total, *lines]) for i in range(len(head))]
        numeric = {3, 4, 5, 6}

        def fmt(cells):
            return "  ".join(c.rjust(w) if i in numeric else c.ljust(w)
                             for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

        rule = "  ".join("-" * w for w in widths)
        body = [fmt(head), rule, *map(fmt, lines), rule, fmt(total)] if lines else ["no jobs or endpoints yet"]
        notes = [f"What these would have cost on AWS ({self.price_note()})."]
        if self.unpriced:
            types = sorted({f"{r.instance_type or 'no instance type'} ({r.component})" for r in self.unpriced})
            notes.append(f"Unpriced, left out of the total: {', '.join(types)}.")
        return "\n".join([*body, "", *notes])

    def chart(self, path: str | Path) -> Path:
        """A bar chart of every priced row's cost, written to `path` (PNG, SVG or PDF by its suffix)."""
        # The Agg canvas directly, not pyplot: a notebook's own backend and figures are left alone.
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.patches import Patch

        priced = [r for r in self.rows if r.priced]
        figure = Figure(figsize=(9, 1.5 + 0.35 * max(1, len(priced))), layout="constrained")
        FigureCanvasAgg(figure)
        axes = figure.add_subplot()
        colours = {"training-job": "tab:blue", "processing-job": "tab:orange", "transform-job": "tab:green",
                   "endpoint": "tab:red"}
        labels = [f"{r.name} ({r.instance_type} x{r.instance_count})" for r in priced]
        axes.barh(range(len(priced)), [r.usd for r in priced], color=[colours[r.kind] for r in priced])
        axes.set_yticks(range(len(priced)), labels)
        axes.invert_yaxis()
        axes.set_xlabel("USD")
        title = f"What this lab cloud would have cost on AWS: ${self.total_usd:.4f}"
        if self.unpriced:
            title += f" ({len(self.unpriced)} unpriced, left out)"
        axes.set_title(title, fontsize="medium")
        axes.set_xlim(left=0)
        handles = [Patch(color=colour, label=kind) for kind, colour in colours.items()
                   if any(r.kind == kind for r in priced)]
        if handles:
            axes.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1), fontsize="small")
        figure.text(0.01, 0.005, f"{self.prices.region}, {self.prices.date}", fontsize="x-small")
        path = Path(path)
        figure.savefig(path)
        return path


def price(usage: list[dict], prices: PriceTable | None = None) -> Bill:
    """A bill of usage rows (the usage API's JSON rows) at `prices` (the committed table by default)."""
    prices = prices or price_tables.load()
    rows = [BillRow(name=u["name"], kind=u["kind"], instance_type=u.get("instance_type"),
                    instance_count=int(u["instance_count"]), billable_seconds=int(u["billable_seconds"]),
                    usd_per_hour=prices.usd_per_hour(COMPONENT_OF_KIND[u["kind"]], u.get("instance_type")),
                    status=u.get("status", ""), spot=bool(u.get("spot")), training_seconds=u.get("training_seconds"))
            for u in usage]
    return Bill(rows, prices)


def endpoint_url(url: str | None = None) -> str:
    """The labcloud to ask: `url`, else the one this process's AWS clients use, else the default port."""
    if url:
        return url.rstrip("/")
    if os.environ.get("AWS_ENDPOINT_URL"):
        return os.environ["AWS_ENDPOINT_URL"].rstrip("/")
    from labcloud.core import settings

    return f"http://127.0.0.1:{settings.port()}"


def fetch_usage(url: str | None = None, timeout: float = 10.0) -> list[dict]:
    """The usage rows of the labcloud at `url` (see endpoint_url)."""
    from labcloud.client.signing import signed_headers

    address = f"{endpoint_url(url)}/"
    request = urllib.request.Request(address, data=b"{}", method="POST", headers=signed_headers(
        "POST", address, b"{}", {"X-Amz-Target": USAGE_TARGET, "Content-Type": "application/x-amz-json-1.1"},
        service="labcloud"))
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read())["Usage"]
    except urllib.error.HTTPError as err:
        raise RuntimeError(f"labcloud at {endpoint_url(url)} did not give its usage: {err.code} "
                           f"{err.read().decode(errors='replace')[:500]}") from None


def bill(url: str | None = None, prices: PriceTable | str | Path | None = None) -> Bill:
    """The bill of the labcloud at `url` (default: the one this process's AWS clients use)."""
    table = prices if isinstance(prices, PriceTable) else price_tables.load(prices)
    return price(fetch_usage(url), table)
