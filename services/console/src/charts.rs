//! Charts drawn on the server as SVG with plotters (its SVG backend only, no fonts loaded: text
//! is left to the browser). Each chart is placed in a `<figure>` with a title and a description
//! for assistive technology, and the page shows the table behind it too. Series differ by line
//! style and marker as well as colour, so nothing is told by colour alone.

use chrono::{Duration, NaiveDate};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

const INK: RGBColor = RGBColor(11, 12, 12);
const BLUE: RGBColor = RGBColor(29, 112, 184);
const ORANGE: RGBColor = RGBColor(168, 68, 0);
const RED: RGBColor = RGBColor(212, 53, 28);
const GREY: RGBColor = RGBColor(80, 90, 95);
const LIGHT: RGBColor = RGBColor(222, 224, 226);
const BAND: RGBColor = RGBColor(187, 212, 234);

fn e<E: std::fmt::Display>(err: E) -> String {
    err.to_string()
}

/// Adds `role="img"`, the accessible name and the description to plotters' `<svg>`.
fn accessible(svg: String, id: &str, title: &str, desc: &str) -> String {
    let Some(end) = svg.find('>') else {
        return svg;
    };
    let (open, rest) = svg.split_at(end);
    let open = open.replacen(
        "<svg",
        &format!("<svg role=\"img\" focusable=\"false\" aria-labelledby=\"{id}-title {id}-desc\""),
        1,
    );
    format!(
        "{open}><title id=\"{id}-title\">{}</title><desc id=\"{id}-desc\">{}</desc>{}",
        escape(title),
        escape(desc),
        &rest[1..]
    )
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The Decent Homes burn-down: homes still non-decent over time, planned and achieved, the
/// forecast at the rate achieved, and the target date.
#[derive(Debug, Clone, Default)]
pub struct BurnDown {
    pub start: Option<NaiveDate>,
    pub baseline: f64,
    /// Still non-decent by the plan (at each year's end).
    pub planned: Vec<(NaiveDate, f64)>,
    /// Still non-decent as reported (at each period's end).
    pub actual: Vec<(NaiveDate, f64)>,
    /// From the last report to the forecast completion.
    pub forecast: Vec<(NaiveDate, f64)>,
    pub target_date: Option<NaiveDate>,
}

pub fn burn_down_svg(b: &BurnDown, title: &str, desc: &str) -> Result<String, String> {
    let start = b.start.ok_or("no start date")?;
    let dates = b
        .planned
        .iter()
        .chain(&b.actual)
        .chain(&b.forecast)
        .map(|p| p.0)
        .chain(b.target_date);
    let end = dates.max().unwrap_or(start + Duration::days(365));
    let span = (end - start).num_days().max(30) as f64;
    let x_max = span * 1.04;
    let y_max = (b.baseline.max(1.0) * 1.1).ceil();
    let day = |d: NaiveDate| (d - start).num_days() as f64;
    let label = move |x: &f64| {
        (start + Duration::days(*x as i64))
            .format("%b %Y")
            .to_string()
    };

    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (760, 400)).into_drawing_area();
        root.fill(&WHITE).map_err(e)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(20)
            .x_label_area_size(48)
            .y_label_area_size(72)
            .build_cartesian_2d(0f64..x_max, 0f64..y_max)
            .map_err(e)?;
        chart
            .configure_mesh()
            .light_line_style(LIGHT)
            .bold_line_style(LIGHT)
            .axis_style(INK)
            .x_labels(7)
            .y_labels(6)
            .x_label_formatter(&label)
            .y_label_formatter(&|y| format!("{y:.0}"))
            .x_desc("Date")
            .y_desc("Homes still non-decent")
            .label_style(("sans-serif", 16).into_font().color(&INK))
            .axis_desc_style(("sans-serif", 16).into_font().color(&INK))
            .draw()
            .map_err(e)?;

        let pts = |v: &[(NaiveDate, f64)]| v.iter().map(|(d, y)| (day(*d), *y)).collect::<Vec<_>>();
        if !b.planned.is_empty() {
            chart
                .draw_series(LineSeries::new(pts(&b.planned), BLUE.stroke_width(3)))
                .map_err(e)?
                .label("Plan")
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], BLUE.stroke_width(3)));
            chart
                .draw_series(
                    pts(&b.planned)
                        .into_iter()
                        .map(|p| Rectangle::new([(p.0, p.1), (p.0, p.1)], BLUE.stroke_width(6))),
                )
                .map_err(e)?;
        }
        if !b.actual.is_empty() {
            chart
                .draw_series(LineSeries::new(pts(&b.actual), INK.stroke_width(2)))
                .map_err(e)?
                .label("Made decent so far (reported)")
                .legend(|(x, y)| {
                    EmptyElement::at((x + 12, y))
                        + PathElement::new(vec![(-12, 0), (12, 0)], INK.stroke_width(2))
                        + Circle::new((0, 0), 4, INK.filled())
                });
            chart
                .draw_series(
                    pts(&b.actual)
                        .into_iter()
                        .map(|p| Circle::new(p, 4, INK.filled())),
                )
                .map_err(e)?;
        }
        if b.forecast.len() >= 2 {
            chart
                .draw_series(DashedLineSeries::new(
                    pts(&b.forecast),
                    8,
                    6,
                    ORANGE.stroke_width(3),
                ))
                .map_err(e)?
                .label("Forecast at the rate achieved (dashed)")
                .legend(|(x, y)| {
                    EmptyElement::at((x, y))
                        + PathElement::new(vec![(0, 0), (8, 0)], ORANGE.stroke_width(3))
                        + PathElement::new(vec![(14, 0), (22, 0)], ORANGE.stroke_width(3))
                });
        }
        if let Some(t) = b.target_date {
            let x = day(t);
            chart
                .draw_series(DashedLineSeries::new(
                    vec![(x, 0.0), (x, y_max)],
                    3,
                    4,
                    RED.stroke_width(2),
                ))
                .map_err(e)?
                .label(format!("Target date {}", t.format("%-d %b %Y")))
                .legend(|(x, y)| {
                    EmptyElement::at((x, y))
                        + PathElement::new(vec![(10, -8), (10, 8)], RED.stroke_width(2))
                });
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.95))
            .border_style(GREY)
            .label_font(("sans-serif", 16).into_font().color(&INK))
            .draw()
            .map_err(e)?;
        root.present().map_err(e)?;
    }
    Ok(accessible(svg, "burn-down", title, desc))
}

/// One organisation on the quartile chart.
#[derive(Debug, Clone)]
pub struct Position {
    pub label: String,
    pub value: f64,
    pub highlighted: bool,
}

/// The quartile chart: each organisation's figure on one axis, the interquartile range shaded,
/// the median and the upper-quartile threshold marked, the direction of "better" written on the
/// axis, one organisation drawn larger and named.
#[derive(Debug, Clone)]
pub struct Quartiles {
    pub q1: f64,
    pub median: f64,
    pub q3: f64,
    pub upper_quartile: Option<f64>,
    /// Some(true) higher is better, Some(false) lower is better, None: not ranked.
    pub higher_is_better: Option<bool>,
    pub unit: String,
    pub positions: Vec<Position>,
}

pub fn quartile_svg(q: &Quartiles, title: &str, desc: &str) -> Result<String, String> {
    let n = q.positions.len().max(1);
    let values = q
        .positions
        .iter()
        .map(|p| p.value)
        .chain([q.q1, q.q3, q.median]);
    let (lo, hi) = values.fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let pad = ((hi - lo) * 0.08).max(0.5);
    let (x_lo, x_hi) = (lo - pad, hi + pad);
    let height = 150 + 30 * n as u32;
    let direction = match q.higher_is_better {
        Some(true) => format!("{} — higher is better →", q.unit),
        Some(false) => format!("← lower is better — {}", q.unit),
        None => format!("{} (a context measure: not ranked)", q.unit),
    };

    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (760, height)).into_drawing_area();
        root.fill(&WHITE).map_err(e)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(20)
            .margin_top(40)
            .x_label_area_size(48)
            .y_label_area_size(210)
            .build_cartesian_2d(x_lo..x_hi, 0f64..n as f64)
            .map_err(e)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .light_line_style(LIGHT)
            .bold_line_style(LIGHT)
            .axis_style(INK)
            .y_labels(0)
            .x_labels(8)
            .x_label_formatter(&|x| format!("{x:.1}"))
            .x_desc(direction)
            .label_style(("sans-serif", 16).into_font().color(&INK))
            .axis_desc_style(("sans-serif", 16).into_font().color(&INK))
            .draw()
            .map_err(e)?;
        // The interquartile range.
        chart
            .draw_series(std::iter::once(Rectangle::new(
                [(q.q1, 0.0), (q.q3, n as f64)],
                BAND.mix(0.6).filled(),
            )))
            .map_err(e)?;
        let column = |x: f64| vec![(x, 0.0), (x, n as f64)];
        chart
            .draw_series(LineSeries::new(column(q.median), INK.stroke_width(2)))
            .map_err(e)?;
        if let Some(uq) = q.upper_quartile {
            chart
                .draw_series(DashedLineSeries::new(column(uq), 6, 4, RED.stroke_width(2)))
                .map_err(e)?;
        }
        // Names of the lines, above the plot.
        let top = chart.backend_coord(&(q.median, n as f64));
        let text = |s: String, x: (i32, i32), colour: RGBColor| {
            Text::new(
                s,
                (x.0, x.1 - 22),
                ("sans-serif", 14)
                    .into_font()
                    .color(&colour)
                    .pos(Pos::new(HPos::Center, VPos::Top)),
            )
        };
        root.draw(&text(format!("median {:.1}", q.median), top, INK))
            .map_err(e)?;
        if let Some(uq) = q.upper_quartile {
            let at = chart.backend_coord(&(uq, n as f64));
            let at = (at.0, at.1 - 16);
            root.draw(&text(format!("upper quartile {uq:.1}"), at, RED))
                .map_err(e)?;
        }
        // One row per organisation, best first as given.
        for (i, p) in q.positions.iter().enumerate() {
            let y = n as f64 - i as f64 - 0.5;
            let (px, py) = chart.backend_coord(&(x_lo, y));
            let style = if p.highlighted {
                ("sans-serif", 15, FontStyle::Bold).into_font()
            } else {
                ("sans-serif", 15).into_font()
            };
            let name = if p.highlighted {
                format!("▶ {}", p.label)
            } else {
                p.label.clone()
            };
            root.draw(&Text::new(
                name,
                (px - 8, py),
                style.color(&INK).pos(Pos::new(HPos::Right, VPos::Center)),
            ))
            .map_err(e)?;
            chart
                .draw_series(LineSeries::new(
                    vec![(x_lo, y), (x_hi, y)],
                    LIGHT.stroke_width(1),
                ))
                .map_err(e)?;
            if p.highlighted {
                chart
                    .draw_series(std::iter::once(
                        EmptyElement::at((p.value, y))
                            + Circle::new((0, 0), 9, INK.filled())
                            + Circle::new((0, 0), 4, WHITE.filled()),
                    ))
                    .map_err(e)?;
            } else {
                chart
                    .draw_series(std::iter::once(Circle::new((p.value, y), 5, BLUE.filled())))
                    .map_err(e)?;
            }
        }
        root.present().map_err(e)?;
    }
    Ok(accessible(svg, "quartiles", title, desc))
}

/// One measure's difference between the groups, with its 95% interval.
#[derive(Debug, Clone)]
pub struct Difference {
    pub label: String,
    pub difference: f64,
    pub lower: Option<f64>,
    pub upper: Option<f64>,
}

/// The differences (ALMO minus in-house) of measures in one unit, each with its interval as a
/// line and the difference as a dot, against a line at no difference.
pub fn difference_svg(
    d: &[Difference],
    unit: &str,
    title: &str,
    desc: &str,
) -> Result<String, String> {
    let n = d.len().max(1);
    let (lo, hi) = d
        .iter()
        .flat_map(|x| [Some(x.difference), x.lower, x.upper])
        .flatten()
        .chain([0.0])
        .fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let pad = ((hi - lo) * 0.08).max(0.5);
    let (x_lo, x_hi) = (lo - pad, hi + pad);
    let height = 130 + 30 * n as u32;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (760, height)).into_drawing_area();
        root.fill(&WHITE).map_err(e)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(20)
            .x_label_area_size(48)
            .y_label_area_size(120)
            .build_cartesian_2d(x_lo..x_hi, 0f64..n as f64)
            .map_err(e)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .light_line_style(LIGHT)
            .bold_line_style(LIGHT)
            .axis_style(INK)
            .y_labels(0)
            .x_labels(8)
            .x_label_formatter(&|x| format!("{x:.1}"))
            .x_desc(format!("ALMO minus in-house, {unit} (right: ALMO higher)"))
            .label_style(("sans-serif", 16).into_font().color(&INK))
            .axis_desc_style(("sans-serif", 16).into_font().color(&INK))
            .draw()
            .map_err(e)?;
        chart
            .draw_series(DashedLineSeries::new(
                vec![(0.0, 0.0), (0.0, n as f64)],
                6,
                4,
                GREY.stroke_width(2),
            ))
            .map_err(e)?;
        for (i, m) in d.iter().enumerate() {
            let y = n as f64 - i as f64 - 0.5;
            let (px, py) = chart.backend_coord(&(x_lo, y));
            root.draw(&Text::new(
                m.label.clone(),
                (px - 8, py),
                ("sans-serif", 15)
                    .into_font()
                    .color(&INK)
                    .pos(Pos::new(HPos::Right, VPos::Center)),
            ))
            .map_err(e)?;
            if let (Some(l), Some(u)) = (m.lower, m.upper) {
                chart
                    .draw_series(LineSeries::new(vec![(l, y), (u, y)], BLUE.stroke_width(3)))
                    .map_err(e)?;
                for x in [l, u] {
                    chart
                        .draw_series(std::iter::once(
                            EmptyElement::at((x, y))
                                + PathElement::new(vec![(0, -6), (0, 6)], BLUE.stroke_width(3)),
                        ))
                        .map_err(e)?;
                }
            }
            chart
                .draw_series(std::iter::once(Circle::new(
                    (m.difference, y),
                    6,
                    INK.filled(),
                )))
                .map_err(e)?;
        }
        root.present().map_err(e)?;
    }
    Ok(accessible(svg, "differences", title, desc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burn_down_is_an_accessible_svg_without_inline_styles() {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        let b = BurnDown {
            start: Some(d("2026-04-01")),
            baseline: 1000.0,
            planned: vec![(d("2026-04-01"), 1000.0), (d("2027-03-31"), 500.0)],
            actual: vec![(d("2026-04-01"), 1000.0), (d("2026-06-30"), 900.0)],
            forecast: vec![(d("2026-06-30"), 900.0), (d("2028-09-30"), 0.0)],
            target_date: Some(d("2028-03-31")),
        };
        let svg = burn_down_svg(&b, "Burn-down", "Behind <plan>").unwrap();
        assert!(svg.starts_with("<svg role=\"img\""), "{}", &svg[..80]);
        assert!(svg.contains("<title id=\"burn-down-title\">Burn-down</title>"));
        assert!(svg.contains("Behind &lt;plan&gt;"));
        assert!(!svg.contains("style="), "the CSP forbids inline styles");
    }

    #[test]
    fn quartile_chart_names_the_highlighted_organisation_and_the_direction() {
        let q = Quartiles {
            q1: 1.0,
            median: 2.0,
            q3: 3.0,
            upper_quartile: Some(1.0),
            higher_is_better: Some(false),
            unit: "%".into(),
            positions: vec![
                Position {
                    label: "A".into(),
                    value: 0.5,
                    highlighted: false,
                },
                Position {
                    label: "Lambeth".into(),
                    value: 2.5,
                    highlighted: true,
                },
            ],
        };
        let svg = quartile_svg(&q, "t", "d").unwrap();
        assert!(svg.contains("▶ Lambeth"));
        assert!(svg.contains("lower is better"));
        assert!(svg.contains("upper quartile 1.0"));
        assert!(!svg.contains("style="));
    }

    #[test]
    fn difference_chart_is_accessible_and_names_each_measure() {
        let d = [Difference {
            label: "TP01".into(),
            difference: 7.6,
            lower: Some(2.2),
            upper: Some(13.3),
        }];
        let svg = difference_svg(&d, "per cent", "t", "d").unwrap();
        assert!(svg.starts_with("<svg role=\"img\""));
        assert!(svg.contains("TP01"));
        assert!(!svg.contains("style="));
    }
}
