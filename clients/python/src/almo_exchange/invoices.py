"""The ALMO finance team's pull: the invoice feed since a watermark, one ledger row per line, over
the Arrow Flight dataset `sla.invoice_lines` (the columns `almo invoices pull` writes to CSV and
Parquet)."""

from __future__ import annotations


class Invoices:
    """`client.invoices`: the SLA invoice feed."""

    def __init__(self, client):
        self._c = client

    def pull(self, since: str = "", almo: str | None = None):
        """Every invoice issued or credited after the watermark `since` ("" for everything), as
        `(DataFrame, new_watermark)`: pass the watermark to the next pull to get only what is new,
        with no gaps and no repeats.

        One row per line, as `almo invoices pull` writes them: `feed_position`, `event`
        (`invoice` or `credit_note`, whose lines are negative), `document_number`,
        `invoice_number`, ..., `net_pence`, `vat_pence`, `gross_pence` (integer pence),
        `vat_treatment`, `quantity` (an exact decimal string) and `unit_price_pence`. A council's
        finance team names the ALMO with `almo`.
        """
        table = self._c.read_flight("sla.invoice_lines", since=since or None, organisation=almo)
        frame = table.to_pandas()
        watermark = str(int(frame["feed_position"].max())) if len(frame) else (since or "")
        return frame, watermark
