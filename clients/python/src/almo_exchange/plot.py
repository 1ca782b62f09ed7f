"""The quartile plot: where an organisation sits among its peers, better always up."""

from __future__ import annotations

import math

import numpy as np


def quartile_figure(stats, values, types, direction, title, year_label, highlight, ax=None):
    # A Figure of its own (no pyplot): no backend is chosen or changed, and a notebook shows it.
    from matplotlib.figure import Figure

    from .pi import AUTHORITY_LABELS

    if ax is None:
        fig = Figure(figsize=(8, 5))
        ax = fig.subplots()
    else:
        fig = ax.figure
    boxes, positions, labels = [], [], []
    for i, t in enumerate(types, start=1):
        row = stats[stats["authority_type"] == t]
        pts = (
            values[values["authority_type"] == t]["value"].to_numpy()
            if not values.empty
            else np.array([])
        )
        labels.append(f"{AUTHORITY_LABELS.get(t, t)}\n(n={len(pts)})")
        positions.append(i)
        if row.empty or not row.iloc[0]["count"] or math.isnan(row.iloc[0]["median"]):
            continue
        r = row.iloc[0]
        boxes.append(
            {
                "label": t,
                "q1": r["q1"],
                "med": r["median"],
                "q3": r["q3"],
                "whislo": float(pts.min()) if len(pts) else r["q1"],
                "whishi": float(pts.max()) if len(pts) else r["q3"],
                "fliers": [],
                "_pos": i,
            }
        )
        if len(pts):
            jitter = np.linspace(-0.12, 0.12, len(pts)) if len(pts) > 1 else np.zeros(1)
            ax.scatter(i + jitter, pts, s=18, color="#505a5f", alpha=0.7, zorder=3)
        if not math.isnan(r["upper_quartile"]):
            ax.hlines(r["upper_quartile"], i - 0.3, i + 0.3, colors="#00703c", linestyles="--",
                      zorder=4, label="upper quartile" if i == boxes[0]["_pos"] else None)
    if boxes:
        ax.bxp(
            [{k: v for k, v in b.items() if k != "_pos"} for b in boxes],
            positions=[b["_pos"] for b in boxes],
            widths=0.5,
            showfliers=False,
            patch_artist=True,
            boxprops={"facecolor": "#d2e2f1", "edgecolor": "#1d70b8"},
            medianprops={"color": "#1d70b8", "linewidth": 2},
        )
    if highlight is not None:
        mine = values[values["organisation_id"] == highlight] if not values.empty else values
        marked = False
        for _, m in mine.iterrows():
            group = _group_of(m, values)
            if group not in types:
                continue
            marked = True
            x = types.index(group) + 1
            name = m.get("organisation_name") or highlight
            ax.scatter([x], [m["value"]], s=120, marker="*", color="#d4351c", zorder=5,
                       label=f"{name} ({m['value']:g})")
            ax.annotate(f"{name} ({highlight})", (x, m["value"]), xytext=(8, 4),
                        textcoords="offset points", color="#d4351c", fontsize=9)
        if not marked:
            ax.text(0.01, 0.01, f"{highlight}: no signed-off figure in these groups",
                    transform=ax.transAxes, color="#d4351c", fontsize=8)
    ax.set_xticks(positions)
    ax.set_xticklabels(labels)
    ax.set_xlim(0.4, len(types) + 0.6)
    if direction == "lower":
        ax.invert_yaxis()
        ax.set_ylabel("value (lower is better: axis reversed, better is up)")
    elif direction in ("higher", "yes_no"):
        ax.set_ylabel("value (higher is better: better is up)")
    else:
        ax.set_ylabel("value (a context measure: not ranked)")
    ax.set_title(f"{title}\n{year_label}, signed-off annual figures by authority type")
    ax.grid(axis="y", alpha=0.3)
    handles, _ = ax.get_legend_handles_labels()
    if handles:
        ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    return fig


def _group_of(row, values):
    """The authority type a row is compared within: its own, or for an ALMO its council's (an
    ALMO is positioned against its council's authority type, 003 §107)."""
    group = row.get("authority_type")
    if isinstance(group, str) and group:
        return group
    parent = row.get("parent_council")
    if isinstance(parent, str) and parent and not values.empty:
        of_parent = values[values["organisation_id"] == parent]["authority_type"].dropna()
        if not of_parent.empty:
            return of_parent.iloc[0]
    return None
