"""A council system's push of variance figures against a Delivery Plan (PushVariances)."""

from __future__ import annotations

import math
import re
import uuid

import pandas as pd

from . import _stubs
from .client import financial_year, start_year

COLUMNS = ["sender_record_id", "target_code", "year", "period", "actual", "forecast",
           "commentary"]
REFUSAL_COLUMNS = ["row", "sender_record_id", "field", "reason"]
# Records per stream message: well under the 4 MiB request limit.
CHUNK = 5000


def _blank(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x)) or (
        isinstance(x, str) and not x.strip()) or x is pd.NA


class Variances:
    """`client.variances`: Delivery Plan variances."""

    def __init__(self, client):
        self._c = client

    def history(self, plan: str | None = None, year=None, organisation: str | None = None):
        """Every variance figure ever recorded on the plans the caller may see (or on `plan`), one
        row per revision: the Flight dataset `delivery_plan.variances` (`superseded` marks a
        figure a later correction replaced)."""
        return self._c.read_flight(
            "delivery_plan.variances",
            plan=plan,
            year=financial_year(year) if year is not None else None,
            organisation=organisation,
        ).to_pandas()

    def push(self, df: pd.DataFrame, plan: str, request_id: str | None = None) -> pd.DataFrame:
        """Pushes the rows of `df` as one PushVariances call for `plan` and returns the refused
        rows as a DataFrame (`row`: the row's index label in `df`, `sender_record_id`, `field`,
        `reason`); the rest are recorded. The columns are those of `almo variances push`:
        sender_record_id, target_code, year (2026 or "2026/27"), period (M1..M12, April = M1, or
        Q1..Q4), actual, forecast and commentary (both may be empty).

        A row this client cannot read (a missing column value, a period such as "M13") is refused
        here and not sent; the server refuses the others it will not record. The counts are in
        the result's `attrs` (received, accepted, corrected, unchanged, refused). A retry with
        the same `request_id` replays the first answer rather than pushing twice.
        """
        missing = [c for c in ("sender_record_id", "target_code", "year", "period", "actual")
                   if c not in df.columns]
        if missing:
            raise ValueError(f"the DataFrame lacks the column(s) {', '.join(missing)}")
        dp = _stubs.dp_pb
        records, sent_rows, refusals = [], [], []
        for label, row in df.iterrows():
            record, field, reason = _record(row)
            if record is None:
                sender = row.get("sender_record_id", "")
                refusals.append({"row": label,
                                 "sender_record_id": "" if _blank(sender) else str(sender),
                                 "field": field, "reason": reason})
                continue
            records.append(record)
            sent_rows.append(label)
        request_id = request_id or f"py-{uuid.uuid4()}"

        def messages():
            if not records:
                yield dp.PushVariancesRequest(request_id=request_id, plan_id=plan)
            for i in range(0, len(records), CHUNK):
                msg = dp.PushVariancesRequest(records=records[i : i + CHUNK])
                if i == 0:
                    msg.request_id, msg.plan_id = request_id, plan
                yield msg

        resp = self._c.call_stream(self._c.stubs.delivery_plan.PushVariances, messages())
        for r in resp.refusals:
            refusals.append({"row": sent_rows[r.index] if 0 <= r.index < len(sent_rows) else None,
                             "sender_record_id": r.sender_record_id, "field": r.field,
                             "reason": r.reason})
        out = pd.DataFrame(refusals, columns=REFUSAL_COLUMNS)
        out.attrs.update(
            received=resp.received + (len(df) - len(records)),
            accepted=resp.accepted,
            corrected=resp.corrected,
            unchanged=resp.unchanged,
            refused=len(out),
            request_id=request_id,
        )
        return out


_PERIOD = re.compile(r"^\s*([MQmq])\s*(\d{1,2})\s*$")


def _record(row):
    """The row as a VarianceRecord, or (None, field, reason)."""
    dp, common = _stubs.dp_pb, _stubs.common_pb
    sender = row.get("sender_record_id")
    if _blank(sender):
        return None, "sender_record_id", "required"
    target = row.get("target_code")
    if _blank(target):
        return None, "target_code", "required"
    try:
        year = start_year(row.get("year"))
    except (ValueError, TypeError):
        return None, "year", f"{row.get('year')!r} is not a financial year such as 2026/27"
    m = _PERIOD.match(str(row.get("period", "")))
    kind = m and m.group(1).upper()
    number = int(m.group(2)) if m else 0
    if not m or (kind == "M" and not 1 <= number <= 12) or (kind == "Q" and not 1 <= number <= 4):
        return None, "period", f"{row.get('period')!r}: a month (M1..M12) or a quarter (Q1..Q4)"
    try:
        actual = float(row.get("actual"))
        if math.isnan(actual):
            raise ValueError
    except (TypeError, ValueError):
        return None, "actual", f"{row.get('actual')!r} is not a number"
    record = dp.VarianceRecord(
        sender_record_id=str(sender).strip(),
        target_code=str(target).strip(),
        period=common.Period(
            year=common.FinancialYear(start_year=year),
            kind=common.PERIOD_KIND_MONTH if kind == "M" else common.PERIOD_KIND_QUARTER,
            number=number,
        ),
        actual=actual,
    )
    forecast = row.get("forecast")
    if not _blank(forecast):
        try:
            record.forecast = float(forecast)
        except (TypeError, ValueError):
            return None, "forecast", f"{forecast!r} is not a number"
    commentary = row.get("commentary")
    if not _blank(commentary):
        record.commentary = str(commentary)
    return record, None, None
