"""PI returns: the Flight DataFrame against the gRPC answer, the Table 6 quartiles, the plot."""

import math

import pytest

from almo_exchange import errors
from almo_exchange._stubs import pi_pb

TABLE6 = {  # 003 Table 6, upper quartiles 2001/02 (DOMAIN.md)
    "BVPI 66a": [96.2, 96.8, 96.8, 98.6],
    "old BVPI 69": [1.4, 2.6, 1.3, 0.9],
    "old BVPI 68": [36, 43, 37, 26],
    "old BVPI 72": [95, 95, 96, 96],
    "old BVPI 73": [12, 17, 13, 13],
}
TYPES = ["london_borough", "metropolitan", "unitary", "district"]


def query_returns(client, **filters):
    """Every current value QueryReturns gives, keyed as the Flight rows are."""
    rows, token = {}, ""
    while True:
        req = pi_pb.QueryReturnsRequest(page_token=token, **filters)
        resp = client.call(client.stubs.pi_returns.QueryReturns, req)
        for r in resp.pi_returns:
            period = "Y" if r.period.number == 1 and r.period.kind == 3 else f"Q{r.period.number}"
            for v in r.values:
                status = pi_pb.ReturnStatus.Name(r.status).removeprefix("RETURN_STATUS_").lower()
                rows[(r.organisation_id, period, v.indicator_code, v.split)] = (v.value, status)
        token = resp.next_page_token
        if not token:
            return rows


def test_pi_returns_frame_holds_exactly_what_query_returns_gives(regulator):
    frame = regulator.pi.returns(year=2001)
    assert len(frame) > 0
    flight = {
        (r.organisation_id, r.period, r.indicator_code, r.split): (r.value, r.status)
        for r in frame.itertuples()
    }
    assert len(flight) == len(frame), "one row per organisation, period, indicator and split"
    req = pi_pb.QueryReturnsRequest()
    req.year.start_year = 2001
    assert flight == query_returns(regulator, year=req.year)
    assert set(frame["year"]) == {"2001/02"}


def test_pi_returns_filters_match_query_returns_filters(regulator):
    frame = regulator.pi.returns(year="2001/02", indicator="BVPI 66a", authority_type="district")
    req = pi_pb.QueryReturnsRequest(indicator_code="BVPI 66a", authority_type="district")
    req.year.start_year = 2001
    expected = query_returns(regulator, indicator_code=req.indicator_code,
                             authority_type=req.authority_type, year=req.year)
    assert {(r.organisation_id, r.period, r.indicator_code, r.split): (r.value, r.status)
            for r in frame.itertuples()} == expected
    assert set(frame["authority_type"]) == {"district"}


def test_an_almo_reads_only_its_own_values_and_the_regulator_no_drafts(suite, regulator):
    with suite.client("LAMBETH-LIVING", "almo_officer") as almo:
        own = almo.pi.returns()
    assert len(own) > 0
    assert set(own["organisation_id"]) == {"LAMBETH-LIVING"}
    # Lambeth Living's 2024/25 TSM return is a draft: its own officers see it, the regulator not.
    assert "draft" in set(own["status"])
    assert "draft" not in set(regulator.pi.returns()["status"])


def test_table_6_upper_quartiles_come_out_of_benchmark(regulator):
    table = regulator.pi.benchmark(year="2001/02", indicator=list(TABLE6), authority_type=TYPES)
    assert len(table) == len(TABLE6) * len(TYPES)
    got = table.pivot(index="indicator_code", columns="authority_type", values="upper_quartile")
    for code, figures in TABLE6.items():
        for t, expected in zip(TYPES, figures):
            assert math.isclose(got.loc[code, t], expected, abs_tol=1e-9), (code, t)
    # The upper quartile is q3 where higher is better and q1 where lower is better.
    for r in table.itertuples():
        assert r.upper_quartile == (r.q1 if r.direction == "lower" else r.q3)
        assert r.q1 <= r.median <= r.q3 and r.count >= 3


def test_benchmark_positions_name_only_what_the_caller_may_read(suite, regulator):
    everyone = regulator.pi.benchmark(2001, "BVPI 66a", authority_type="district", positions=True)
    with suite.client("E07000033", "council_officer") as council:
        own = council.pi.benchmark(2001, "BVPI 66a", authority_type="district", positions=True)
    assert len(everyone) >= 3
    assert set(own["organisation_id"]) <= {"E07000033"}
    assert set(own["organisation_id"]) < set(everyone["organisation_id"])


def test_a_group_without_signed_off_figures_has_no_quartiles(regulator):
    table = regulator.pi.benchmark(year=2002, indicator="BVPI 66a", authority_type="district")
    assert table.loc[0, "count"] == 0 and math.isnan(table.loc[0, "upper_quartile"])


@pytest.mark.parametrize("code, inverted", [("BVPI 66a", False), ("old BVPI 68", True)])
def test_plot_quartiles_draws_better_up_and_marks_the_organisation(regulator, tmp_path, code,
                                                                  inverted):
    values = regulator.pi.returns(year=2001, indicator=code, authority_type="london_borough")
    org = values["organisation_id"].iloc[0]
    fig = regulator.pi.plot_quartiles(code, 2001, highlight=org)
    ax = fig.axes[0]
    assert bool(ax.yaxis_inverted()) is inverted
    assert any(org in t.get_text() for t in ax.texts)
    path = tmp_path / "quartiles.png"
    fig.savefig(path)
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000


def test_a_bad_authority_type_is_invalid_argument_naming_the_field(regulator):
    with pytest.raises(errors.InvalidArgument) as e:
        regulator.pi.benchmark(year=2001, indicator="BVPI 66a", authority_type="county")
    assert e.value.reason == "INVALID_FIELD"
    assert e.value.domain == "almo-exchange"
    assert [v.field for v in e.value.field_violations] == ["authority_type"]
    assert "district" in e.value.field_violations[0].description


def test_a_bad_token_is_unauthenticated(suite):
    from almo_exchange import Client

    with Client(suite.address, "not-a-token") as c:
        with pytest.raises(errors.Unauthenticated) as e:
            c.pi.benchmark(year=2001, indicator="BVPI 66a", authority_type="district")
        assert "token" in e.value.message
        with pytest.raises(errors.Unauthenticated):
            c.pi.returns(year=2001)


def test_a_bad_flight_filter_is_invalid_argument_naming_the_field(regulator):
    with pytest.raises(errors.InvalidArgument) as e:
        regulator.pi.returns(authority_type="county")
    assert [v.field for v in e.value.field_violations] == ["authority_type"]
    with pytest.raises(errors.NotFound):
        regulator.read_flight("no.such.dataset")


def test_an_organisation_without_a_signed_off_figure_is_said_so_on_the_plot(regulator):
    # Lambeth Living's 2024/25 return is a draft: the regulator has no figure of it to mark.
    fig = regulator.pi.plot_quartiles("TP01", "2024/25", highlight="LAMBETH-LIVING")
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert texts == ["LAMBETH-LIVING: no signed-off figure in these groups"]


def test_an_almo_is_plotted_in_its_councils_authority_type():
    import pandas as pd

    from almo_exchange.plot import _group_of

    values = pd.DataFrame({
        "organisation_id": ["E09000022", "LAMBETH-LIVING"],
        "authority_type": ["london_borough", None],
        "parent_council": [None, "E09000022"],
    })
    assert _group_of(values.iloc[1], values) == "london_borough"
    assert _group_of(values.iloc[0], values) == "london_borough"
    assert _group_of(values.iloc[1], values.iloc[1:]) is None
