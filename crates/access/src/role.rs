//! Rollen: the four kinds of user of SPEC §5.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Rol: what a user is in Jeugdpad. A role never grows by accident: every permission is written
/// out per role in [`crate::policy::permits`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Jeugdconsulent: records and reads the trajectories of their own team.
    Consultant,
    /// Teamleider: reads their own team's trajectories and the team's figures.
    TeamLead,
    /// Beleidsmedewerker / onderzoeker: figures and pseudonymised exports of all teams, never
    /// one trajectory's timeline.
    Analyst,
    /// Functioneel beheerder: users, tokens, teams, erasure and the access log; no case files.
    Admin,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 4] = [Role::Consultant, Role::TeamLead, Role::Analyst, Role::Admin];

    /// The stable code (`consultant`, `team_lead`, `analyst`, `admin`).
    pub const fn code(self) -> &'static str {
        match self {
            Role::Consultant => "consultant",
            Role::TeamLead => "team_lead",
            Role::Analyst => "analyst",
            Role::Admin => "admin",
        }
    }

    /// The Dutch label, for people.
    pub const fn label(self) -> &'static str {
        match self {
            Role::Consultant => "jeugdconsulent",
            Role::TeamLead => "teamleider",
            Role::Analyst => "analist",
            Role::Admin => "beheerder",
        }
    }

    /// The role in a sentence ("as an analyst you may not …").
    pub const fn noun(self) -> &'static str {
        match self {
            Role::Consultant => "a consultant",
            Role::TeamLead => "a team lead",
            Role::Analyst => "an analyst",
            Role::Admin => "an administrator",
        }
    }

    /// Whether users of this role belong to exactly one team (and see only that team).
    pub const fn is_team_bound(self) -> bool {
        matches!(self, Role::Consultant | Role::TeamLead)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A text that is not one of the four role codes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not a role; use consultant, team_lead, analyst or admin")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;
    fn from_str(text: &str) -> Result<Role, UnknownRole> {
        Role::ALL
            .into_iter()
            .find(|role| role.code() == text)
            .ok_or_else(|| UnknownRole(text.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_through_text_and_serde() {
        for role in Role::ALL {
            assert_eq!(role.code().parse::<Role>(), Ok(role));
            let json = serde_json::to_string(&role).unwrap();
            assert_eq!(json, format!("\"{}\"", role.code()));
        }
        assert!("Admin".parse::<Role>().is_err());
        assert!("teamlead".parse::<Role>().is_err());
    }
}
