//! Charts as SVG drawn on the server: no script, no library, nothing to download, and the
//! theme's colours through CSS classes (`app.css`). Every chart is an `<svg role="img">` with a
//! title and a description, and every page shows the same numbers in a table beside it — the
//! table is the text alternative (WCAG 1.1.1), the chart the overview.

use maud::{html, Markup};

const WIDTH: f64 = 560.0;
const HEIGHT: f64 = 220.0;
const LEFT: f64 = 48.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 14.0;
const BOTTOM: f64 = 42.0;

fn fmt(x: f64) -> String {
    format!("{x:.1}")
}

/// A unique-enough id for the chart's title and description.
fn ids(id: &str) -> (String, String) {
    (format!("{id}-titel"), format!("{id}-beschrijving"))
}

fn frame(id: &str, title: &str, description: &str, body: Markup) -> Markup {
    let (title_id, desc_id) = ids(id);
    html! {
        svg xmlns="http://www.w3.org/2000/svg" viewBox={ "0 0 " (WIDTH) " " (HEIGHT) }
            width=(WIDTH) height=(HEIGHT) role="img"
            aria-labelledby={ (title_id) " " (desc_id) } {
            title id=(title_id) { (title) }
            desc id=(desc_id) { (description) }
            (body)
        }
    }
}

/// A "nice" upper bound for an axis: 1, 2 or 5 times a power of ten, at least `max`.
fn nice_max(max: f64) -> f64 {
    if max <= 0.0 {
        return 1.0;
    }
    let magnitude = 10f64.powf(max.log10().floor());
    for step in [1.0, 2.0, 5.0, 10.0] {
        if step * magnitude >= max {
            return step * magnitude;
        }
    }
    10.0 * magnitude
}

/// An axis from 0 to at least `max` in round steps (1, 2 or 5 times a power of ten, three to
/// five of them): the axis's end and its step.
fn axis(max: f64) -> (f64, f64) {
    let step = nice_max(max.max(f64::MIN_POSITIVE) / 4.0);
    let end = (max / step).ceil().max(1.0) * step;
    (end, step)
}

fn y_axis(max: f64, step: f64, label: &dyn Fn(f64) -> String) -> Markup {
    let plot_h = HEIGHT - TOP - BOTTOM;
    let ticks = (max / step).round() as u32;
    html! {
        g class="jp-axis" {
            line x1=(LEFT) y1=(TOP) x2=(LEFT) y2=(fmt(HEIGHT - BOTTOM)) {}
            line x1=(LEFT) y1=(fmt(HEIGHT - BOTTOM)) x2=(fmt(WIDTH - RIGHT)) y2=(fmt(HEIGHT - BOTTOM)) {}
            @for i in 0..=ticks {
                @let value = step * f64::from(i);
                @let y = HEIGHT - BOTTOM - plot_h * value / max;
                line class="jp-gridline" x1=(LEFT) y1=(fmt(y)) x2=(fmt(WIDTH - RIGHT)) y2=(fmt(y)) {}
                text x=(fmt(LEFT - 6.0)) y=(fmt(y + 4.0)) text-anchor="end" { (label(value)) }
            }
        }
    }
}

/// Vertical bars of counts over a day axis, with the norm as a dashed line: the distribution of
/// waits. `bins` are (first day, last day, count); `norm` in days.
pub(crate) fn histogram(
    id: &str,
    title: &str,
    description: &str,
    bins: &[(i64, i64, usize)],
    norm: Option<i64>,
) -> Markup {
    let max_day = bins
        .iter()
        .map(|b| b.1 + 1)
        .chain(norm.map(|n| n + 7))
        .max()
        .unwrap_or(7)
        .max(7) as f64;
    // Whole numbers on the axis.
    let (max_count, step) = axis(bins.iter().map(|b| b.2).max().unwrap_or(0).max(1) as f64);
    let step = step.max(1.0);
    let max_count = max_count.max(step);
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let x = |day: f64| LEFT + plot_w * day / max_day;
    let y = |count: f64| HEIGHT - BOTTOM - plot_h * count / max_count;
    let ticks = axis_ticks(max_day);
    let body = html! {
        (y_axis(max_count, step, &|v| format!("{v:.0}")))
        @for &(from, to, count) in bins {
            @let over = norm.is_some_and(|n| from > n);
            rect class={ "jp-bar" @if over { " jp-bar--over" } }
                x=(fmt(x(from as f64) + 1.0)) y=(fmt(y(count as f64)))
                width=(fmt((x((to + 1) as f64) - x(from as f64) - 2.0).max(1.0)))
                height=(fmt(HEIGHT - BOTTOM - y(count as f64))) {}
        }
        @for tick in &ticks {
            text x=(fmt(x(*tick))) y=(fmt(HEIGHT - BOTTOM + 16.0)) text-anchor="middle" { (tick) }
        }
        text x=(fmt(LEFT + plot_w / 2.0)) y=(fmt(HEIGHT - 6.0)) text-anchor="middle" { "dagen gewacht" }
        @if let Some(norm) = norm {
            line class="jp-norm" x1=(fmt(x(norm as f64))) y1=(TOP) x2=(fmt(x(norm as f64))) y2=(fmt(HEIGHT - BOTTOM)) {}
            @let right = x(norm as f64) > LEFT + plot_w * 0.7;
            text class="jp-norm-label" x=(fmt(x(norm as f64) + if right { -4.0 } else { 4.0 }))
                y=(fmt(TOP + 10.0)) text-anchor=(if right { "end" } else { "start" }) { "norm " (norm) " dagen" }
        }
    };
    frame(id, title, description, body)
}

fn axis_ticks(max_day: f64) -> Vec<f64> {
    let step = nice_max(max_day / 6.0);
    let mut ticks = Vec::new();
    let mut t = 0.0;
    while t <= max_day {
        ticks.push(t);
        t += step;
    }
    ticks
}

/// A line over months (`points`: label, value), with an optional dashed reference line (the
/// norm) and the y axis labelled by `label`. Gaps (`None`) break the line.
pub(crate) fn month_line(
    id: &str,
    title: &str,
    description: &str,
    points: &[(String, Option<f64>)],
    y_max: Option<f64>,
    reference: Option<(f64, String)>,
    label: &dyn Fn(f64) -> String,
) -> Markup {
    let observed = points
        .iter()
        .filter_map(|p| p.1)
        .chain(reference.as_ref().map(|r| r.0))
        .fold(0.0, f64::max);
    let (max, step) = match y_max {
        Some(max) => (max, max / 4.0),
        None => axis(observed.max(1.0)),
    };
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let n = points.len().max(2) as f64;
    let x = |i: usize| LEFT + plot_w * (i as f64 + 0.5) / n;
    let y = |v: f64| HEIGHT - BOTTOM - plot_h * (v / max).min(1.0);
    // Runs of consecutive known values, each one polyline.
    let mut runs: Vec<String> = Vec::new();
    let mut current = String::new();
    for (i, (_, value)) in points.iter().enumerate() {
        match value {
            Some(v) => {
                current.push_str(&format!("{},{} ", fmt(x(i)), fmt(y(*v))));
            }
            None if !current.is_empty() => runs.push(std::mem::take(&mut current)),
            None => {}
        }
    }
    if !current.is_empty() {
        runs.push(current);
    }
    let every = (points.len() / 8).max(1);
    let body = html! {
        (y_axis(max, step, label))
        @if let Some((value, text)) = &reference {
            line class="jp-norm" x1=(LEFT) y1=(fmt(y(*value))) x2=(fmt(WIDTH - RIGHT)) y2=(fmt(y(*value))) {}
            text class="jp-norm-label" x=(fmt(WIDTH - RIGHT - 4.0)) y=(fmt(y(*value) - 4.0)) text-anchor="end" { (text) }
        }
        @for run in &runs {
            polyline class="jp-line" points=(run) {}
        }
        @for (i, (_, value)) in points.iter().enumerate() {
            @if let Some(v) = value {
                circle class="jp-dot" cx=(fmt(x(i))) cy=(fmt(y(*v))) r="3" {}
            }
        }
        @for (i, (name, _)) in points.iter().enumerate() {
            @if i % every == 0 {
                text x=(fmt(x(i))) y=(fmt(HEIGHT - BOTTOM + 16.0)) text-anchor="middle" { (name) }
            }
        }
    };
    frame(id, title, description, body)
}

/// Horizontal bars of shares in [0, 1] (`items`: label, share), one per row.
pub(crate) fn share_bars(
    id: &str,
    title: &str,
    description: &str,
    items: &[(String, Option<f64>)],
) -> Markup {
    let row = 26.0;
    let height = TOP + row * items.len().max(1) as f64 + 24.0;
    let label_w = 150.0;
    let plot_w = WIDTH - label_w - RIGHT - 50.0;
    let (title_id, desc_id) = ids(id);
    html! {
        svg xmlns="http://www.w3.org/2000/svg" viewBox={ "0 0 " (WIDTH) " " (fmt(height)) }
            width=(WIDTH) height=(fmt(height)) role="img" aria-labelledby={ (title_id) " " (desc_id) } {
            title id=(title_id) { (title) }
            desc id=(desc_id) { (description) }
            g class="jp-axis" {
                line x1=(label_w) y1=(TOP) x2=(label_w) y2=(fmt(height - 24.0)) {}
            }
            @for (i, (name, share)) in items.iter().enumerate() {
                @let top = TOP + row * i as f64;
                text x=(fmt(label_w - 6.0)) y=(fmt(top + 16.0)) text-anchor="end" { (truncate(name, 22)) }
                @if let Some(share) = share {
                    rect class="jp-bar" x=(label_w) y=(fmt(top + 4.0))
                        width=(fmt((plot_w * share.clamp(0.0, 1.0)).max(1.0))) height=(fmt(row - 8.0)) {}
                    text x=(fmt(label_w + plot_w * share.clamp(0.0, 1.0) + 6.0)) y=(fmt(top + 16.0)) {
                        (crate::format::percent(Some(*share)))
                    }
                } @else {
                    text x=(fmt(label_w + 6.0)) y=(fmt(top + 16.0)) { "geen gegevens" }
                }
            }
            @for pct in [0, 50, 100] {
                text x=(fmt(label_w + plot_w * f64::from(pct) / 100.0)) y=(fmt(height - 6.0)) text-anchor="middle" {
                    (pct) "%"
                }
            }
        }
    }
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let cut: String = text.chars().take(max - 1).collect();
    format!("{cut}…")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_end_on_round_numbers() {
        assert_eq!(nice_max(0.0), 1.0);
        assert_eq!(nice_max(7.0), 10.0);
        assert_eq!(nice_max(42.0), 50.0);
        assert_eq!(nice_max(130.0), 200.0);
        assert_eq!(axis(42.0), (60.0, 20.0));
        assert_eq!(axis(3.0), (3.0, 1.0));
        assert_eq!(axis(130.0), (150.0, 50.0));
    }

    #[test]
    fn a_chart_is_an_image_with_a_title_and_description() {
        let svg = histogram(
            "h",
            "Verdeling",
            "Tien wachttijden",
            &[(0, 6, 3), (7, 13, 7)],
            Some(42),
        )
        .into_string();
        assert!(svg.contains("role=\"img\""));
        assert!(svg.contains("<title id=\"h-titel\">Verdeling</title>"));
        assert!(svg.contains("norm 42 dagen"));
        assert_eq!(svg.matches("<rect").count(), 2);
    }
}
