//! Beheer: teams, users, API tokens, erasure and the access log — for admins only (except the
//! list of teams, which every signed-in role reads), every call through the gate, and everything
//! but the list of teams into the access log. Changes go through `jeugdpad_app::admin::change`,
//! the same function the `jeugdpad team|user|token` commands use; the lists read the registry
//! the server holds, which includes every change as soon as its mutation answers.

use async_graphql::{Context, Enum, Object, SimpleObject, ID};
use jeugdpad_access::{Action, AdminEvent, Outcome, Role as AccessRole};
use jeugdpad_access_index::{Cursor, Filter, LoggedAccess};
use jeugdpad_app::admin::{change, create_token, AdminChangeError};
use jeugdpad_domain::SubjectKey;

use super::errors::{ApiError, ApiResult, ErrorCode};
use super::inputs;
use super::mutation::subject_of;
use super::scalars::DateTime;
use super::RequestId;
use crate::gate::{allow, gate, permit, About, Pending};
use crate::state::AppState;

/// Rol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub(crate) enum Role {
    /// Jeugdconsulent: records and reads their own team's trajectories.
    Consultant,
    /// Teamleider: reads their own team's trajectories and figures.
    TeamLead,
    /// Analist: figures and pseudonymised exports of all teams.
    Analyst,
    /// Beheerder: users, tokens, teams, erasure, the access log.
    Admin,
}

impl From<Role> for AccessRole {
    fn from(role: Role) -> AccessRole {
        match role {
            Role::Consultant => AccessRole::Consultant,
            Role::TeamLead => AccessRole::TeamLead,
            Role::Analyst => AccessRole::Analyst,
            Role::Admin => AccessRole::Admin,
        }
    }
}

impl From<AccessRole> for Role {
    fn from(role: AccessRole) -> Role {
        match role {
            AccessRole::Consultant => Role::Consultant,
            AccessRole::TeamLead => Role::TeamLead,
            AccessRole::Analyst => Role::Analyst,
            AccessRole::Admin => Role::Admin,
        }
    }
}

/// A team (wijkteam).
#[derive(Debug, SimpleObject)]
pub(crate) struct Team {
    /// Its code, as trajectories, users and `transferTeam` name it.
    code: String,
    /// Its name, for people.
    name: String,
}

/// A user who may be given API tokens.
#[derive(Debug, SimpleObject)]
pub(crate) struct User {
    /// The user id (`recorded_by` of what they record).
    id: String,
    /// Their display name.
    name: String,
    /// Their role.
    role: Role,
    /// Their team (consultants and team leads only).
    team: Option<String>,
    /// False once deactivated: none of their tokens works any more.
    active: bool,
}

/// An API token as the server knows it: never the token itself, nor its hash.
#[derive(Debug, SimpleObject)]
pub(crate) struct ApiToken {
    /// The token's public id (the part after `jpt_`; for `revokeToken`).
    token_id: String,
    /// Whose token it is.
    user: String,
    /// What it is for ("laptop", "Power BI").
    label: Option<String>,
    /// When it stops working (absent: never).
    expires_at: Option<DateTime>,
    /// Revoked tokens stay listed, so the access log can still name them.
    revoked: bool,
}

/// A new API token. The token itself is shown here once and never again: only its hash is kept.
#[derive(Debug, SimpleObject)]
pub(crate) struct CreatedToken {
    /// The token's public id (for `revokeToken`).
    token_id: String,
    /// The token: send it as `Authorization: Bearer <token>`. Store it in a password manager.
    token: String,
    /// When it stops working.
    expires_at: Option<DateTime>,
}

/// What an erasure did.
#[derive(Debug, SimpleObject)]
pub(crate) struct Erasure {
    /// The subject's pseudonym, which the figures keep counting.
    subject_key: String,
    /// Whether a data key existed and was destroyed (false: the subject never had free text).
    key_destroyed: bool,
}

/// One access-log entry.
#[derive(Debug, SimpleObject)]
pub(crate) struct AccessLogEntry {
    /// Position in the event log.
    position: u64,
    /// When.
    at: DateTime,
    /// What happened: read, list, record, export, erase, administer, read_access_log, failed_sign_in.
    action: String,
    /// granted or refused.
    outcome: String,
    /// The API operation.
    operation: String,
    /// Who (absent for a failed sign-in).
    user: Option<String>,
    /// In which role.
    role: Option<String>,
    /// For which team.
    team: Option<String>,
    /// Which trajectory.
    trajectory_id: Option<ID>,
    /// Which youth (pseudonym).
    subject_key: Option<String>,
    /// From which address.
    client_address: Option<String>,
    /// With which application.
    client_application: Option<String>,
    /// Why it was refused.
    reason: Option<String>,
}

/// One page of an access-log inquiry, newest first.
#[derive(Debug, SimpleObject)]
pub(crate) struct AccessLogPage {
    /// The entries of this page.
    entries: Vec<AccessLogEntry>,
    /// Pass as `after` for the next (older) page; absent when this page is empty.
    end_cursor: Option<String>,
    /// Older entries match the filter too.
    has_next_page: bool,
}

/// Admin reads.
#[derive(Debug, Default)]
pub struct AdminQuery;

#[Object]
impl AdminQuery {
    /// The teams (wijkteams), by code: for every signed-in role (consultants name one to
    /// transfer a trajectory). Not logged: it names nobody.
    async fn teams(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Team>> {
        allow(ctx, Action::ReadTeams, About::default()).await?;
        let registry = ctx.data_unchecked::<AppState>().auth.registry();
        Ok(registry
            .teams()
            .iter()
            .map(|(code, team)| Team {
                code: code.to_string(),
                name: team.name.clone(),
            })
            .collect())
    }

    /// The users, by id, deactivated ones included. Admins only.
    async fn users(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<User>> {
        allow(ctx, Action::ManageAccess, About::default()).await?;
        let registry = ctx.data_unchecked::<AppState>().auth.registry();
        Ok(registry
            .users()
            .iter()
            .map(|(id, user)| User {
                id: id.to_string(),
                name: user.name.clone(),
                role: user.role.into(),
                team: user.team.as_ref().map(ToString::to_string),
                active: user.active,
            })
            .collect())
    }

    /// The API tokens, by id, revoked and expired ones included; never a token or its hash.
    /// Admins only.
    async fn tokens(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<ApiToken>> {
        allow(ctx, Action::ManageAccess, About::default()).await?;
        let registry = ctx.data_unchecked::<AppState>().auth.registry();
        Ok(registry
            .tokens()
            .iter()
            .map(|(id, token)| ApiToken {
                token_id: id.clone(),
                user: token.user.to_string(),
                label: token.label.clone(),
                expires_at: token.expires_at.map(Into::into),
                revoked: token.revoked,
            })
            .collect())
    }

    /// Het toegangslog (NEN 7513), newest first, filtered — by user, by youth (`subjectKey`, or
    /// `bsn`, turned into the subject key and never kept), by trajectory, by period (`from`,
    /// `to`: `recorded_at`, both inclusive) or any of them together — one page at a time: pass
    /// `endCursor` as `after` for the next, older page. Answered from the access log's index, so
    /// a page costs the same however long the log is. Reading it is logged too. Admins only.
    #[allow(clippy::too_many_arguments)]
    async fn access_log(
        &self,
        ctx: &Context<'_>,
        user: Option<String>,
        subject_key: Option<String>,
        bsn: Option<String>,
        trajectory_id: Option<ID>,
        from: Option<DateTime>,
        to: Option<DateTime>,
        #[graphql(default = 100)] first: i32,
        after: Option<String>,
    ) -> async_graphql::Result<AccessLogPage> {
        let subject = match (subject_key, bsn) {
            (None, None) => None,
            (key, bsn) => Some(subject_of(ctx).resolve(key, bsn)?),
        };
        let trajectory = trajectory_id
            .map(|id| super::mutation::trajectory(&id))
            .transpose()?;
        let user = user.map(|u| inputs::user("user", u)).transpose()?;
        let after = after.as_deref().map(cursor).transpose()?;
        let about = About {
            trajectory,
            subject: subject.clone(),
        };
        allow(ctx, Action::ReadAccessLog, about).await?;
        let first = usize::try_from(first.clamp(1, 10_000)).unwrap_or(100);
        let filter = Filter {
            user,
            subject_key: subject,
            trajectory,
            from: from.map(|f| f.0),
            to: to.map(|t| t.0),
        };
        let state = ctx.data_unchecked::<AppState>();
        let (store, index) = (
            std::sync::Arc::clone(&state.store),
            std::sync::Arc::clone(&state.access_index),
        );
        // Catching up first includes every entry durable by now, this inquiry's own too.
        let page = tokio::task::spawn_blocking(move || {
            index.inquire(store.as_ref(), &filter, after, first)
        })
        .await
        .map_err(|e| ApiError::internal("the access log could not be read", &e, request(ctx)))?
        .map_err(|e| ApiError::internal("the access log could not be read", &e, request(ctx)))?;
        Ok(AccessLogPage {
            end_cursor: page.end_cursor().map(Cursor::encode),
            has_next_page: page.has_more,
            entries: page.entries.into_iter().map(AccessLogEntry::from).collect(),
        })
    }
}

/// The `after` of an inquiry: a cursor an earlier page gave.
fn cursor(text: &str) -> ApiResult<Cursor> {
    Cursor::decode(text).map_err(|e| {
        ApiError::invalid("after", e).dutch(
            "deze vervolgcode (after) komt niet van een eerdere pagina van het toegangslog; \
             begin opnieuw bij de eerste pagina",
        )
    })
}

impl From<LoggedAccess> for AccessLogEntry {
    fn from(access: LoggedAccess) -> AccessLogEntry {
        let entry = access.entry;
        AccessLogEntry {
            position: access.position,
            at: access.recorded_at.into(),
            action: entry.action.code().to_owned(),
            outcome: match entry.outcome {
                Outcome::Granted => "granted",
                Outcome::Refused => "refused",
            }
            .to_owned(),
            operation: entry.operation,
            user: entry.user.map(|u| u.to_string()),
            role: entry.role.map(|r| r.code().to_owned()),
            team: entry.team.map(|t| t.to_string()),
            trajectory_id: entry.trajectory.map(|t| ID(t.to_string())),
            subject_key: entry.subject_key.map(|s| s.to_string()),
            client_address: entry.client_address,
            client_application: entry.client_application,
            reason: entry.reason,
        }
    }
}

/// Admin changes.
#[derive(Debug, Default)]
pub struct AdminMutation;

#[Object]
impl AdminMutation {
    /// Adds a team (wijkteam). Admins only.
    async fn add_team(
        &self,
        ctx: &Context<'_>,
        team: String,
        name: String,
    ) -> async_graphql::Result<bool> {
        let team = inputs::team("team", team)?;
        administer(ctx, AdminEvent::TeamAdded { team, name }).await?;
        Ok(true)
    }

    /// Adds a user; consultants and team leads need a team, analysts and admins have none.
    async fn add_user(
        &self,
        ctx: &Context<'_>,
        user: String,
        name: String,
        role: Role,
        team: Option<String>,
    ) -> async_graphql::Result<bool> {
        let event = AdminEvent::UserAdded {
            user: inputs::user("user", user)?,
            name,
            role: role.into(),
            team: team.map(|t| inputs::team("team", t)).transpose()?,
        };
        administer(ctx, event).await?;
        Ok(true)
    }

    /// Deactivates a user: none of their tokens works any more.
    async fn deactivate_user(
        &self,
        ctx: &Context<'_>,
        user: String,
    ) -> async_graphql::Result<bool> {
        let user = inputs::user("user", user)?;
        administer(ctx, AdminEvent::UserDeactivated { user }).await?;
        Ok(true)
    }

    /// Creates an API token for a user; the answer holds the token, shown this once.
    async fn create_token(
        &self,
        ctx: &Context<'_>,
        user: String,
        label: Option<String>,
        #[graphql(default = 90)] expires_in_days: i32,
    ) -> async_graphql::Result<CreatedToken> {
        if !(1..=3650).contains(&expires_in_days) {
            return Err(ApiError::invalid("expiresInDays", "must be between 1 and 3650").into());
        }
        let user = inputs::user("user", user)?;
        let pending = permit(ctx, Action::ManageAccess, About::default()).await?;
        let state = ctx.data_unchecked::<AppState>();
        let by = gate(ctx)?.principal.user().to_string();
        let now = state.clock.now();
        let expires_at = now + chrono::Duration::days(i64::from(expires_in_days));
        let created = create_token(
            &state.store,
            user,
            label,
            Some(expires_at),
            &by,
            &state.clock,
        )
        .await;
        let created = created.map_err(|error| change_error(ctx, error));
        let (minted, outcome) = pending.settle(state, created).await?;
        in_force(ctx, outcome.last_position).await?;
        Ok(CreatedToken {
            token_id: minted.id.to_string(),
            token: minted.secret,
            expires_at: Some(expires_at.into()),
        })
    }

    /// Revokes an API token at once.
    async fn revoke_token(
        &self,
        ctx: &Context<'_>,
        token_id: String,
    ) -> async_graphql::Result<bool> {
        administer(ctx, AdminEvent::TokenRevoked { token: token_id }).await?;
        Ok(true)
    }

    /// Wist een jeugdige (AVG art. 17, where the law allows): destroys the data key that seals
    /// the free text of their events. The events and every figure stay; the text is gone for good
    /// (backups older than this keep it until they expire: docs/security.md).
    async fn erase_subject(
        &self,
        ctx: &Context<'_>,
        subject_key: Option<String>,
        bsn: Option<String>,
    ) -> async_graphql::Result<Erasure> {
        let subject: SubjectKey = subject_of(ctx).resolve(subject_key, bsn)?;
        let about = About {
            trajectory: None,
            subject: Some(subject.clone()),
        };
        let pending = permit(ctx, Action::Erase, about).await?;
        let state = ctx.data_unchecked::<AppState>();
        let key_destroyed = match destroy_key(ctx, &subject).await {
            Ok(destroyed) => destroyed,
            Err(error) => return Err(pending.refused(state, error).await.into()),
        };
        record(
            ctx,
            pending,
            AdminEvent::SubjectErased {
                subject_key: subject.clone(),
            },
        )
        .await?;
        Ok(Erasure {
            subject_key: subject.to_string(),
            key_destroyed,
        })
    }
}

/// Destroys `subject`'s data key in the vault (durably); whether there was one.
async fn destroy_key(ctx: &Context<'_>, subject: &SubjectKey) -> ApiResult<bool> {
    let free_text = ctx.data_unchecked::<AppState>().free_text.clone();
    let key = subject.clone();
    tokio::task::spawn_blocking(move || free_text.erase(&key))
        .await
        .map_err(|e| {
            ApiError::internal("the erasure failed; nothing was erased", &e, request(ctx))
        })?
        .map_err(|e| ApiError::internal("the erasure failed; nothing was erased", &e, request(ctx)))
}

/// Gate (manage access), then record the change.
async fn administer(ctx: &Context<'_>, event: AdminEvent) -> ApiResult<()> {
    let pending = permit(ctx, Action::ManageAccess, About::default()).await?;
    record(ctx, pending, event).await
}

/// Records an admin change, logs its outcome (`pending`: the access the gate granted) and
/// waits until the registry includes it.
async fn record(ctx: &Context<'_>, pending: Pending, event: AdminEvent) -> ApiResult<()> {
    let state = ctx.data_unchecked::<AppState>();
    let by = gate(ctx)?.principal.user().to_string();
    let changed = change(&state.store, event, &by, &state.clock)
        .await
        .map_err(|error| change_error(ctx, error));
    let outcome = pending.settle(state, changed).await?;
    in_force(ctx, outcome.last_position).await
}

/// An admin change's error as the client sees it.
fn change_error(ctx: &Context<'_>, error: AdminChangeError) -> ApiError {
    match error {
        AdminChangeError::Refused(refusal) => {
            ApiError::new(ErrorCode::Validation, refusal.to_string()).dutch(refusal.message_nl())
        }
        AdminChangeError::Conflict => ApiError::new(ErrorCode::Conflict, error.to_string())
            .dutch("het gebruikersregister is intussen gewijzigd; probeer het opnieuw"),
        other => ApiError::internal("the change could not be recorded", &other, request(ctx)),
    }
}

/// Waits until the registry includes the change at `position`.
async fn in_force(ctx: &Context<'_>, position: u64) -> ApiResult<()> {
    if !ctx
        .data_unchecked::<AppState>()
        .wait_applied(position)
        .await
    {
        return Err(ApiError::internal(
            "the change was recorded but is not in force yet; check again in a moment",
            &"the registry did not reach the change's position in time",
            request(ctx),
        ));
    }
    Ok(())
}

fn request(ctx: &Context<'_>) -> Option<uuid::Uuid> {
    ctx.data_opt::<RequestId>().map(|r| r.0)
}
