"""What this lab cloud's jobs and endpoints would have cost on AWS, from their billable seconds, instance
counts and a dated price table (prices-*.csv beside this module, its region, date and source in its header).

    from labcloud import billing
    current = billing.bill()          # the labcloud this process's AWS clients use
    current.rows, current.total_usd   # BillRow: name, kind, instance_type, instance_count, billable_seconds, ...
    print(current.table()); current.csv(); current.chart("bill.png")
    billing.prices.load().usd_per_hour("training", "ml.m5.xlarge")

`labcloud bill` prints the same (cli/bill.py).
"""

from labcloud.billing import prices
from labcloud.billing.bill import Bill, BillRow, bill, fetch_usage, price

__all__ = ["Bill", "BillRow", "bill", "fetch_usage", "price", "prices"]
