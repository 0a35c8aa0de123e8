//! Charts drawn on the server as SVG: stacked bars for counts per hour, lines for times. Each
//! is an image with a title and a description for screen readers, a legend, and its numbers
//! in a table beneath (folded), so nothing is shown only as a picture. Colours come from the
//! stylesheet by class; nothing here is inline style.

use maud::{Markup, html};

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 200.0;
const LEFT: f64 = 52.0;
const RIGHT: f64 = 8.0;
const TOP: f64 = 10.0;
const BOTTOM: f64 = 24.0;

/// One named row of values, one per hour; `None` where there is nothing to show.
pub(crate) struct Series {
    pub label: String,
    /// The stylesheet class that colours it (`series-executed`, `line-p95`, ...).
    pub class: String,
    pub values: Vec<Option<f64>>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Counts: the series stacked in each hour's bar.
    Bars,
    /// Measures: one line per series, broken where a value is missing.
    Lines,
}

pub(crate) struct Chart<'a> {
    pub title: &'a str,
    /// Unix seconds each column starts at.
    pub hours: &'a [i64],
    pub series: Vec<Series>,
    pub kind: Kind,
    /// How values read in the table and on the axis: "", " ms".
    pub unit: &'a str,
}

impl Chart<'_> {
    fn top(&self) -> f64 {
        let highest = (0..self.hours.len())
            .map(|hour| match self.kind {
                Kind::Bars => self
                    .series
                    .iter()
                    .filter_map(|series| series.values.get(hour).copied().flatten())
                    .sum(),
                Kind::Lines => self
                    .series
                    .iter()
                    .filter_map(|series| series.values.get(hour).copied().flatten())
                    .fold(0.0, f64::max),
            })
            .fold(0.0, f64::max);
        nice_ceiling(highest)
    }

    /// What the image shows, in words, for those who cannot see it.
    fn description(&self) -> String {
        let totals: Vec<String> = self
            .series
            .iter()
            .map(|series| {
                let known: Vec<f64> = series.values.iter().flatten().copied().collect();
                match self.kind {
                    Kind::Bars => format!("{} {}", series.label, number(known.iter().sum())),
                    Kind::Lines if known.is_empty() => format!("{}: no data", series.label),
                    Kind::Lines => format!(
                        "{} highest {}{}",
                        series.label,
                        number(known.iter().copied().fold(0.0, f64::max)),
                        self.unit
                    ),
                }
            })
            .collect();
        format!(
            "{}, last {} hours: {}.",
            self.title,
            self.hours.len(),
            totals.join("; ")
        )
    }

    /// Each non-empty piece of each hour's stacked bar: its class, left edge, top and height.
    fn bars(
        &self,
        x: impl Fn(usize) -> f64,
        y: impl Fn(f64) -> f64,
        column: f64,
    ) -> Vec<(&str, f64, f64, f64)> {
        let mut pieces = Vec::new();
        for index in 0..self.hours.len() {
            let mut base = 0.0;
            for series in &self.series {
                let value = series.values.get(index).copied().flatten().unwrap_or(0.0);
                if value > 0.0 {
                    let top = y(base + value);
                    pieces.push((
                        series.class.as_str(),
                        x(index) + column * 0.15,
                        top,
                        y(base) - top,
                    ));
                }
                base += value;
            }
        }
        pieces
    }

    pub(crate) fn render(&self) -> Markup {
        let top = self.top();
        let columns = self.hours.len().max(1) as f64;
        let plot_width = WIDTH - LEFT - RIGHT;
        let plot_height = HEIGHT - TOP - BOTTOM;
        let column = plot_width / columns;
        let y = |value: f64| TOP + plot_height - value / top * plot_height;
        let x = |index: usize| LEFT + column * index as f64;
        let description = self.description();
        let view_box = format!("0 0 {WIDTH} {HEIGHT}");
        html! {
            figure {
                svg class="chart" viewBox=(view_box) role="img" aria-label=(description) xmlns="http://www.w3.org/2000/svg" {
                    title { (self.title) }
                    desc { (description) }
                    @for step in 0..=2 {
                        @let value = top * f64::from(step) / 2.0;
                        line class="grid" x1=(LEFT) x2=(WIDTH - RIGHT) y1=(y(value)) y2=(y(value)) {}
                        text x=(LEFT - 6.0) y=(y(value) + 4.0) text-anchor="end" { (number(value)) (self.unit) }
                    }
                    line class="axis" x1=(LEFT) x2=(WIDTH - RIGHT) y1=(y(0.0)) y2=(y(0.0)) {}
                    @for (index, start) in self.hours.iter().enumerate() {
                        @if index % 6 == 0 {
                            text x=(x(index)) y=(HEIGHT - 6.0) { (hour_label(*start)) }
                        }
                    }
                    @match self.kind {
                        Kind::Bars => {
                            @for (class, left, top_y, height) in self.bars(x, y, column) {
                                rect class={ "bar " (class) } x=(left) width=(column * 0.7) y=(top_y) height=(height) {}
                            }
                        }
                        Kind::Lines => {
                            @for series in &self.series {
                                path class=(series.class) d=(line_path(&series.values, |i| x(i) + column / 2.0, y)) {}
                            }
                        }
                    }
                }
                @if self.series.len() > 1 || self.kind == Kind::Lines {
                    ul class="legend" {
                        @for series in &self.series {
                            li { span class={ "swatch " (series.class) } {} (series.label) }
                        }
                    }
                }
                details {
                    summary { (self.title) ": the numbers" }
                    table {
                        thead { tr { th scope="col" { "Hour (UTC)" } @for series in &self.series { th scope="col" class="num" { (series.label) } } } }
                        tbody {
                            @for (index, start) in self.hours.iter().enumerate() {
                                tr {
                                    th scope="row" { (super::layout::when(*start)) }
                                    @for series in &self.series {
                                        td class="num" {
                                            @match series.values.get(index).copied().flatten() {
                                                Some(value) => { (number(value)) (self.unit) }
                                                None => "–",
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// An SVG path through the known values, lifting the pen over missing ones.
fn line_path(values: &[Option<f64>], x: impl Fn(usize) -> f64, y: impl Fn(f64) -> f64) -> String {
    let mut path = String::new();
    let mut pen_down = false;
    for (index, value) in values.iter().enumerate() {
        match value {
            Some(value) => {
                let command = if pen_down { 'L' } else { 'M' };
                path.push_str(&format!("{command}{:.1},{:.1} ", x(index), y(*value)));
                pen_down = true;
            }
            None => pen_down = false,
        }
    }
    path.trim_end().to_owned()
}

/// The smallest of 1, 2 or 5 times a power of ten at or above `value` (at least 1): an axis
/// top people read at a glance.
fn nice_ceiling(value: f64) -> f64 {
    if !value.is_finite() || value <= 1.0 {
        return 1.0;
    }
    let power = 10f64.powf(value.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|step| step * power)
        .find(|top| *top >= value)
        .unwrap_or(value)
}

/// A number as the charts print it: whole when it is, else one decimal.
pub(crate) fn number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{value:.0}")
    } else {
        format!("{value:.1}")
    }
}

fn hour_label(start: i64) -> String {
    format!("{:02}:00", start.rem_euclid(86_400) / 3600)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart(kind: Kind, values: Vec<Option<f64>>) -> String {
        Chart {
            title: "Alerts per hour",
            hours: &[0, 3600, 7200],
            series: vec![Series {
                label: "<alerts>".into(),
                class: "bar".into(),
                values,
            }],
            kind,
            unit: "",
        }
        .render()
        .into_string()
    }

    #[test]
    fn a_chart_is_a_labelled_image_with_its_numbers_beside_it() {
        let svg = chart(Kind::Bars, vec![Some(3.0), None, Some(7.0)]);
        assert!(svg.contains(r#"role="img""#), "{svg}");
        assert!(svg.contains("<title>Alerts per hour</title>"), "{svg}");
        assert!(
            svg.contains(r#"aria-label="Alerts per hour, last 3 hours: &lt;alerts&gt; 10.""#),
            "{svg}"
        );
        assert_eq!(svg.matches("<rect").count(), 2, "{svg}");
        assert!(svg.contains("<td class=\"num\">7</td>"), "{svg}");
        assert!(!svg.contains("style="), "{svg}");
    }

    #[test]
    fn lines_break_where_values_are_missing() {
        let path = line_path(&[Some(1.0), Some(2.0), None, Some(3.0)], |i| i as f64, |v| v);
        assert_eq!(path, "M0.0,1.0 L1.0,2.0 M3.0,3.0");
        let svg = chart(Kind::Lines, vec![None, None, None]);
        assert!(svg.contains("no data"), "{svg}");
    }

    #[test]
    fn axes_end_on_round_numbers() {
        assert_eq!(nice_ceiling(0.0), 1.0);
        assert_eq!(nice_ceiling(7.0), 10.0);
        assert_eq!(nice_ceiling(13.0), 20.0);
        assert_eq!(nice_ceiling(420.0), 500.0);
        assert_eq!(nice_ceiling(f64::NAN), 1.0);
        assert_eq!(number(2.0), "2");
        assert_eq!(number(2.25), "2.2");
    }
}
