//! Normalisatie als tellingen: every closed trajectory as one *member* of the closed cohorts —
//! its closing day and the outcome flags it counts with — per team and source, so a cohort
//! "closed between two dates" as of `D` is counted with binary searches over closing days.
//!
//! A closed trajectory whose help episodes and transfers all lie on or before its closing day
//! counts the same as of every `D` on or after that day: highest level, escalation, Buurtgezin,
//! pathway length and team stay what they were at the closure. Whether its youth came back
//! within a year depends on the youth's other trajectories; when one of those changes, the
//! member is recomputed. A closed trajectory with anything dated after its closure (only
//! possible for data not written through the rules) is an *odd* member: the report computes it
//! the way the scan does.

use std::collections::BTreeMap;

use jeugdpad_domain::{CloseReason, HelpForm, Level};

use super::days::{day_number, DayList};
use crate::dated::Dated;
use crate::normalisation::{LevelMedian, Outcomes};
use crate::stats::share;

/// The cell a member counts in: its team (index) and nothing or its source (index).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct CohortKey {
    pub(crate) team: u16,
    /// `None`: every source; `Some(i)`: [`jeugdpad_domain::Source::ALL`]`[i]`.
    pub(crate) source: Option<u8>,
}

/// What one closed trajectory counts with in every closed cohort that holds its closing day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Member {
    pub(crate) team: u16,
    pub(crate) source: u8,
    pub(crate) closed: u16,
    pub(crate) resolved_light: bool,
    pub(crate) escalated: bool,
    pub(crate) highest: Level,
    /// `Some(prevented)` when it started `buurtgezin_prevention`.
    pub(crate) prevention: Option<bool>,
    /// Its youth had a signal in another trajectory 1..=365 days after the closure.
    pub(crate) recurred: bool,
    pub(crate) pathway: u16,
}

/// How a trajectory takes part in the closed cohorts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Membership {
    /// Counted in the cells.
    Counted(Member),
    /// Closed with something dated after the closure: computed by the report itself.
    Odd,
}

/// The membership of a trajectory with digest `dated` (`None` while it is not closed).
/// `recurred` says whether its youth came back within a year (see the module docs); `team`
/// and `source` give the cells' indexes.
pub(crate) fn membership(
    dated: &Dated,
    recurred: bool,
    team: u16,
    source: u8,
) -> Option<Membership> {
    let (closed_on, reason) = dated.closure?;
    let after_closure = dated.episodes.iter().any(|e| e.on > closed_on)
        || dated.transfers.iter().any(|(on, _)| *on > closed_on)
        || dated.signal_on > closed_on;
    let (Some(closed), Ok(pathway)) = (
        day_number(closed_on),
        u16::try_from((closed_on - dated.signal_on).num_days()),
    ) else {
        return Some(Membership::Odd);
    };
    if after_closure {
        return Some(Membership::Odd);
    }
    let highest = dated
        .episodes
        .iter()
        .map(|e| e.form.level())
        .max()
        .unwrap_or_default();
    let resolved_light = matches!(reason, CloseReason::GoalsMet | CloseReason::NoHelpNeeded)
        && highest <= Level::Light;
    let prevention = dated
        .episodes
        .iter()
        .any(|e| e.form == HelpForm::BuurtgezinPrevention)
        .then_some(highest < Level::OutOfHome);
    Some(Membership::Counted(Member {
        team,
        source,
        closed,
        resolved_light,
        escalated: dated.episodes.iter().any(|e| e.escalation),
        highest,
        prevention,
        recurred,
        pathway,
    }))
}

/// The members of one cell, as closing days per outcome flag and, per highest level, per
/// pathway length.
#[derive(Debug, Default, Clone)]
pub(crate) struct CohortCell {
    members: DayList,
    resolved_light: DayList,
    escalated: DayList,
    out_of_home: DayList,
    prevention: DayList,
    prevented: DayList,
    recurred: DayList,
    /// Per highest level 0..=3: pathway length → closing days.
    pathways: [BTreeMap<u16, DayList>; 4],
}

impl CohortCell {
    pub(crate) fn apply(&mut self, member: &Member, add: bool, sorted: bool) -> bool {
        let day = member.closed;
        let mut ok = true;
        let mut touch = |list: &mut DayList, applies: bool| {
            if !applies {
                return;
            }
            if add {
                list.add(day, sorted);
            } else {
                ok &= list.remove(day);
            }
        };
        touch(&mut self.members, true);
        touch(&mut self.resolved_light, member.resolved_light);
        touch(&mut self.escalated, member.escalated);
        touch(&mut self.out_of_home, member.highest == Level::OutOfHome);
        touch(&mut self.prevention, member.prevention.is_some());
        touch(&mut self.prevented, member.prevention == Some(true));
        touch(&mut self.recurred, member.recurred);
        let level = &mut self.pathways[usize::from(member.highest.number()).min(3)];
        if add {
            level.entry(member.pathway).or_default().add(day, sorted);
        } else {
            match level.get_mut(&member.pathway) {
                Some(days) => {
                    ok &= days.remove(day);
                    if days.is_empty() {
                        level.remove(&member.pathway);
                    }
                }
                None => ok = false,
            }
        }
        ok
    }

    pub(crate) fn sort(&mut self) {
        for list in [
            &mut self.members,
            &mut self.resolved_light,
            &mut self.escalated,
            &mut self.out_of_home,
            &mut self.prevention,
            &mut self.prevented,
            &mut self.recurred,
        ] {
            list.sort();
        }
        for level in &mut self.pathways {
            for days in level.values_mut() {
                days.sort();
            }
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// Adds the members closed on days `from..=to` to `tally`; `base_to`: the last closing day
    /// of the recurrence base (`D − 365`), `None` when no closure is old enough.
    pub(crate) fn tally(&self, from: u16, to: u16, base_to: Option<u16>, tally: &mut OutcomeTally) {
        let count = |list: &DayList| list.count_between(from, to) as u64;
        tally.trajectories += count(&self.members);
        tally.resolved_light += count(&self.resolved_light);
        tally.escalated += count(&self.escalated);
        tally.out_of_home += count(&self.out_of_home);
        tally.prevention += count(&self.prevention);
        tally.prevented += count(&self.prevented);
        if let Some(base_to) = base_to {
            let base_to = base_to.min(to);
            tally.recurrence_base += self.members.count_between(from, base_to) as u64;
            tally.recurred += self.recurred.count_between(from, base_to) as u64;
        }
        for (level, lengths) in self.pathways.iter().enumerate() {
            for (&len, days) in lengths {
                let n = days.count_between(from, to) as u64;
                if n > 0 {
                    *tally.pathways[level].entry(i64::from(len)).or_default() += n;
                }
            }
        }
    }
}

/// A cohort's outcomes while they are being counted.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct OutcomeTally {
    pub(crate) trajectories: u64,
    pub(crate) resolved_light: u64,
    pub(crate) escalated: u64,
    pub(crate) out_of_home: u64,
    pub(crate) prevention: u64,
    pub(crate) prevented: u64,
    pub(crate) recurrence_base: u64,
    pub(crate) recurred: u64,
    /// Closed members' pathway lengths, per highest level 0..=3.
    pub(crate) pathways: [BTreeMap<i64, u64>; 4],
}

impl OutcomeTally {
    /// Adds one member computed the way the scan computes it (an odd member).
    pub(crate) fn add_scanned(&mut self, member: &crate::normalisation::Member) {
        self.trajectories += 1;
        self.resolved_light += u64::from(member.resolved_light);
        self.escalated += u64::from(member.escalated);
        self.out_of_home += u64::from(member.highest == Level::OutOfHome);
        if let Some(prevented) = member.prevention {
            self.prevention += 1;
            self.prevented += u64::from(prevented);
        }
        if let Some(recurred) = member.recurrence {
            self.recurrence_base += 1;
            self.recurred += u64::from(recurred);
        }
        if let Some(pathway) = member.closed_pathway {
            let level = usize::from(member.highest.number()).min(3);
            *self.pathways[level].entry(pathway).or_default() += 1;
        }
    }

    pub(crate) fn add(&mut self, other: &OutcomeTally) {
        self.trajectories += other.trajectories;
        self.resolved_light += other.resolved_light;
        self.escalated += other.escalated;
        self.out_of_home += other.out_of_home;
        self.prevention += other.prevention;
        self.prevented += other.prevented;
        self.recurrence_base += other.recurrence_base;
        self.recurred += other.recurred;
        for (mine, theirs) in self.pathways.iter_mut().zip(&other.pathways) {
            for (&len, &n) in theirs {
                *mine.entry(len).or_default() += n;
            }
        }
    }

    /// The outcomes, as the scan's `outcomes` computes them from the members.
    pub(crate) fn finish(&self) -> Outcomes {
        let n = |count: u64| usize::try_from(count).unwrap_or(usize::MAX);
        let size = n(self.trajectories);
        let median = |lengths: &BTreeMap<i64, u64>| -> (usize, Option<i64>) {
            let total: u64 = lengths.values().sum();
            if total == 0 {
                return (0, None);
            }
            let rank = (50 * total).div_ceil(100).clamp(1, total);
            let mut seen = 0;
            let value = lengths.iter().find_map(|(&len, &count)| {
                seen += count;
                (seen >= rank).then_some(len)
            });
            (n(total), value)
        };
        let mut all = BTreeMap::new();
        for level in &self.pathways {
            for (&len, &count) in level {
                *all.entry(len).or_insert(0) += count;
            }
        }
        let (closed, median_pathway_days) = median(&all);
        Outcomes {
            trajectories: size,
            resolved_light: share(n(self.resolved_light), size),
            escalated: share(n(self.escalated), size),
            out_of_home: share(n(self.out_of_home), size),
            buurtgezin_prevention: n(self.prevention),
            foster_prevented: share(n(self.prevented), n(self.prevention)),
            recurrence_base: n(self.recurrence_base),
            recurrence_12m: share(n(self.recurred), n(self.recurrence_base)),
            closed,
            median_pathway_days,
            by_highest_level: Level::ALL
                .iter()
                .map(|&level| {
                    let (closed, median_pathway_days) =
                        median(&self.pathways[usize::from(level.number()).min(3)]);
                    LevelMedian {
                        level,
                        closed,
                        median_pathway_days,
                    }
                })
                .collect(),
        }
    }
}
