//! Het autorisatiemodel: SPEC §5 as one table.
//!
//! Every operation of the API is first named as an [`Action`] — what it touches, and for a
//! trajectory which team owns it *now* — and then [`permits`] decides. Nothing else in
//! Jeugdpad decides who may do what, so reading this one function is reading the whole policy.
//! A transfer (`team_transferred`) changes the owning team, and with it who may see the
//! trajectory, without any special case here.

use jeugdpad_domain::TeamCode;

use crate::principal::Principal;
use crate::role::Role;

/// What a caller wants to do, with the team it concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Record a step in a trajectory owned by `owner` (for a new signal: the team it names).
    Record {
        /// The team that owns the trajectory.
        owner: TeamCode,
    },
    /// Hand a trajectory owned by `owner` over to another team (`team_transferred`): a step
    /// like any other for the consultants of the owning team, and the one step its team lead
    /// records too — deciding which team carries a case is the team lead's call. Logged as a
    /// recorded step.
    Transfer {
        /// The team that owns the trajectory now (and hands it over).
        owner: TeamCode,
    },
    /// Read one trajectory's timeline, summary or events. Always written to the access log.
    ReadTrajectory {
        /// The team that owns the trajectory.
        owner: TeamCode,
    },
    /// Lists that name individual trajectories: the trajectory listing, the open waits, PGB
    /// reviews that are overdue or flagged. `None`: all teams.
    ListTrajectories {
        /// The team the list is limited to.
        team: Option<TeamCode>,
    },
    /// Aggregated figures (waiting times, normalisation). `None`: all teams.
    Figures {
        /// The team the figures are limited to.
        team: Option<TeamCode>,
    },
    /// A pseudonymised export (summaries or events without free text).
    Export,
    /// The registry's teams, code and name: every signed-in role, because consultants name a
    /// team when they transfer a trajectory. Names no youth and no user.
    ReadTeams,
    /// Teams, users and API tokens: change them, and list users and tokens.
    ManageAccess,
    /// Erase a subject's personal fields (AVG art. 17).
    Erase,
    /// Read the access log.
    ReadAccessLog,
    /// Code lists and the server's date: harmless, for every signed-in user.
    Reference,
}

impl Action {
    /// A stable name for the access log and metrics.
    pub fn code(&self) -> &'static str {
        match self {
            Action::Record { .. } => "record",
            Action::Transfer { .. } => "transfer",
            Action::ReadTrajectory { .. } => "read_trajectory",
            Action::ListTrajectories { .. } => "list_trajectories",
            Action::Figures { .. } => "figures",
            Action::Export => "export",
            Action::ReadTeams => "read_teams",
            Action::ManageAccess => "manage_access",
            Action::Erase => "erase",
            Action::ReadAccessLog => "read_access_log",
            Action::Reference => "reference",
        }
    }
}

/// Why an action is refused: a sentence for the caller, a slug for the access log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The role may never do this.
    #[error("as {role} you may not {what}")]
    Role {
        /// The caller's role, in words.
        role: &'static str,
        /// What was asked, in words.
        what: &'static str,
    },
    /// The role may, but only for its own team.
    #[error("this concerns team '{asked}'; you work for team '{own}' and may only see and record that team's trajectories and figures")]
    OtherTeam {
        /// The team the action concerns.
        asked: String,
        /// The caller's own team.
        own: String,
    },
    /// The role may, but only for its own team, and all teams were asked.
    #[error("you work for team '{own}'; ask for that team, not for all teams")]
    AllTeams {
        /// The caller's own team.
        own: String,
    },
}

impl Refusal {
    /// Why, in Dutch (for the web app and `Accept-Language: nl`).
    pub fn message_nl(&self) -> String {
        match self {
            Refusal::Role { role, .. } => {
                let role = Role::ALL
                    .into_iter()
                    .find(|r| r.noun() == *role)
                    .map_or("uw rol", Role::label);
                format!("dit mag u als {role} niet")
            }
            Refusal::OtherTeam { asked, own } => format!(
                "dit hoort bij team '{asked}'; u werkt voor team '{own}' en ziet en registreert \
                 alleen de trajecten en cijfers van dat team"
            ),
            Refusal::AllTeams { own } => {
                format!("u werkt voor team '{own}'; vraag naar dat team, niet naar alle teams")
            }
        }
    }

    /// A stable slug for the access log.
    pub fn reason(&self) -> &'static str {
        match self {
            Refusal::Role { .. } => "role",
            Refusal::OtherTeam { .. } => "other_team",
            Refusal::AllTeams { .. } => "all_teams",
        }
    }
}

/// The whole of SPEC §5: may `who` do `action`?
pub fn permits(who: &Principal, action: &Action) -> Result<(), Refusal> {
    use Role::{Admin, Analyst, Consultant, TeamLead};
    match (who.role(), action) {
        (_, Action::Reference | Action::ReadTeams) => Ok(()),
        (Consultant, Action::Record { owner }) => own_team(who, Some(owner)),
        (Consultant | TeamLead, Action::Transfer { owner }) => own_team(who, Some(owner)),
        (Consultant | TeamLead, Action::ReadTrajectory { owner }) => own_team(who, Some(owner)),
        (Consultant | TeamLead, Action::ListTrajectories { team }) => own_team(who, team.as_ref()),
        (TeamLead, Action::Figures { team }) => own_team(who, team.as_ref()),
        (Analyst, Action::Figures { .. } | Action::Export) => Ok(()),
        (Admin, Action::ManageAccess | Action::Erase | Action::ReadAccessLog) => Ok(()),
        (role, action) => Err(Refusal::Role {
            role: role.noun(),
            what: describe(action),
        }),
    }
}

/// The team a team-bound caller means when they name none: their own. Others keep `asked`
/// (`None` = all teams).
pub fn effective_team(who: &Principal, asked: Option<TeamCode>) -> Option<TeamCode> {
    match asked {
        Some(team) => Some(team),
        None if who.role().is_team_bound() => who.team().cloned(),
        None => None,
    }
}

fn own_team(who: &Principal, asked: Option<&TeamCode>) -> Result<(), Refusal> {
    let own = who
        .team()
        .map(|t| t.as_str().to_owned())
        .unwrap_or_default();
    match asked {
        Some(asked) if who.team() == Some(asked) => Ok(()),
        Some(asked) => Err(Refusal::OtherTeam {
            asked: asked.as_str().to_owned(),
            own,
        }),
        None => Err(Refusal::AllTeams { own }),
    }
}

fn describe(action: &Action) -> &'static str {
    match action {
        Action::Record { .. } => "record steps in a trajectory",
        Action::Transfer { .. } => "transfer a trajectory to another team",
        Action::ReadTrajectory { .. } => "read a single trajectory",
        Action::ListTrajectories { .. } => "list individual trajectories",
        Action::Figures { .. } => "see team figures",
        Action::Export => "export data",
        Action::ReadTeams => "see the list of teams",
        Action::ManageAccess => "manage teams, users or tokens",
        Action::Erase => "erase a subject's data",
        Action::ReadAccessLog => "read the access log",
        Action::Reference => "read the code lists",
    }
}

#[cfg(test)]
mod tests {
    use jeugdpad_domain::UserId;

    use super::*;
    use crate::principal::Credential;

    fn team(code: &str) -> TeamCode {
        TeamCode::parse(code).unwrap()
    }

    fn who(role: Role) -> Principal {
        let team = role.is_team_bound().then(|| team("noord"));
        Principal::new(UserId::parse("u").unwrap(), role, team, Credential::Local).unwrap()
    }

    /// One row per action: may a consultant, team lead, analyst, admin (all of team `noord`
    /// where the role has a team) do it? Written out from SPEC §5 by hand.
    #[test]
    fn the_spec_table() {
        let own = Some(team("noord"));
        let other = Some(team("zuid"));
        let rows: Vec<(Action, [bool; 4])> = vec![
            (
                Action::Record {
                    owner: team("noord"),
                },
                [true, false, false, false],
            ),
            (
                Action::Record {
                    owner: team("zuid"),
                },
                [false, false, false, false],
            ),
            (
                Action::Transfer {
                    owner: team("noord"),
                },
                [true, true, false, false],
            ),
            (
                Action::Transfer {
                    owner: team("zuid"),
                },
                [false, false, false, false],
            ),
            (
                Action::ReadTrajectory {
                    owner: team("noord"),
                },
                [true, true, false, false],
            ),
            (
                Action::ReadTrajectory {
                    owner: team("zuid"),
                },
                [false, false, false, false],
            ),
            (
                Action::ListTrajectories { team: own.clone() },
                [true, true, false, false],
            ),
            (
                Action::ListTrajectories {
                    team: other.clone(),
                },
                [false, false, false, false],
            ),
            (
                Action::ListTrajectories { team: None },
                [false, false, false, false],
            ),
            (Action::Figures { team: own }, [false, true, true, false]),
            (Action::Figures { team: other }, [false, false, true, false]),
            (Action::Figures { team: None }, [false, false, true, false]),
            (Action::Export, [false, false, true, false]),
            (Action::ReadTeams, [true, true, true, true]),
            (Action::ManageAccess, [false, false, false, true]),
            (Action::Erase, [false, false, false, true]),
            (Action::ReadAccessLog, [false, false, false, true]),
            (Action::Reference, [true, true, true, true]),
        ];
        for (action, expected) in rows {
            for (role, allowed) in Role::ALL.into_iter().zip(expected) {
                assert_eq!(
                    permits(&who(role), &action).is_ok(),
                    allowed,
                    "{role} × {action:?}"
                );
            }
        }
    }

    #[test]
    fn refusals_say_why() {
        let refusal = permits(
            &who(Role::Consultant),
            &Action::ReadTrajectory {
                owner: team("zuid"),
            },
        )
        .unwrap_err();
        assert_eq!(refusal.reason(), "other_team");
        assert!(refusal.to_string().contains("'zuid'"));
        assert!(refusal.to_string().contains("'noord'"));
        let refusal = permits(
            &who(Role::Analyst),
            &Action::ReadTrajectory {
                owner: team("zuid"),
            },
        )
        .unwrap_err();
        assert_eq!(
            refusal.to_string(),
            "as an analyst you may not read a single trajectory"
        );
    }

    #[test]
    fn team_bound_callers_default_to_their_team() {
        assert_eq!(
            effective_team(&who(Role::TeamLead), None),
            Some(team("noord"))
        );
        assert_eq!(effective_team(&who(Role::Analyst), None), None);
        assert_eq!(
            effective_team(&who(Role::TeamLead), Some(team("zuid"))),
            Some(team("zuid"))
        );
    }

    #[test]
    fn a_role_and_team_must_fit() {
        let user = UserId::parse("u").unwrap();
        assert!(Principal::new(user.clone(), Role::Consultant, None, Credential::Local).is_err());
        assert!(Principal::new(user, Role::Admin, Some(team("noord")), Credential::Local).is_err());
    }
}
