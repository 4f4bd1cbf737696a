//! De trajecten van één jeugdige: a youth's trajectories by subject key (the lookup behind
//! "find this youth", by pseudonym or by BSN turned into one).

use jeugdpad_domain::SubjectKey;

use crate::{AsOf, Projections, Summary};

impl Projections {
    /// How many youths have a subject key made from a BSN with the installation secret: the
    /// youths a lost secret would make unfindable by BSN. Counted over every key a trajectory
    /// ever carried (the shared names), so a corrected-away key still counts: on the safe side.
    pub fn subjects_from_bsn(&self) -> usize {
        self.names
            .subjects
            .iter()
            .filter(|key| key.is_from_bsn())
            .count()
    }

    /// The trajectories whose signal names `subject` as of `as_of`, oldest signal first.
    pub fn subject_trajectories(&self, subject: &SubjectKey, as_of: AsOf) -> Vec<Summary> {
        let mut found = self.subject_signals(subject, as_of.known_on);
        found.sort_by_key(|&(id, signal_on)| (signal_on, id));
        found
            .into_iter()
            .filter(|&(_, signal_on)| signal_on <= as_of.date)
            .filter_map(|(id, _)| self.summary(id, as_of))
            .filter(|summary| &summary.subject_key == subject)
            .collect()
    }
}
