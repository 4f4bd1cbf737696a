//! Tellingen: the read models' incrementally maintained aggregates.
//!
//! Every trajectory's digest is turned into *parts* — what it adds to which cell of which
//! aggregate, as day intervals (see `waits.rs`). When the projector re-derives a trajectory, the
//! parts of its old digest are taken out and those of the new one put in (only the difference
//! is touched). A report as of `D` then reads the cells it needs instead of visiting every
//! trajectory, and answers exactly what the scan answers: the property tests compare the two
//! for random histories and many `D`.
//!
//! What the aggregates cannot answer, the scan still does: a `knownOn` view (it needs the
//! history as it was known then), filter combinations no cell holds, and any query while a
//! trajectory has a date outside the day-number range (it is then not aggregated at all).

pub(crate) mod cohorts;
pub(crate) mod days;
pub(crate) mod waits;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use jeugdpad_domain::TeamCode;

use crate::dated::Dated;
use crate::Norms;
use cohorts::{CohortCell, CohortKey, Member, Membership};
use waits::{wait_parts, WaitCell, WaitKey, WaitPart};

/// What a digest adds to the wait cells: its parts, or `None` when it cannot be aggregated (a
/// date outside the day numbers).
pub(crate) type Parts = Option<Vec<WaitPart>>;

/// The parts of `dated` with the teams of `index`; `None` when it names a team not in it.
fn parts_with(index: &HashMap<TeamCode, u16>, dated: &Dated, norms: &Norms) -> Option<Parts> {
    let mut unknown = false;
    let parts = wait_parts(dated, norms, &mut |team| match index.get(team) {
        Some(&index) => index,
        None => {
            unknown = true;
            u16::MAX
        }
    });
    (!unknown).then_some(parts)
}

/// A copy of the aggregates' team register: computes parts on any thread while the aggregates
/// themselves are busy elsewhere (the start-up rebuild fills them on a thread of their own).
#[derive(Debug, Clone, Default)]
pub(crate) struct TeamSnapshot(HashMap<TeamCode, u16>);

impl TeamSnapshot {
    /// The parts of `dated` (`Some(None)`: it cannot be aggregated); `None` when it names a
    /// team not registered when this was taken.
    pub(crate) fn parts(&self, dated: &Dated, norms: &Norms) -> Option<Parts> {
        parts_with(&self.0, dated, norms)
    }
}

/// Every aggregate of the read models.
#[derive(Debug, Default)]
pub(crate) struct Aggregates {
    /// Teams by index: cells name a team by its place here.
    teams: Vec<TeamCode>,
    team_index: HashMap<TeamCode, u16>,
    pub(crate) waits: BTreeMap<WaitKey, WaitCell>,
    /// The closed cohorts' members (see `cohorts.rs`).
    pub(crate) cohorts: BTreeMap<CohortKey, CohortCell>,
    /// Trajectories (by index) that are odd members of the closed cohorts: counted one by one.
    pub(crate) odd_members: BTreeSet<u32>,
    /// Trajectories whose digest could not be turned into parts: while there is any, every
    /// report takes the scan.
    unaggregated: usize,
    /// Inside a bulk load: parts are appended unsorted, and [`Aggregates::end_bulk`] sorts.
    bulk: bool,
    /// A part that was to be taken out was not there: the aggregates no longer match the
    /// digests (a bug). Reports then take the scan rather than answer wrongly.
    damaged: bool,
}

impl Aggregates {
    /// What stands in while the aggregates are filled on a thread of their own: damaged, so
    /// that should the filling never bring them back (a panic), reports take the scan rather
    /// than answer from empty cells.
    pub(crate) fn stand_in() -> Aggregates {
        Aggregates {
            damaged: true,
            ..Aggregates::default()
        }
    }

    /// Whether the aggregates answer for the whole installation.
    pub(crate) fn usable(&self) -> bool {
        self.unaggregated == 0 && !self.damaged && !self.bulk
    }

    /// The index of `team` in the cells, registering it on first sight.
    pub(crate) fn team_index(&mut self, team: &TeamCode) -> u16 {
        Self::intern(&mut self.teams, &mut self.team_index, team)
    }

    /// The index of `team` in the cells (registering it on first sight).
    fn intern(
        teams: &mut Vec<TeamCode>,
        index: &mut HashMap<TeamCode, u16>,
        team: &TeamCode,
    ) -> u16 {
        if let Some(&i) = index.get(team) {
            return i;
        }
        let i = u16::try_from(teams.len()).unwrap_or(u16::MAX);
        teams.push(team.clone());
        index.insert(team.clone(), i);
        i
    }

    /// The cells' index of `team`, when any trajectory ever had it.
    pub(crate) fn team(&self, team: &TeamCode) -> Option<u16> {
        self.team_index.get(team).copied()
    }

    /// Every team with its index, in code order (the order reports list teams in).
    pub(crate) fn teams_in_order(&self) -> Vec<(&TeamCode, u16)> {
        let mut teams: Vec<(&TeamCode, u16)> =
            self.team_index.iter().map(|(t, &i)| (t, i)).collect();
        teams.sort_unstable_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
        teams
    }

    fn parts(&mut self, dated: &Dated, norms: &Norms) -> Option<Vec<WaitPart>> {
        let (teams, index) = (&mut self.teams, &mut self.team_index);
        wait_parts(dated, norms, &mut |team| Self::intern(teams, index, team))
    }

    /// Registers `teams` (every team the data names), so that parts can then be computed
    /// without changing the aggregates ([`Aggregates::team_snapshot`], on several threads).
    pub(crate) fn intern_teams<'a>(&mut self, teams: impl IntoIterator<Item = &'a TeamCode>) {
        for team in teams {
            self.team_index(team);
        }
    }

    /// The teams registered now, for computing parts where the aggregates themselves are out
    /// of reach ([`TeamSnapshot::parts`]).
    pub(crate) fn team_snapshot(&self) -> TeamSnapshot {
        TeamSnapshot(self.team_index.clone())
    }

    /// Replaces what a trajectory with digest `old` contributed by what `new` contributes.
    pub(crate) fn replace(&mut self, old: Option<&Dated>, new: Option<&Dated>, norms: &Norms) {
        let new_parts = new.map(|dated| self.parts(dated, norms));
        self.replace_parts(old, new_parts, norms);
    }

    /// [`Aggregates::replace`] with the new digest's parts already computed (`None`: no digest).
    pub(crate) fn replace_parts(
        &mut self,
        old: Option<&Dated>,
        new_parts: Option<Parts>,
        norms: &Norms,
    ) {
        let old_parts = old.map(|dated| self.parts(dated, norms));
        self.replace_computed(old_parts, new_parts);
    }

    /// Replaces one trajectory's parts, both already computed: `None` for no digest,
    /// `Some(None)` for a digest that cannot be aggregated.
    pub(crate) fn replace_computed(&mut self, old_parts: Option<Parts>, new_parts: Option<Parts>) {
        let old_parts = match old_parts {
            Some(Some(parts)) => parts,
            Some(None) => {
                // It was not aggregated: it no longer holds the aggregates back.
                self.unaggregated = self.unaggregated.saturating_sub(1);
                Vec::new()
            }
            None => Vec::new(),
        };
        let new_parts = match new_parts {
            Some(Some(parts)) => parts,
            Some(None) => {
                self.unaggregated += 1;
                Vec::new()
            }
            None => Vec::new(),
        };
        // Both are sorted: walk them together and touch only what differs.
        let (mut i, mut j) = (0, 0);
        while i < old_parts.len() || j < new_parts.len() {
            match (old_parts.get(i), new_parts.get(j)) {
                (Some(a), Some(b)) if a == b => {
                    i += 1;
                    j += 1;
                }
                (Some(a), Some(b)) if a < b => {
                    self.apply(a, false);
                    i += 1;
                }
                (Some(a), None) => {
                    self.apply(a, false);
                    i += 1;
                }
                (_, Some(b)) => {
                    self.apply(b, true);
                    j += 1;
                }
                (None, None) => break,
            }
        }
    }

    fn apply(&mut self, part: &WaitPart, add: bool) {
        let sorted = !self.bulk;
        if add {
            self.waits
                .entry(part.key().clone())
                .or_default()
                .apply(part, true, sorted);
            return;
        }
        let Some(cell) = self.waits.get_mut(part.key()) else {
            self.damaged = true;
            return;
        };
        if !sorted {
            // Taking out needs the lists in order; a re-derivation inside a bulk load is rare.
            cell.sort();
        }
        if !cell.apply(part, false, sorted) {
            self.damaged = true;
        }
        if cell.is_empty() {
            self.waits.remove(part.key());
        }
    }

    /// Replaces trajectory `index`'s membership of the closed cohorts.
    pub(crate) fn replace_member(
        &mut self,
        index: u32,
        old: Option<Membership>,
        new: Option<Membership>,
    ) {
        if old == new {
            return;
        }
        match old {
            Some(Membership::Counted(member)) => self.member(&member, false),
            Some(Membership::Odd) => {
                self.odd_members.remove(&index);
            }
            None => {}
        }
        match new {
            Some(Membership::Counted(member)) => self.member(&member, true),
            Some(Membership::Odd) => {
                self.odd_members.insert(index);
            }
            None => {}
        }
    }

    fn member(&mut self, member: &Member, add: bool) {
        let sorted = !self.bulk;
        for key in [
            CohortKey {
                team: member.team,
                source: None,
            },
            CohortKey {
                team: member.team,
                source: Some(member.source),
            },
        ] {
            if add {
                self.cohorts
                    .entry(key)
                    .or_default()
                    .apply(member, true, sorted);
                continue;
            }
            let Some(cell) = self.cohorts.get_mut(&key) else {
                self.damaged = true;
                continue;
            };
            if !sorted {
                cell.sort();
            }
            if !cell.apply(member, false, sorted) {
                self.damaged = true;
            }
            if cell.is_empty() {
                self.cohorts.remove(&key);
            }
        }
    }

    /// From now on parts are appended unsorted (a start-up rebuild adds a million trajectories).
    pub(crate) fn begin_bulk(&mut self) {
        self.bulk = true;
    }

    /// Sorts what the bulk load appended; the aggregates answer again.
    pub(crate) fn end_bulk(&mut self) {
        if !self.bulk {
            return;
        }
        // Cells are independent: sorted on every core.
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let mut waits: Vec<&mut WaitCell> = self.waits.values_mut().collect();
        let chunk = waits.len().div_ceil(threads).max(1);
        std::thread::scope(|scope| {
            for part in waits.chunks_mut(chunk) {
                scope.spawn(move || part.iter_mut().for_each(|cell| cell.sort()));
            }
        });
        for cell in self.cohorts.values_mut() {
            cell.sort();
        }
        self.bulk = false;
    }
}

#[cfg(test)]
mod tests {
    use super::Aggregates;

    #[test]
    fn the_stand_in_never_answers_a_report() {
        assert!(Aggregates::default().usable());
        assert!(!Aggregates::stand_in().usable());
    }
}
