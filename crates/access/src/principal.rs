//! The authenticated caller.

use jeugdpad_domain::{TeamCode, UserId};
use serde::{Deserialize, Serialize};

use crate::role::Role;

/// Who is calling, once their credentials are verified: the only thing authorisation looks at.
///
/// A team-bound role ([`Role::is_team_bound`]) always has a team and the other roles never do:
/// [`Principal::new`] refuses anything else, so the policy never has to guess.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    user: UserId,
    role: Role,
    team: Option<TeamCode>,
    via: Credential,
}

/// How the caller proved who they are (kept in the access log).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Credential {
    /// An API token created by an admin; `token` is its public id, never the secret.
    ApiToken {
        /// The token's id (the part an admin names in `token revoke`).
        token: String,
    },
    /// A JWT from the municipality's identity provider.
    Oidc {
        /// The token's issuer.
        issuer: String,
    },
    /// The operator at the machine (command line tools that run without the server).
    Local,
}

/// A role and team that do not fit together.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrincipalError {
    /// A consultant or team lead without a team.
    #[error("{0} belongs to exactly one team, and none was given")]
    TeamMissing(&'static str),
    /// An analyst or admin with a team.
    #[error("{0} works for all teams and has no team of their own")]
    TeamNotAllowed(&'static str),
}

impl Principal {
    /// A caller with `role`, acting for `team` when the role is team-bound.
    pub fn new(
        user: UserId,
        role: Role,
        team: Option<TeamCode>,
        via: Credential,
    ) -> Result<Principal, PrincipalError> {
        match (role.is_team_bound(), &team) {
            (true, None) => Err(PrincipalError::TeamMissing(role.noun())),
            (false, Some(_)) => Err(PrincipalError::TeamNotAllowed(role.noun())),
            _ => Ok(Principal {
                user,
                role,
                team,
                via,
            }),
        }
    }

    /// The user id, as stored in `recorded_by`.
    pub fn user(&self) -> &UserId {
        &self.user
    }

    /// The role the caller acts in.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The caller's team (only for team-bound roles).
    pub fn team(&self) -> Option<&TeamCode> {
        self.team.as_ref()
    }

    /// How the caller signed in.
    pub fn credential(&self) -> &Credential {
        &self.via
    }
}
