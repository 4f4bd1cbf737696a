//! Wachttijden als tellingen: every wait of every trajectory as the day intervals in which it
//! counts as closed (with its length), open, open over its norm, or abandoned — per measure,
//! team at `D` and one grouping dimension — so a report for any `D` is a handful of binary
//! searches instead of a visit to every trajectory.
//!
//! A wait with start `S`, end `E` (maybe none) in a trajectory closed on `C` (maybe never),
//! against norm `n`, is as of `D` (the status rule of `waits.rs`, which this mirrors exactly):
//! - closed for `D ∈ [max(E, S), ∞)`, with length `E − S`;
//! - open for `D ∈ [S, min(E, C))`;
//! - open over its norm for `D ∈ [S + n + 1, min(E, C))`;
//! - abandoned for `D ∈ [max(S, C), E)`;
//!
//! each intersected with the spans in which the trajectory belongs to one team (from its signal,
//! then from each transfer), because a report counts a trajectory under its team at `D`.
//!
//! Closed waits of a trajectory that never changed team, and that close on their end date, are
//! kept length-major: per length, the sorted end days — so the histogram of closed lengths at
//! `D`, and with it the exact nearest-rank percentiles, is one binary search per distinct
//! length. The rare others (transferred trajectories) keep their interval and are checked one by
//! one.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use jeugdpad_domain::{HelpForm, Source, TeamCode};

use super::days::{day_number, DayList, Intervals};
use crate::dated::Dated;
use crate::stats::share;
use crate::waits::{waits, Measure, WaitStats};
use crate::Norms;

/// What a cell splits a (measure, team) by: nothing, or one value of one grouping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Dim {
    All,
    /// Index into [`Source::ALL`].
    Source(u8),
    /// Index into [`HelpForm::ALL`].
    Form(u8),
    /// `year * 12 + month - 1` of the signal.
    Month(u32),
}

impl Dim {
    pub(crate) fn source(source: Source) -> Dim {
        Dim::Source(source_index(source))
    }

    pub(crate) fn form(form: HelpForm) -> Dim {
        Dim::Form(index_of(HelpForm::ALL, &form))
    }

    pub(crate) fn month(date: NaiveDate) -> Dim {
        Dim::Month(u32::try_from(date.year()).unwrap_or(0) * 12 + date.month0())
    }

    /// The group key a report shows for this value (`All` has none).
    pub(crate) fn key(self) -> Option<String> {
        match self {
            Dim::All => None,
            Dim::Source(i) => Source::ALL.get(usize::from(i)).map(|s| s.code().to_owned()),
            Dim::Form(i) => HelpForm::ALL
                .get(usize::from(i))
                .map(|f| f.code().to_owned()),
            Dim::Month(m) => Some(format!("{:04}-{:02}", m / 12, m % 12 + 1)),
        }
    }

    /// The first and last value of this dimension's kind, for range scans.
    pub(crate) fn span(self) -> (Dim, Dim) {
        match self {
            Dim::All => (Dim::All, Dim::All),
            Dim::Source(_) => (Dim::Source(0), Dim::Source(u8::MAX)),
            Dim::Form(_) => (Dim::Form(0), Dim::Form(u8::MAX)),
            Dim::Month(_) => (Dim::Month(0), Dim::Month(u32::MAX)),
        }
    }
}

/// `source`'s place in [`Source::ALL`]: how cells name a source.
pub(crate) fn source_index(source: Source) -> u8 {
    index_of(Source::ALL, &source)
}

fn index_of<T: PartialEq>(all: &[T], value: &T) -> u8 {
    all.iter()
        .position(|v| v == value)
        .and_then(|i| u8::try_from(i).ok())
        .unwrap_or(u8::MAX)
}

/// One cell: the waits of one measure, of trajectories in one team (at `D`), of one group value.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct WaitKey {
    pub(crate) measure: Measure,
    pub(crate) team: u16,
    pub(crate) dim: Dim,
}

/// What one wait adds to one cell (see the module docs for the intervals).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum WaitPart {
    /// Closed from its end day on, for ever: length-major.
    Closed { key: WaitKey, len: u16, end: u16 },
    /// Closed within `[from, until)` only (a team span), or on another day than its end.
    OddClosed {
        key: WaitKey,
        len: i32,
        end: u16,
        from: u16,
        until: Option<u16>,
    },
    Open {
        key: WaitKey,
        from: u16,
        until: Option<u16>,
    },
    Breach {
        key: WaitKey,
        from: u16,
        until: Option<u16>,
    },
    Abandoned {
        key: WaitKey,
        from: u16,
        until: Option<u16>,
    },
}

impl WaitPart {
    pub(crate) fn key(&self) -> &WaitKey {
        match self {
            WaitPart::Closed { key, .. }
            | WaitPart::OddClosed { key, .. }
            | WaitPart::Open { key, .. }
            | WaitPart::Breach { key, .. }
            | WaitPart::Abandoned { key, .. } => key,
        }
    }
}

/// A closed wait kept with its interval (see [`WaitPart::OddClosed`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OddClosed {
    len: i32,
    end: u16,
    from: u16,
    until: Option<u16>,
}

impl OddClosed {
    fn counts_at(&self, d: u16) -> bool {
        self.from <= d && self.until.is_none_or(|u| d < u)
    }
}

/// One column of a report read off the cells: the closed waits that ended in `from..=to`
/// (`from` 0: every wait closed by `to`), and what is open, over its norm or abandoned at `to`.
/// A waiting-time report as of `D` is one window (`0..=D`); a trend is one window per month.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Window {
    pub(crate) from: u16,
    pub(crate) to: u16,
}

/// The waits of one cell.
#[derive(Debug, Default, Clone)]
pub(crate) struct WaitCell {
    /// Regular closed waits: length → end days.
    closed: BTreeMap<u16, DayList>,
    /// `closed` counted: per length (ascending), how many end days it holds — the histogram of
    /// every day on or after `last_end`, read without touching the day lists.
    totals: Vec<(u16, u32)>,
    /// No regular closed wait here ends after this day. Only ever raised: a bound, exact
    /// enough to know that a window ending on or after it counts every closed wait.
    last_end: u16,
    odd: Vec<OddClosed>,
    open: Intervals,
    breach: Intervals,
    abandoned: Intervals,
}

impl WaitCell {
    pub(crate) fn apply(&mut self, part: &WaitPart, add: bool, sorted: bool) -> bool {
        match *part {
            WaitPart::Closed { len, end, .. } => {
                if add {
                    self.closed.entry(len).or_default().add(end, sorted);
                    self.count(len, true);
                    self.last_end = self.last_end.max(end);
                    true
                } else {
                    let Some(list) = self.closed.get_mut(&len) else {
                        return false;
                    };
                    let removed = list.remove(end);
                    if list.is_empty() {
                        self.closed.remove(&len);
                    }
                    if removed {
                        self.count(len, false);
                    }
                    removed
                }
            }
            WaitPart::OddClosed {
                len,
                end,
                from,
                until,
                ..
            } => {
                let odd = OddClosed {
                    len,
                    end,
                    from,
                    until,
                };
                if add {
                    self.odd.push(odd);
                    true
                } else if let Some(at) = self.odd.iter().position(|o| *o == odd) {
                    self.odd.swap_remove(at);
                    true
                } else {
                    false
                }
            }
            WaitPart::Open { from, until, .. } => {
                interval(&mut self.open, from, until, add, sorted)
            }
            WaitPart::Breach { from, until, .. } => {
                interval(&mut self.breach, from, until, add, sorted)
            }
            WaitPart::Abandoned { from, until, .. } => {
                interval(&mut self.abandoned, from, until, add, sorted)
            }
        }
    }

    pub(crate) fn sort(&mut self) {
        for list in self.closed.values_mut() {
            list.sort();
        }
        self.open.sort();
        self.breach.sort();
        self.abandoned.sort();
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.closed.is_empty()
            && self.odd.is_empty()
            && self.open.is_empty()
            && self.breach.is_empty()
            && self.abandoned.is_empty()
    }

    /// Keeps [`WaitCell::totals`] in step with one closed wait of length `len` added or taken.
    fn count(&mut self, len: u16, add: bool) {
        match self.totals.binary_search_by_key(&len, |&(l, _)| l) {
            Ok(at) if add => self.totals[at].1 += 1,
            Ok(at) => {
                self.totals[at].1 -= 1;
                if self.totals[at].1 == 0 {
                    self.totals.remove(at);
                }
            }
            Err(at) if add => self.totals.insert(at, (len, 1)),
            Err(_) => {}
        }
    }

    /// Adds what this cell counts in each window to the tally of the same index.
    ///
    /// A window that starts after every end day here counts no closed wait, and one that takes
    /// every wait closed by a day on or after them all is [`WaitCell::totals`]; the day lists are
    /// read only for the others — each list once for all of them, so a 24-month trend costs
    /// about what one report as of a past date costs.
    pub(crate) fn tally(&self, windows: &[Window], tallies: &mut [Tally]) {
        let mut closed: Vec<Vec<(i64, u64)>> = vec![Vec::new(); windows.len()];
        let mut read: Vec<usize> = Vec::new();
        for (i, w) in windows.iter().enumerate() {
            if w.from > self.last_end || w.from > w.to {
                continue;
            }
            if w.from == 0 && w.to >= self.last_end {
                closed[i] = self
                    .totals
                    .iter()
                    .map(|&(len, count)| (i64::from(len), u64::from(count)))
                    .collect();
            } else {
                read.push(i);
            }
        }
        if !read.is_empty() {
            // The days whose rank the windows need — each one's last day and the day before
            // its first — so that a window's count is a difference of two ranks, and
            // neighbouring months share one.
            let mut points: Vec<u16> = read
                .iter()
                .flat_map(|&i| [Some(windows[i].to), windows[i].from.checked_sub(1)])
                .flatten()
                .collect();
            points.sort_unstable();
            points.dedup();
            let place = |day: u16| points.binary_search(&day).unwrap_or_default();
            let bounds: Vec<(usize, usize, Option<usize>)> = read
                .iter()
                .map(|&i| {
                    let w = windows[i];
                    (i, place(w.to), w.from.checked_sub(1).map(place))
                })
                .collect();
            let mut ranks = vec![0; points.len()];
            for (&len, days) in &self.closed {
                days.ranks(&points, &mut ranks);
                for &(i, to, before) in &bounds {
                    let count = ranks[to] - before.map_or(0, |b| ranks[b]);
                    if count > 0 {
                        closed[i].push((i64::from(len), count as u64));
                    }
                }
            }
        }
        for ((w, tally), closed) in windows.iter().zip(tallies.iter_mut()).zip(closed) {
            tally.add_closed(&closed);
            for odd in self
                .odd
                .iter()
                .filter(|o| o.counts_at(w.to) && w.from <= o.end && o.end <= w.to)
            {
                tally.add_one(i64::from(odd.len));
            }
            tally.open += self.open.count_at(w.to) as u64;
            tally.open_breaches += self.breach.count_at(w.to) as u64;
            tally.abandoned += self.abandoned.count_at(w.to) as u64;
        }
    }
}

fn interval(
    intervals: &mut Intervals,
    from: u16,
    until: Option<u16>,
    add: bool,
    sorted: bool,
) -> bool {
    if add {
        intervals.add(from, until, sorted);
        true
    } else {
        intervals.remove(from, until)
    }
}

/// The closed lengths (histogram) and the other counts of one group, summed over cells.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Tally {
    /// (length, count), ascending by length; a cell's lengths come out of it in that order,
    /// so filling a tally is appending and summing two is one merge.
    closed: Vec<(i64, u64)>,
    open: u64,
    abandoned: u64,
    open_breaches: u64,
}

impl Tally {
    /// Waits counted at all (closed, open or abandoned): a group with none does not exist.
    pub(crate) fn waits(&self) -> u64 {
        self.closed.iter().map(|&(_, count)| count).sum::<u64>() + self.open + self.abandoned
    }

    pub(crate) fn add(&mut self, other: &Tally) {
        self.add_closed(&other.closed);
        self.open += other.open;
        self.abandoned += other.abandoned;
        self.open_breaches += other.open_breaches;
    }

    /// Merges a histogram ascending by length into this one.
    fn add_closed(&mut self, other: &[(i64, u64)]) {
        if other.is_empty() {
            return;
        }
        if self.closed.is_empty() {
            self.closed.extend_from_slice(other);
            return;
        }
        let mut merged = Vec::with_capacity(self.closed.len() + other.len());
        let (mut i, mut j) = (0, 0);
        while i < self.closed.len() || j < other.len() {
            match (self.closed.get(i), other.get(j)) {
                (Some(&(a, m)), Some(&(b, n))) if a == b => {
                    merged.push((a, m + n));
                    i += 1;
                    j += 1;
                }
                (Some(&(a, m)), Some(&(b, _))) if a < b => {
                    merged.push((a, m));
                    i += 1;
                }
                (Some(&(a, m)), None) => {
                    merged.push((a, m));
                    i += 1;
                }
                (_, Some(&(b, n))) => {
                    merged.push((b, n));
                    j += 1;
                }
                (None, None) => break,
            }
        }
        self.closed = merged;
    }

    /// Adds one closed wait of length `len`.
    fn add_one(&mut self, len: i64) {
        match self.closed.binary_search_by_key(&len, |&(l, _)| l) {
            Ok(at) => self.closed[at].1 += 1,
            Err(at) => self.closed.insert(at, (len, 1)),
        }
    }

    /// The group's figures, exactly as the scan's `Acc::finish` computes them from the sorted
    /// lengths: nearest-rank percentiles from the cumulative counts, the mean from the exact sum.
    pub(crate) fn finish(&self, norm: Option<i64>) -> WaitStats {
        let n: u64 = self.closed.iter().map(|&(_, count)| count).sum();
        let sum: i128 = self
            .closed
            .iter()
            .map(|&(len, count)| i128::from(len) * i128::from(count))
            .sum();
        let percentile = |percent: u64| -> Option<i64> {
            if n == 0 {
                return None;
            }
            let rank = (percent * n).div_ceil(100).clamp(1, n);
            let mut seen = 0;
            self.closed.iter().find_map(|&(len, count)| {
                seen += count;
                (seen >= rank).then_some(len)
            })
        };
        let within = norm.map(|limit| {
            self.closed
                .iter()
                .take_while(|&&(len, _)| len <= limit)
                .map(|&(_, count)| count)
                .sum::<u64>()
        });
        let n_usize = usize::try_from(n).unwrap_or(usize::MAX);
        WaitStats {
            closed: n_usize,
            open: usize::try_from(self.open).unwrap_or(usize::MAX),
            abandoned: usize::try_from(self.abandoned).unwrap_or(usize::MAX),
            mean: (n > 0).then(|| sum as f64 / n as f64),
            median: percentile(50),
            p90: percentile(90),
            max: self.closed.last().map(|&(len, _)| len),
            within_norm: within
                .and_then(|w| share(usize::try_from(w).unwrap_or(usize::MAX), n_usize)),
            open_breaches: usize::try_from(self.open_breaches).unwrap_or(usize::MAX),
        }
    }
}

/// The spans `[from, until)` in which the trajectory belongs to one team: from the signal, a new
/// span at every transfer date after it, each with the team [`Dated::team_at`] names for it.
pub(crate) fn team_spans(dated: &Dated) -> Vec<(NaiveDate, Option<NaiveDate>, &TeamCode)> {
    let mut starts: Vec<NaiveDate> = vec![dated.signal_on];
    starts.extend(
        dated
            .transfers
            .iter()
            .map(|(on, _)| *on)
            .filter(|on| *on > dated.signal_on),
    );
    starts.sort_unstable();
    starts.dedup();
    let mut spans: Vec<(NaiveDate, Option<NaiveDate>, &TeamCode)> = Vec::new();
    for (i, &start) in starts.iter().enumerate() {
        let team = dated.team_at(start);
        let until = starts.get(i + 1).copied();
        match spans.last_mut() {
            // A "transfer" to the team it already had: one span.
            Some(last) if last.2 == team => last.1 = until,
            _ => spans.push((start, until, team)),
        }
    }
    spans
}

/// `[a, b) ∩ [c, d)` (an absent end is for ever); `None` when empty.
fn intersect(
    a: NaiveDate,
    b: Option<NaiveDate>,
    c: NaiveDate,
    d: Option<NaiveDate>,
) -> Option<(NaiveDate, Option<NaiveDate>)> {
    let from = a.max(c);
    let until = match (b, d) {
        (Some(b), Some(d)) => Some(b.min(d)),
        (b, None) => b,
        (None, d) => d,
    };
    until.is_none_or(|u| from < u).then_some((from, until))
}

/// Everything one trajectory adds to the wait cells; `None` when one of its dates cannot be a
/// day number (the trajectory is then left to the scan). `team` gives a team's index.
pub(crate) fn wait_parts(
    dated: &Dated,
    norms: &Norms,
    team: &mut impl FnMut(&TeamCode) -> u16,
) -> Option<Vec<WaitPart>> {
    let spans = team_spans(dated);
    let transferred = spans.len() > 1 || spans.first().is_some_and(|s| s.1.is_some());
    let closure = dated.closure.map(|(on, _)| on);
    let month = Dim::month(dated.signal_on);
    let source = Dim::source(dated.source);
    let mut parts = Vec::new();
    for wait in waits(dated) {
        let dims = [
            Some(Dim::All),
            Some(source),
            wait.form.map(Dim::form),
            Some(month),
        ];
        let norm = norms.for_measure(wait.measure);
        let s = wait.start;
        let open_until = match (wait.end, closure) {
            (Some(e), Some(c)) => Some(e.min(c)),
            (e, None) => e,
            (None, c) => c,
        };
        let breach_from = norm.and_then(|n| {
            let n = u64::try_from(n.saturating_add(1)).unwrap_or(0);
            s.checked_add_days(chrono::Days::new(n))
        });
        for &(span_from, span_until, team_code) in &spans {
            let team_index = team(team_code);
            let mut push = |kind: Kind, from: NaiveDate, until: Option<NaiveDate>| -> Option<()> {
                let Some((from, until)) = intersect(from, until, span_from, span_until) else {
                    return Some(());
                };
                let (from_day, until_day) = (
                    day_number(from)?,
                    match until {
                        Some(u) => Some(day_number(u)?),
                        None => None,
                    },
                );
                for dim in dims.iter().flatten() {
                    let key = WaitKey {
                        measure: wait.measure,
                        team: team_index,
                        dim: *dim,
                    };
                    parts.push(match kind {
                        Kind::Closed { len, end } => {
                            let end_day = day_number(end)?;
                            match u16::try_from(len) {
                                Ok(len) if !transferred && from_day == end_day => {
                                    WaitPart::Closed {
                                        key,
                                        len,
                                        end: end_day,
                                    }
                                }
                                _ => WaitPart::OddClosed {
                                    key,
                                    len: i32::try_from(len).ok()?,
                                    end: end_day,
                                    from: from_day,
                                    until: until_day,
                                },
                            }
                        }
                        Kind::Open => WaitPart::Open {
                            key,
                            from: from_day,
                            until: until_day,
                        },
                        Kind::Breach => WaitPart::Breach {
                            key,
                            from: from_day,
                            until: until_day,
                        },
                        Kind::Abandoned => WaitPart::Abandoned {
                            key,
                            from: from_day,
                            until: until_day,
                        },
                    });
                }
                Some(())
            };
            if let Some(e) = wait.end {
                push(
                    Kind::Closed {
                        len: (e - s).num_days(),
                        end: e,
                    },
                    e.max(s),
                    None,
                )?;
            }
            push(Kind::Open, s, open_until)?;
            if let Some(breach_from) = breach_from {
                push(Kind::Breach, breach_from.max(s), open_until)?;
            }
            if let Some(c) = closure {
                push(Kind::Abandoned, s.max(c), wait.end)?;
            }
        }
    }
    parts.sort_unstable();
    Some(parts)
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Closed { len: i64, end: NaiveDate },
    Open,
    Breach,
    Abandoned,
}
