//! De poort: where every resolver asks the one policy ([`jeugdpad_access::permits`]) and where
//! the access log (NEN 7513) is written.
//!
//! A resolver names what it is about to do as an [`Action`] and calls [`allow`] before it
//! touches any data. A refusal is logged and answered with `FORBIDDEN`; an access to a youth's
//! file (a trajectory read, a list of trajectories, a step recorded, an export, an erasure, the
//! access log itself) is logged *before* the data is returned — if the log cannot be written,
//! the answer is not given. Aggregated figures, code lists and the list of teams are not logged:
//! they name nobody.
//!
//! A change (a step, an admin change, an erasure) that the policy allows can still be refused by
//! what follows: a rule of the trajectory, a conflict, a registry check. The log must say what
//! happened, not what was attempted, so such a resolver calls [`permit`] instead, does the work,
//! and hands the work's result to [`Pending::settle`], which writes the entry as granted (the
//! change is stored) or refused with the error's reason slug, before the answer leaves.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use async_graphql::Context;
use chrono::NaiveDate;
use jeugdpad_access::{permits, AccessAction, AccessEntry, Action, Principal};
use jeugdpad_domain::{SubjectKey, TeamCode, TrajectoryId};
use jeugdpad_projections::AsOf;
use uuid::Uuid;

use crate::auth::rate_key;
use crate::schema::{ApiError, ApiResult, Attempt, ErrorCode, RequestId};
use crate::state::{read, AppState};

/// The access point of a request, for the access log: where it came from and with which
/// application. The web app passes the one of each page request.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    /// The peer's network address.
    pub(crate) address: Option<String>,
    /// The `User-Agent`, shortened.
    pub(crate) application: Option<String>,
}

impl ClientInfo {
    /// The access point of an HTTP request: the peer address (when the server was started with
    /// connect info, as `serve` does) and the `User-Agent`, cut to 120 characters.
    pub fn of(parts: &axum::http::request::Parts) -> ClientInfo {
        ClientInfo {
            address: parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|axum::extract::ConnectInfo(addr)| addr.ip().to_string()),
            application: parts
                .headers
                .get(axum::http::header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(|agent| agent.chars().take(120).collect()),
        }
    }

    /// Fills in `entry`'s access point.
    pub(crate) fn stamp(&self, mut entry: AccessEntry) -> AccessEntry {
        entry.client_address.clone_from(&self.address);
        entry.client_application.clone_from(&self.application);
        entry
    }
}

/// The signed-in caller of one request.
#[derive(Debug, Clone)]
pub(crate) struct Gate {
    pub(crate) principal: Principal,
    pub(crate) client: ClientInfo,
    /// When an identity-provider token stops holding (long-lived websockets check it).
    pub(crate) expires_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The browser session the caller acts in, if any: a live subscription ends once it is
    /// signed out or expired.
    pub(crate) session: Option<crate::session::Key>,
    /// How many access-log entries this request (or websocket connection) has written.
    pub(crate) logged: LoggedAccesses,
}

/// The access-log entries one request has caused, shared by every resolver of that request.
///
/// The rate limit counts requests, but one request can name a trajectory many times (aliases,
/// a subscription's deliveries): so every entry after a request's first is counted against the
/// caller's rate limit too, and one token can add no more entries a minute than its allowance.
/// The first is paid for by the request itself, so ordinary use costs nothing extra.
#[derive(Debug, Clone, Default)]
pub(crate) struct LoggedAccesses(Arc<AtomicU32>);

impl LoggedAccesses {
    /// Counts one more entry; whether it is one after the first.
    fn another(&self) -> bool {
        self.0.fetch_add(1, Ordering::Relaxed) > 0
    }
}

/// What an access concerns, for the log.
#[derive(Debug, Clone, Default)]
pub(crate) struct About {
    pub(crate) trajectory: Option<TrajectoryId>,
    pub(crate) subject: Option<SubjectKey>,
}

impl About {
    /// One trajectory of one youth.
    pub(crate) fn trajectory(id: TrajectoryId, subject: Option<SubjectKey>) -> About {
        About {
            trajectory: Some(id),
            subject,
        }
    }
}

/// The caller of this request; `UNAUTHENTICATED` when the schema runs without one.
pub(crate) fn gate<'a>(ctx: &Context<'a>) -> ApiResult<&'a Gate> {
    ctx.data_opt::<Gate>()
        .ok_or_else(|| ApiError::new(ErrorCode::Unauthenticated, "sign in first"))
}

/// Asks the policy whether the caller may do `action`; logs what the access log must hold.
pub(crate) async fn allow(ctx: &Context<'_>, action: Action, about: About) -> ApiResult<()> {
    let state = ctx.data_unchecked::<AppState>();
    permit(ctx, action, about)
        .await?
        .settle(state, Ok(()))
        .await
}

/// Asks the policy whether the caller may do `action`, which changes something: a refusal is
/// logged and answered at once; a grant answers the entry still to be written, by
/// [`Pending::settle`] once the change is stored or refused.
pub(crate) async fn permit(ctx: &Context<'_>, action: Action, about: About) -> ApiResult<Pending> {
    let gate = gate(ctx)?;
    let operation = ctx.field().name();
    let state = ctx.data_unchecked::<AppState>();
    let request = ctx.data_opt::<RequestId>().map(|r| r.0);
    policy(state, gate, operation, action, about, request).await
}

/// [`allow`] for what is not a resolver: the web app's file downloads (`session.rs`), which go
/// through this same policy and log.
pub(crate) async fn check(
    state: &AppState,
    gate: &Gate,
    operation: &str,
    action: Action,
    about: About,
    request: Option<Uuid>,
) -> ApiResult<()> {
    policy(state, gate, operation, action, about, request)
        .await?
        .settle(state, Ok(()))
        .await
}

/// The policy's answer: a refusal logged and turned into `FORBIDDEN`, or the grant's entry
/// (none for what is not logged) waiting for the outcome.
async fn policy(
    state: &AppState,
    gate: &Gate,
    operation: &str,
    action: Action,
    about: About,
    request: Option<Uuid>,
) -> ApiResult<Pending> {
    let logged = logged_as(&action);
    let permitted = permits(&gate.principal, &action);
    // Every refusal is logged, a grant when its action is.
    if logged.is_some() || permitted.is_err() {
        charge(state, gate)?;
    }
    let entry = |kind: AccessAction| {
        let mut entry = AccessEntry::by(Some(&gate.principal), kind, operation);
        entry.trajectory = about.trajectory;
        entry.subject_key.clone_from(&about.subject);
        gate.client.stamp(entry)
    };
    match permitted {
        Ok(()) => Ok(Pending {
            entry: logged.map(entry),
            request,
        }),
        Err(refusal) => {
            let kind = logged.unwrap_or(AccessAction::Read);
            log_access(state, entry(kind).refused(refusal.reason()), request).await?;
            Err(ApiError::new(ErrorCode::Forbidden, refusal.to_string())
                .dutch(refusal.message_nl()))
        }
    }
}

/// Counts an access about to be logged against the caller's rate limit (all but the request's
/// first, [`LoggedAccesses`]): over it, `RATE_LIMITED` and nothing is done or logged.
fn charge(state: &AppState, gate: &Gate) -> ApiResult<()> {
    if !gate.logged.another() {
        return Ok(());
    }
    let Err(wait) = state.auth.check_rate(&rate_key(&gate.principal)) else {
        return Ok(());
    };
    state.metrics.rate_limited("logged_accesses");
    let seconds = wait.as_secs().max(1);
    Err(ApiError::new(
        ErrorCode::RateLimited,
        format!(
            "this request reads or changes more files than this token's rate limit allows; \
             wait {seconds} seconds and ask for fewer at a time"
        ),
    )
    .dutch(format!(
        "dit verzoek leest of wijzigt meer dossiers dan de limiet van dit token toestaat; \
         wacht {seconds} seconden en vraag er minder tegelijk op"
    )))
}

/// A granted access whose entry is written once its outcome is known.
#[must_use = "a granted access must be settled, or it is never logged"]
pub(crate) struct Pending {
    entry: Option<AccessEntry>,
    request: Option<Uuid>,
}

impl Pending {
    /// Writes the entry with the outcome of `result` — granted when it is `Ok`, refused with
    /// the error's reason slug ([`ApiError::log_reason`]) otherwise — durably, then answers
    /// `result`. If the entry cannot be written the answer is withheld: a change that was stored
    /// says so (`INTERNAL`), so that nobody repeats it blindly; an access that changed nothing
    /// answers why the log could not be written (`STORAGE_FULL` on a full disk, …).
    pub(crate) async fn settle<T>(self, state: &AppState, result: ApiResult<T>) -> ApiResult<T> {
        match result {
            Ok(value) => self.granted(state).await.map(|()| value),
            Err(error) => Err(self.refused(state, error).await),
        }
    }

    /// Logs the access as granted: what was asked is done.
    async fn granted(self, state: &AppState) -> ApiResult<()> {
        let Some(entry) = self.entry else {
            return Ok(());
        };
        let changed = matches!(
            entry.action,
            AccessAction::Record | AccessAction::Erase | AccessAction::Administer
        );
        log_access(state, entry, self.request)
            .await
            .map_err(|error| {
                if error.is_storage() && !changed {
                    // Nothing was changed and nothing is shown: the store's own answer is the truth.
                    return error;
                }
                ApiError::internal(
                    "the change was made, but the access log could not be written, so its answer \
                 is withheld; reload before trying again (sending the same eventId again never \
                 records a step twice)",
                    &"the access-log entry of a granted access could not be written",
                    self.request,
                )
            })
    }

    /// Logs the access as refused for `error`'s reason and answers `error` (or the log's own
    /// failure, when the entry cannot be written).
    pub(crate) async fn refused(self, state: &AppState, error: ApiError) -> ApiError {
        let Some(entry) = self.entry else {
            return error;
        };
        let entry = entry.refused(&error.log_reason());
        match log_access(state, entry, self.request).await {
            Ok(()) => error,
            // The change itself failed on the store's full disk (or stopped writer), and so did
            // its entry: the answer about the change says more.
            Err(_) if error.is_storage() => error,
            Err(log_error) => log_error,
        }
    }
}

/// Which access-log action a granted `action` is written as (`None`: not logged).
fn logged_as(action: &Action) -> Option<AccessAction> {
    match action {
        Action::ReadTrajectory { .. } => Some(AccessAction::Read),
        Action::ListTrajectories { .. } => Some(AccessAction::List),
        Action::Record { .. } | Action::Transfer { .. } => Some(AccessAction::Record),
        Action::Export => Some(AccessAction::Export),
        Action::Erase => Some(AccessAction::Erase),
        Action::ManageAccess => Some(AccessAction::Administer),
        Action::ReadAccessLog => Some(AccessAction::ReadAccessLog),
        Action::Figures { .. } | Action::ReadTeams | Action::Reference => None,
    }
}

/// Appends one entry to the access log; durable on return.
pub(crate) async fn log_access(
    state: &AppState,
    entry: AccessEntry,
    request: Option<Uuid>,
) -> ApiResult<()> {
    let appended =
        jeugdpad_app::access_log::append(state.store.as_ref(), &entry, &state.clock, request).await;
    if appended.is_ok() {
        // The inquiry's index follows the log: tell it there is more (it never blocks).
        state.access_follower.nudge();
    }
    appended.map_err(|error| {
        ApiError::from_store(&error, Attempt::Access).unwrap_or_else(|| {
            ApiError::internal(
                "the access log could not be written, so nothing was shown or changed; please try again",
                &error,
                request,
            )
        })
    })
}

/// Writes a failed sign-in (`reason`: the auth failure's slug) from `client` to the access log.
/// The caller is refused either way, so a log that cannot be written is reported, not fatal.
pub(crate) async fn log_failed_sign_in(
    state: &AppState,
    client: &ClientInfo,
    operation: &str,
    reason: &str,
    request: Option<Uuid>,
) {
    let entry =
        client.stamp(AccessEntry::by(None, AccessAction::FailedSignIn, operation).refused(reason));
    if let Err(error) = log_access(state, entry, request).await {
        tracing::error!(error = %error.message(), "a failed sign-in could not be written to the access log");
    }
}

/// The team that owns trajectory `id` today and its youth's pseudonym; `None` if unknown.
pub(crate) fn owner_of(state: &AppState, id: TrajectoryId) -> Option<(TeamCode, SubjectKey)> {
    let today: NaiveDate = state.today();
    read(&state.projections)
        .summary(id, AsOf::date(today))
        .map(|summary| (summary.team, summary.subject_key))
}

/// `allow` for reading one existing trajectory: `NOT_FOUND` when unknown, otherwise the policy
/// with the team that owns it now.
pub(crate) async fn allow_trajectory(ctx: &Context<'_>, id: TrajectoryId) -> ApiResult<SubjectKey> {
    let state = ctx.data_unchecked::<AppState>();
    let (subject, pending) =
        permit_trajectory(ctx, id, |owner| Action::ReadTrajectory { owner }).await?;
    pending.settle(state, Ok(subject)).await
}

/// [`permit`] for a change to one existing trajectory — `action` made from the team that owns
/// it now: [`Action::Record`], or [`Action::Transfer`] (which its team lead may too) —
/// `NOT_FOUND` when unknown.
pub(crate) async fn permit_trajectory(
    ctx: &Context<'_>,
    id: TrajectoryId,
    action: impl FnOnce(TeamCode) -> Action,
) -> ApiResult<(SubjectKey, Pending)> {
    let state = ctx.data_unchecked::<AppState>();
    let Some((owner, subject)) = owner_of(state, id) else {
        gate(ctx)?;
        return Err(ApiError::not_found("there is no trajectory with this id")
            .dutch("er is geen traject met dit id"));
    };
    let about = About::trajectory(id, Some(subject.clone()));
    let pending = permit(ctx, action(owner), about).await?;
    Ok((subject, pending))
}
