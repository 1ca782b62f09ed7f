"""The ALMO finance team's pull: the invoice feed since a watermark, one row per line."""

from __future__ import annotations

import pandas as pd

from . import _stubs

COLUMNS = [
    "position", "event", "invoice_id", "invoice_number", "credit_note_id", "agreement_id",
    "supplier_council_id", "customer_almo_id", "period", "issue_time", "line_number",
    "line_code", "description", "kind", "quantity", "unit_price_pence", "net_pence",
    "vat_pence", "gross_pence", "vat_treatment", "account",
]


def _name(enum, value, prefix):
    return enum.Name(value).removeprefix(prefix).lower()


def _time(ts):
    return pd.Timestamp(ts.seconds * 1_000_000_000 + ts.nanos, tz="UTC") if ts.seconds else pd.NaT


class Invoices:
    """`client.invoices`: the SLA invoice feed."""

    def __init__(self, client):
        self._c = client

    def pull(self, since: str = "", almo: str | None = None, page_size: int = 0):
        """Every invoice issued or credited after the watermark `since` ("" for everything), as
        `(DataFrame, new_watermark)`: pass the watermark to the next pull to get only what is new,
        with no gaps and no repeats.

        One row per line: for an `invoice_issued` event the invoice's lines; for a
        `credit_note_issued` event the credit note's lines, negative. Money is in integer pence
        (`*_pence`), quantities in units (the feed's thousandths divided out).
        """
        sla = _stubs.sla_pb
        rows, watermark = [], since or ""
        while True:
            req = sla.ListInvoicesRequest(
                watermark=watermark, customer_almo_id=almo or "", page_size=page_size
            )
            resp = self._c.call(self._c.stubs.sla_charging.ListInvoices, req)
            for entry in resp.entries:
                rows.extend(_entry_rows(entry))
            watermark = resp.watermark or watermark
            if not resp.has_more or not resp.entries:
                break
        frame = pd.DataFrame(rows, columns=COLUMNS)
        for col in ("unit_price_pence", "net_pence", "vat_pence", "gross_pence"):
            frame[col] = frame[col].astype("Int64")
        return frame, watermark


def _entry_rows(entry):
    sla = _stubs.sla_pb
    inv = entry.invoice
    event = _name(sla.FeedEventKind, entry.kind, "FEED_EVENT_KIND_")
    base = {
        "position": entry.position,
        "event": event,
        "invoice_id": inv.invoice_id,
        "invoice_number": inv.invoice_number,
        "credit_note_id": entry.credit_note_id or None,
        "agreement_id": inv.agreement_id,
        "supplier_council_id": inv.supplier_council_id,
        "customer_almo_id": inv.customer_almo_id,
        "period": inv.period_label,
    }
    lines = {line.line_number: line for line in inv.lines}

    def line_fields(line):
        return {
            "line_number": line.line_number,
            "line_code": line.line_code,
            "description": line.description,
            "kind": _name(sla.LineKind, line.kind, "LINE_KIND_"),
            "quantity": line.quantity_milli / 1000,
            "unit_price_pence": line.unit_price.pence,
            "vat_treatment": _name(sla.VatTreatment, line.vat_treatment, "VAT_TREATMENT_"),
            "account": _name(sla.Account, line.account, "ACCOUNT_"),
        }

    if entry.kind == sla.FEED_EVENT_KIND_CREDIT_NOTE_ISSUED:
        note = next((n for n in inv.credit_notes if n.credit_note_id == entry.credit_note_id), None)
        if note is None:
            return []
        out = []
        for cl in note.lines:
            line = lines.get(cl.invoice_line_number)
            fields = line_fields(line) if line is not None else {
                "line_number": cl.invoice_line_number}
            out.append({**base, **fields, "issue_time": _time(note.issue_time),
                        "net_pence": -cl.net.pence, "vat_pence": -cl.vat.pence,
                        "gross_pence": -(cl.net.pence + cl.vat.pence)})
        return out
    return [
        {**base, **line_fields(line), "issue_time": _time(inv.issue_time),
         "net_pence": line.net.pence, "vat_pence": line.vat.pence,
         "gross_pence": line.net.pence + line.vat.pence}
        for line in inv.lines
    ]
