"""`labcloud bill`: what this lab cloud's jobs and endpoints would have cost on AWS (labcloud/billing)."""

from __future__ import annotations

import sys


def add_parser(sub, common) -> None:
    bill = sub.add_parser("bill", help="what the jobs and endpoints would have cost on AWS")
    common(bill)
    bill.add_argument("--csv", nargs="?", const="-", metavar="FILE",
                      help="CSV instead of the table: one row per job, endpoint or transform, and a total "
                           "(to FILE, or to standard output)")
    bill.add_argument("--chart", metavar="FILE", help="also draw the bill as a bar chart (PNG, SVG or PDF)")
    bill.add_argument("--prices", metavar="FILE", help="another price table (the format of labcloud's own)")
    bill.set_defaults(func=cmd_bill)


def cmd_bill(args) -> int:
    from labcloud.billing import bill

    url = f"http://{args.host}:{args.port}"
    try:
        current = bill(url, args.prices)
    except OSError as err:  # URLError included: nothing listens there
        print(f"labcloud is not running on {url} ({getattr(err, 'reason', err)})", file=sys.stderr)
        return 3
    except RuntimeError as err:
        print(err, file=sys.stderr)
        return 1
    if args.csv == "-":
        sys.stdout.write(current.csv())
    elif args.csv:
        with open(args.csv, "w", newline="") as f:
            f.write(current.csv())
        print(f"wrote {args.csv}")
    else:
        print(current.table())
    if args.chart:
        print(f"wrote {current.chart(args.chart)}", file=sys.stderr if args.csv == "-" else sys.stdout)
    return 0
