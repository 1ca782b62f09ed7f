"""PI returns for analysts: a year of values as a DataFrame (Arrow Flight `pi.values`), the
quartiles the server computes (`GetBenchmark`), the indicator catalogue, and a quartile plot."""

from __future__ import annotations

import math

import pandas as pd

from . import _stubs
from .client import financial_year, start_year
from .errors import FailedPrecondition

AUTHORITY_TYPES = ["london_borough", "metropolitan", "unitary", "district"]
AUTHORITY_LABELS = {
    "london_borough": "London boroughs",
    "metropolitan": "metropolitan",
    "unitary": "unitary",
    "district": "district",
}


def _enum_name(enum, value: int, prefix: str) -> str:
    return enum.Name(value).removeprefix(prefix).lower()


def _as_list(x):
    if x is None:
        return None
    return [x] if isinstance(x, str) else list(x)


class Pi:
    """`client.pi`: PI returns."""

    def __init__(self, client):
        self._c = client

    def returns(self, year=None, indicator=None, authority_type=None, organisation=None):
        """Every current PI value the caller may see, one row per organisation × period ×
        indicator × split (the Flight dataset `pi.values`: exactly what QueryReturns shows)."""
        table = self._c.read_flight(
            "pi.values",
            year=financial_year(year) if year is not None else None,
            indicator=indicator,
            authority_type=authority_type,
            organisation=organisation,
        )
        return table.to_pandas()

    def definitions(self, year=None) -> pd.DataFrame:
        """The indicator catalogue in force for a year (every version without one)."""
        rows, token = [], ""
        while True:
            req = _stubs.pi_pb.ListIndicatorsRequest(page_token=token)
            if year is not None:
                req.year.start_year = start_year(year)
            resp = self._c.call(self._c.stubs.pi_returns.ListIndicators, req)
            for d in resp.indicators:
                rows.append(
                    {
                        "code": d.code,
                        "title": d.title,
                        "unit": _enum_name(_stubs.pi_pb.Unit, d.unit, "UNIT_"),
                        "direction": _enum_name(_stubs.pi_pb.Direction, d.direction, "DIRECTION_"),
                        "precision": d.precision,
                        "from_year": d.from_year.start_year,
                        "to_year": d.to_year.start_year if d.HasField("to_year") else None,
                        "mandatory": d.mandatory,
                        "source": d.source,
                    }
                )
            token = resp.next_page_token
            if not token:
                return pd.DataFrame(rows)

    def benchmark(
        self,
        year,
        indicator,
        authority_type=None,
        peer_group=None,
        split: str = "",
        positions: bool = False,
    ) -> pd.DataFrame:
        """The quartiles the server computes (GetBenchmark) from signed-off annual figures.

        `indicator` and `authority_type` may each be one value or a list: one row per indicator ×
        authority type (or per indicator for a `peer_group`), with `count`, `q1`, `median`,
        `q3`, `upper_quartile` (the best 25% threshold in the direction of better; NaN for a
        context measure), `direction` and `method`. A group with no signed-off figures has
        count 0 and NaN quartiles. With `positions=True` the rows are the organisations the
        caller may see by name, each with its value, band and verdict.
        """
        indicators = _as_list(indicator)
        if peer_group is not None and authority_type is not None:
            raise ValueError("give either authority_type or peer_group, not both")
        groups = (
            [("peer_group", peer_group)]
            if peer_group is not None
            else [("authority_type", t) for t in (_as_list(authority_type) or AUTHORITY_TYPES)]
        )
        rows = []
        for code in indicators:
            for key, group in groups:
                req = _stubs.pi_pb.GetBenchmarkRequest(indicator_code=code, split=split)
                req.year.start_year = start_year(year)
                if key == "peer_group":
                    req.peer_group_id = group
                else:
                    req.authority_type = group
                base = {"indicator_code": code, key: group, "year": financial_year(year)}
                try:
                    resp = self._c.call(self._c.stubs.pi_returns.GetBenchmark, req)
                except FailedPrecondition as e:
                    if e.reason != "NO_SIGNED_OFF_VALUES":
                        raise
                    if not positions:
                        rows.append({**base, "count": 0, "q1": math.nan, "median": math.nan,
                                     "q3": math.nan, "upper_quartile": math.nan,
                                     "direction": None, "method": None})
                    continue
                direction = _enum_name(
                    _stubs.pi_pb.Direction, resp.indicator.direction, "DIRECTION_"
                )
                if positions:
                    for p in resp.positions:
                        rows.append(
                            {
                                **base,
                                "organisation_id": p.organisation_id,
                                "value": p.value,
                                "quartile_band": p.quartile_band,
                                "verdict": _enum_name(
                                    _stubs.pi_pb.Verdict, p.verdict, "VERDICT_"
                                ),
                                "direction": direction,
                            }
                        )
                    continue
                rows.append(
                    {
                        **base,
                        "count": resp.count,
                        "q1": resp.q1,
                        "median": resp.median,
                        "q3": resp.q3,
                        "upper_quartile": resp.upper_quartile
                        if resp.HasField("upper_quartile")
                        else math.nan,
                        "direction": direction,
                        "method": resp.method,
                    }
                )
        return pd.DataFrame(rows)

    def plot_quartiles(self, indicator, year, highlight=None, authority_types=None, ax=None):
        """A box per authority type drawn from the server's quartiles, every signed-off annual
        figure as a point, and `highlight` (an organisation id) marked. Better is always up: a
        lower-is-better indicator is drawn on a reversed axis, and the axis says so. Returns the
        matplotlib Figure."""
        from .plot import quartile_figure

        types = _as_list(authority_types) or AUTHORITY_TYPES
        stats = self.benchmark(year, indicator, authority_type=types)
        values = self.returns(year=year, indicator=indicator)
        if not values.empty:
            values = values[
                (values["status"] == "signed_off")
                & (values["split"] == "")
                & (values["period"] == "Y")
            ]
        definition = self.definitions(year)
        title = indicator
        match = definition[definition["code"] == indicator]
        if not match.empty:
            title = f"{indicator}: {match.iloc[0]['title']}"
        direction = (
            match.iloc[0]["direction"] if not match.empty else stats["direction"].dropna().iloc[0]
        )
        return quartile_figure(
            stats, values, types, direction, title, financial_year(year), highlight, ax
        )
