"""The invoice pull against ListInvoices; a variance push whose bad rows come back refused."""

import pandas as pd
import pytest

from almo_exchange import errors
from almo_exchange._stubs import dp_pb, sla_pb

PLAN = "LAMBETH-LIVING-2026-2028"


@pytest.fixture(scope="module")
def almo_finance(suite):
    with suite.client("LEEDS-ENE-HOMES", "almo_finance") as c:
        yield c


def test_invoice_pull_holds_every_line_of_the_feed_and_a_second_pull_nothing(almo_finance):
    frame, watermark = almo_finance.invoices.pull()
    assert len(frame) > 0 and watermark
    # The same feed through the raw stub, page by page.
    expected, mark = set(), ""
    while True:
        resp = almo_finance.call(almo_finance.stubs.sla_charging.ListInvoices,
                                 sla_pb.ListInvoicesRequest(watermark=mark))
        for e in resp.entries:
            if e.kind == sla_pb.FEED_EVENT_KIND_INVOICE_ISSUED:
                for line in e.invoice.lines:
                    expected.add((e.position, "invoice", e.invoice.invoice_number,
                                  line.line_number, line.net.pence, line.vat.pence))
            else:
                note = next(n for n in e.invoice.credit_notes
                            if n.credit_note_id == e.credit_note_id)
                for cl in note.lines:
                    expected.add((e.position, "credit_note", e.invoice.invoice_number,
                                  cl.invoice_line_number, -cl.net.pence, -cl.vat.pence))
        mark = resp.watermark or mark
        if not resp.has_more or not resp.entries:
            break
    got = {(r.feed_position, r.event, r.invoice_number, r.line_number, r.net_pence, r.vat_pence)
           for r in frame.itertuples()}
    assert got == expected
    assert watermark == mark
    assert set(frame["customer_almo_id"]) == {"LEEDS-ENE-HOMES"}
    assert (frame["gross_pence"] == frame["net_pence"] + frame["vat_pence"]).all()
    again, same = almo_finance.invoices.pull(since=watermark)
    assert again.empty and same == watermark


def test_another_almos_invoices_are_permission_denied(almo_finance):
    with pytest.raises(errors.PermissionDenied) as e:
        almo_finance.invoices.pull(almo="LEEDS-WNW-HOMES")
    # Over Flight the refusal carries its code and message, not the status details.
    assert "LEEDS-ENE-HOMES" in e.value.message


def test_a_push_with_bad_rows_returns_them_as_refusals_and_records_the_rest(suite):
    rows = pd.DataFrame(
        [
            # Corrects the demo's April figure (97.2), kept in the history.
            ["LBH-2026-M01-LOCAL-RENT", "LOCAL-RENT", 2026, "M1", 97.4, None, "from Python"],
            ["PY-2026-M01-NOPE", "NO-SUCH-TARGET", 2026, "M1", 1.0, None, None],
            ["PY-2026-M13-RENT", "LOCAL-RENT", "2026/27", "M13", 97.0, None, None],
            ["PY-2028-M12-RENT", "LOCAL-RENT", "2028/29", "M12", 97.0, None, None],
            ["PY-2026-M02-RENT", "LOCAL-RENT", 2026, "M2", "n/a", None, None],
        ],
        columns=["sender_record_id", "target_code", "year", "period", "actual", "forecast",
                 "commentary"],
        index=[10, 11, 12, 13, 14],
    )
    with suite.client("E09000022", "council_officer") as council:
        refused = council.variances.push(rows, plan=PLAN, request_id="py-test-push-1")
        by_row = {r.row: r for r in refused.itertuples()}
        assert set(by_row) == {11, 12, 13, 14}
        assert by_row[11].field.endswith("target_code")
        assert by_row[12].field == "period" and "M13" in by_row[12].reason
        assert by_row[13].field.endswith("period")
        assert by_row[14].field == "actual"
        assert refused.attrs["corrected"] == 1 and refused.attrs["refused"] == 4
        # The correction is in the plan's history, the first figure kept, as the gRPC API reads it.
        history = council.call(
            council.stubs.delivery_plan.ListVarianceHistory,
            dp_pb.ListVarianceHistoryRequest(plan_id=PLAN,
                                             sender_record_id="LBH-2026-M01-LOCAL-RENT"),
        )
        assert [v.record.actual for v in history.variances] == [97.2, 97.4]
        # The Flight dataset holds the same revisions.
        flight = council.variances.history(plan=PLAN)
        mine = flight[flight["sender_record_id"] == "LBH-2026-M01-LOCAL-RENT"]
        mine = mine.sort_values("revision")
        assert list(mine["actual"]) == [97.2, 97.4]
        assert list(mine["superseded"]) == [v.superseded for v in history.variances]
        # The same request id replays the first answer rather than recording twice.
        again = council.variances.push(rows, plan=PLAN, request_id="py-test-push-1")
        assert again.attrs["corrected"] == 1
        assert list(again["row"]) == list(refused["row"])


def test_an_almo_may_not_push_variances(suite):
    rows = pd.DataFrame([["X1", "LOCAL-RENT", 2026, "M1", 97.0]],
                        columns=["sender_record_id", "target_code", "year", "period", "actual"])
    with suite.client("LAMBETH-LIVING", "almo_officer") as almo:
        with pytest.raises(errors.PermissionDenied):
            almo.variances.push(rows, plan=PLAN)
