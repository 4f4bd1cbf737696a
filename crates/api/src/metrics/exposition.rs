//! The two text formats `/metrics` speaks, chosen by the scraper's `Accept` header.
//!
//! prometheus-client 0.23 encodes only OpenMetrics text (1.0.0), and its protobuf under a feature
//! we do not enable. Prometheus' classic parser (text format 0.0.4, what a scraper gets when it
//! asks for `text/plain`) reads that body wrongly: a counter is declared as `# TYPE x counter`
//! but its samples are named `x_total`, which the classic parser takes for a different, untyped
//! metric. So for `text/plain` the OpenMetrics body is converted line by line ([`to_classic`]):
//!
//! - a counter family is declared under its sample name: `# HELP x_total …`, `# TYPE x_total
//!   counter`;
//! - `info` becomes a gauge named `x_info` (its samples' name), `unknown` becomes `untyped`;
//! - `# UNIT` and `# EOF` lines, `_created` samples and exemplars (` # {…} v` after a sample) are
//!   dropped: the classic format has none of them;
//! - everything else (gauges, histograms, label escaping, `+Inf`) is the same in both formats.

/// A text format of the metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    /// OpenMetrics 1.0.0: what prometheus-client encodes.
    OpenMetrics,
    /// Prometheus' classic text format 0.0.4.
    Classic,
}

impl Format {
    /// The `Content-Type` of a body in this format.
    pub(crate) fn content_type(self) -> &'static str {
        match self {
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
            Format::Classic => "text/plain; version=0.0.4; charset=utf-8",
        }
    }

    /// The format an `Accept` header asks for: the acceptable range with the highest `q` (the
    /// first of equals). `application/openmetrics-text` (versions 0.0.1 and 1.0.0, which our
    /// body satisfies) is OpenMetrics; `text/plain` (0.0.4, or Prometheus' 1.0.0 text with
    /// names that need no escaping, which is all of ours), `text/*` and `*/*` are the classic
    /// format, as is a request without `Accept` (curl, a browser, an old scraper): the format
    /// every Prometheus understands. `None` when nothing acceptable is offered (406).
    pub(crate) fn negotiate(accept: Option<&str>) -> Option<Format> {
        let Some(accept) = accept else {
            return Some(Format::Classic);
        };
        let mut best: Option<(f32, Format)> = None;
        for range in accept.split(',') {
            let mut parts = range.split(';').map(str::trim);
            let media = parts.next().unwrap_or_default().to_ascii_lowercase();
            let mut quality = 1.0_f32;
            let mut version = None;
            for parameter in parts {
                let Some((key, value)) = parameter.split_once('=') else {
                    continue;
                };
                let value = value.trim().trim_matches('"');
                match key.trim().to_ascii_lowercase().as_str() {
                    "q" => quality = value.parse().unwrap_or(0.0),
                    "version" => version = Some(value.to_owned()),
                    _ => {}
                }
            }
            let version = version.as_deref();
            let format = match media.as_str() {
                "application/openmetrics-text"
                    if matches!(version, None | Some("1.0.0" | "0.0.1")) =>
                {
                    Format::OpenMetrics
                }
                "text/plain" if matches!(version, None | Some("0.0.4" | "1.0.0")) => {
                    Format::Classic
                }
                "text/*" | "*/*" => Format::Classic,
                _ => continue,
            };
            if quality > 0.0 && best.is_none_or(|(q, _)| quality > q) {
                best = Some((quality, format));
            }
        }
        best.map(|(_, format)| format)
    }
}

/// OpenMetrics text as prometheus-client writes it, converted to the classic text format 0.0.4
/// (see the module docs).
pub(crate) fn to_classic(openmetrics: &str) -> String {
    let mut classic = String::with_capacity(openmetrics.len());
    // A HELP line waits for its family's TYPE line, which settles the name it is declared under.
    let mut help: Option<(&str, &str)> = None;
    // The OpenMetrics type of the family whose samples follow.
    let mut family_type = "";
    for line in openmetrics.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            write_help(&mut classic, help.take(), None);
            help = Some(rest.split_once(' ').unwrap_or((rest, "")));
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap_or((rest, "unknown"));
            family_type = kind;
            let (classic_name, classic_type) = match kind {
                "counter" => (format!("{name}_total"), "counter"),
                "info" => (format!("{name}_info"), "gauge"),
                "gauge" | "histogram" | "summary" => (name.to_owned(), kind),
                _ => (name.to_owned(), "untyped"),
            };
            let help = help.take().filter(|(helped, _)| *helped == name);
            write_help(&mut classic, help, Some(&classic_name));
            classic.push_str(&format!("# TYPE {classic_name} {classic_type}\n"));
            continue;
        }
        write_help(&mut classic, help.take(), None);
        if line.starts_with('#') || line.is_empty() {
            // `# UNIT`, `# EOF`: the classic format has neither.
            continue;
        }
        let sample = without_exemplar(line);
        let name = sample.split(['{', ' ']).next().unwrap_or_default();
        if name.ends_with("_created") && matches!(family_type, "counter" | "histogram" | "summary")
        {
            continue;
        }
        classic.push_str(sample);
        classic.push('\n');
    }
    write_help(&mut classic, help, None);
    classic
}

/// Writes a waiting HELP line, under `name` when its TYPE line renamed the family.
fn write_help(classic: &mut String, help: Option<(&str, &str)>, name: Option<&str>) {
    if let Some((declared, text)) = help {
        let name = name.unwrap_or(declared);
        classic.push_str(&format!("# HELP {name} {text}\n"));
    }
}

/// A sample line without its exemplar (` # {labels} value [timestamp]` after the value). The
/// label set is skipped with its quoting, so a `#` inside a label value is left alone.
fn without_exemplar(line: &str) -> &str {
    let bytes = line.as_bytes();
    let mut i = 0;
    if let Some(open) = line.find('{') {
        if line[..open].contains(' ') {
            // No label set: the name ends before the first space.
        } else {
            i = open + 1;
            let mut quoted = false;
            while i < bytes.len() {
                match bytes[i] {
                    b'\\' if quoted => i += 1,
                    b'"' => quoted = !quoted,
                    b'}' if !quoted => break,
                    _ => {}
                }
                i += 1;
            }
        }
    }
    match line[i..].find(" # ") {
        Some(at) => &line[..i + at],
        None => line,
    }
}

#[cfg(test)]
mod tests {
    use prometheus_client::encoding::text::encode;
    use prometheus_client::encoding::EncodeLabelSet;
    use prometheus_client::metrics::counter::Counter;
    use prometheus_client::metrics::family::Family;
    use prometheus_client::metrics::gauge::Gauge;
    use prometheus_client::metrics::histogram::Histogram;
    use prometheus_client::metrics::info::Info;
    use prometheus_client::registry::Registry;

    use super::*;

    #[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
    struct Labels {
        reason: String,
    }

    /// A registry with one metric of every kind we use, with values.
    fn sample_registry() -> Registry {
        let mut registry = Registry::with_prefix("jeugdpad");
        let counter = Counter::<u64>::default();
        counter.inc_by(3);
        registry.register("events_appended", "Events appended", counter);
        let family = Family::<Labels, Counter>::default();
        family
            .get_or_create(&Labels {
                reason: "a # value".into(),
            })
            .inc();
        registry.register("sign_in_failures", "Failed sign-ins", family);
        let gauge = Gauge::<i64>::default();
        gauge.set(-2);
        registry.register("projection_lag_events", "Lag", gauge);
        let histogram = Histogram::new([0.5, 1.0]);
        histogram.observe(0.7);
        registry.register("duration_seconds", "Durations", histogram);
        registry.register(
            "build",
            "Build",
            Info::new(vec![("version".to_owned(), "1".to_owned())]),
        );
        registry
    }

    #[test]
    fn classic_text_is_what_prometheus_classic_parser_expects_line_by_line() {
        let mut openmetrics = String::new();
        encode(&mut openmetrics, &sample_registry()).expect("encodes");
        let classic = to_classic(&openmetrics);
        let expected = [
            "# HELP jeugdpad_events_appended_total Events appended.",
            "# TYPE jeugdpad_events_appended_total counter",
            "jeugdpad_events_appended_total 3",
            "# HELP jeugdpad_sign_in_failures_total Failed sign-ins.",
            "# TYPE jeugdpad_sign_in_failures_total counter",
            "jeugdpad_sign_in_failures_total{reason=\"a # value\"} 1",
            "# HELP jeugdpad_projection_lag_events Lag.",
            "# TYPE jeugdpad_projection_lag_events gauge",
            "jeugdpad_projection_lag_events -2",
            "# HELP jeugdpad_duration_seconds Durations.",
            "# TYPE jeugdpad_duration_seconds histogram",
            "jeugdpad_duration_seconds_sum 0.7",
            "jeugdpad_duration_seconds_count 1",
            "jeugdpad_duration_seconds_bucket{le=\"0.5\"} 0",
            "jeugdpad_duration_seconds_bucket{le=\"1.0\"} 1",
            "jeugdpad_duration_seconds_bucket{le=\"+Inf\"} 1",
            "# HELP jeugdpad_build_info Build.",
            "# TYPE jeugdpad_build_info gauge",
            "jeugdpad_build_info{version=\"1\"} 1",
        ];
        let lines: Vec<&str> = classic.lines().collect();
        assert_eq!(lines, expected, "OpenMetrics was:\n{openmetrics}");
        assert!(classic.ends_with('\n'));
        // The input really was OpenMetrics, with what the classic format must not have.
        assert!(openmetrics.contains("# TYPE jeugdpad_events_appended counter"));
        assert!(openmetrics.ends_with("# EOF\n"));
    }

    #[test]
    fn unit_lines_created_samples_and_exemplars_are_dropped() {
        let openmetrics = "# HELP x_seconds Time.\n# TYPE x_seconds counter\n# UNIT x_seconds seconds\n\
                           x_seconds_total{a=\"#\"} 4 # {trace=\"1\"} 1.0\nx_seconds_created 1.7e9\n# EOF\n";
        assert_eq!(
            to_classic(openmetrics),
            "# HELP x_seconds_total Time.\n# TYPE x_seconds_total counter\nx_seconds_total{a=\"#\"} 4\n"
        );
        // An exemplar on a sample without labels: its braces are not the sample's.
        assert_eq!(
            to_classic("# HELP y Y.\n# TYPE y counter\ny_total 2 # {trace=\"9\"} 1.0\n"),
            "# HELP y_total Y.\n# TYPE y_total counter\ny_total 2\n"
        );
        assert_eq!(
            to_classic("# HELP u Odd.\n# TYPE u unknown\nu 1\n"),
            "# HELP u Odd.\n# TYPE u untyped\nu 1\n"
        );
    }

    #[test]
    fn accept_headers_choose_the_format() {
        use Format::{Classic, OpenMetrics};
        let check = |accept: Option<&str>, expected: Option<Format>| {
            assert_eq!(Format::negotiate(accept), expected, "{accept:?}");
        };
        check(None, Some(Classic));
        check(Some("*/*"), Some(Classic));
        check(Some("text/plain; version=0.0.4"), Some(Classic));
        check(Some("text/plain"), Some(Classic));
        check(
            Some("application/openmetrics-text; version=1.0.0"),
            Some(OpenMetrics),
        );
        // Prometheus 2.x's default scrape header prefers OpenMetrics.
        check(
            Some("application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"),
            Some(OpenMetrics),
        );
        // A scraper configured for the classic format.
        check(
            Some("text/plain;version=0.0.4;q=1.0,application/openmetrics-text;version=1.0.0;q=0.5"),
            Some(Classic),
        );
        // q=0 means "not this"; a version we do not write is not offered.
        check(
            Some("application/openmetrics-text;q=0, text/plain;q=0.2"),
            Some(Classic),
        );
        check(Some("application/openmetrics-text; version=2.0.0"), None);
        check(Some("application/json"), None);
        check(Some("text/plain; q=0"), None);
    }
}
