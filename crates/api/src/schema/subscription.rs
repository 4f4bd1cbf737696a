//! Abonnementen: new events as they commit, over graphql-transport-ws.
//!
//! Events come from the projector's broadcast, sent after the read models applied them, so a
//! client that queries on notification sees the event. A subscriber too slow to keep up gets
//! one error telling it how many events it missed (reload, then carry on); streams end when the
//! server stops.

use std::sync::Arc;

use async_graphql::{Context, Object, Subscription as SubscriptionDerive, ID};
use futures_util::Stream;
use jeugdpad_access::{permits, AccessAction, AccessEntry, Action, Refusal};
use jeugdpad_domain::{TeamCode, TrajectoryId};
use jeugdpad_projections::AsOf;
use tokio::sync::broadcast::error::RecvError;

use super::enums::EventType;
use super::errors::{ApiError, ErrorCode};
use super::inputs;
use super::mutation::trajectory;
use super::scalars::{Date, DateTime};
use super::types::Trajectory;
use crate::gate::{allow, allow_trajectory, gate, log_access, owner_of, About, Gate};
use crate::projector::Committed;
use crate::schema::RequestId;
use crate::state::AppState;

/// An event that was just recorded (and is already in the read models).
#[derive(Debug, Clone)]
pub(crate) struct RecordedEventNotice(Arc<Committed>);

/// An event that was just recorded (and is already visible to queries).
#[Object(name = "RecordedEvent")]
impl RecordedEventNotice {
    /// Global position.
    async fn position(&self) -> u64 {
        self.0.position
    }
    /// The trajectory.
    async fn trajectory_id(&self) -> ID {
        ID(self.0.trajectory.to_string())
    }
    /// Stream version after this event.
    async fn version(&self) -> u64 {
        self.0.version
    }
    /// The event id.
    async fn event_id(&self) -> ID {
        ID(self.0.event_id.to_string())
    }
    /// The event type.
    async fn r#type(&self) -> Option<EventType> {
        jeugdpad_domain::EventType::from_code(&self.0.event_type)
            .ok()
            .map(Into::into)
    }
    /// The day it happened.
    async fn occurred_on(&self) -> Date {
        self.0.occurred_on.into()
    }
    /// When the store accepted it.
    async fn recorded_at(&self) -> DateTime {
        self.0.recorded_at.into()
    }
    /// The teams that hear of it: the owning team, and for a transfer both teams.
    async fn teams(&self) -> Vec<String> {
        self.0.teams.iter().map(ToString::to_string).collect()
    }
    /// The trajectory as it stands now.
    async fn trajectory(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Trajectory>> {
        allow_trajectory(ctx, self.0.trajectory).await?;
        let state = ctx.data_unchecked::<AppState>();
        let as_of = AsOf::date(state.today().max(self.0.occurred_on));
        let request = ctx.data_opt::<RequestId>().map(|r| r.0);
        Ok(Trajectory::fetch(state, self.0.trajectory, as_of, request).await?)
    }
}

/// Every subscription.
#[derive(Debug, Default)]
pub struct Subscription;

/// New events as they are recorded (graphql-transport-ws at /graphql/ws).
#[SubscriptionDerive]
impl Subscription {
    /// New events of one trajectory.
    async fn trajectory_events(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<RecordedEventNotice>>> {
        let id: TrajectoryId = trajectory(&id)?;
        allow_trajectory(ctx, id).await?;
        events(ctx, Some(id), move |event| event.trajectory == id)
    }

    /// New events of every trajectory a team owns (both teams hear of a transfer).
    async fn team_events(
        &self,
        ctx: &Context<'_>,
        team: String,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<RecordedEventNotice>>> {
        let team: TeamCode = inputs::team("team", team)?;
        allow(
            ctx,
            Action::ListTrajectories {
                team: Some(team.clone()),
            },
            About::default(),
        )
        .await?;
        events(ctx, None, move |event| event.teams.contains(&team))
    }
}

/// The committed events that pass `keep`, until the server stops — or until the caller may no
/// longer have them: before each delivery the caller's sign-in is checked again (a revoked or
/// expired token, a deactivated user) and, for one trajectory, whether its team still is the
/// caller's (a transfer hands it over). Then the subscription answers once with
/// `UNAUTHENTICATED` / `FORBIDDEN`, writes the refusal to the access log, and ends.
fn events(
    ctx: &Context<'_>,
    trajectory: Option<TrajectoryId>,
    keep: impl Fn(&Committed) -> bool + Send + Sync + 'static,
) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<RecordedEventNotice>>> {
    let state = ctx.data_unchecked::<AppState>().clone();
    let gate = gate(ctx)?.clone();
    let operation = ctx.field().name().to_owned();
    let receiver = state.committed.subscribe();
    let stopping = state.stopping.clone();
    let watch = Watch {
        _running: state.metrics.subscription_started(&operation),
        state,
        gate,
        trajectory,
        operation,
    };
    Ok(futures_util::stream::unfold(
        (receiver, stopping, keep, Some(watch)),
        |(mut receiver, mut stopping, keep, watch)| async move {
            // `None`: a refusal was delivered; the subscription is over.
            let watch = watch?;
            loop {
                let next = tokio::select! {
                    next = receiver.recv() => next,
                    _ = stopping.wait_for(|stop| *stop) => return None,
                };
                let item = match next {
                    Ok(event) if keep(&event) => match watch.still_allowed(&event).await {
                        Ok(()) => Ok(RecordedEventNotice(event)),
                        Err(refusal) => {
                            return Some((Err(refusal.into()), (receiver, stopping, keep, None)))
                        }
                    },
                    Ok(_) => continue,
                    Err(RecvError::Lagged(missed)) => Err(ApiError::new(
                        ErrorCode::Internal,
                        format!(
                            "this subscription fell behind and missed {missed} events; \
                             reload what you are showing (the subscription goes on)"
                        ),
                    )
                    .into()),
                    Err(RecvError::Closed) => return None,
                };
                return Some((item, (receiver, stopping, keep, Some(watch))));
            }
        },
    ))
}

/// What a running subscription re-checks before each delivery.
struct Watch {
    /// Counts this subscription in `jeugdpad_subscriptions_active` while it runs: the watch is
    /// dropped when the stream ends, the client completes it, or the socket goes away.
    _running: crate::metrics::Active,
    state: AppState,
    gate: Gate,
    trajectory: Option<TrajectoryId>,
    operation: String,
}

impl Watch {
    /// `event.teams` are the owning team before and after the event: the handing-over team
    /// still hears of its own transfer, and of nothing after it.
    async fn still_allowed(&self, event: &Committed) -> Result<(), ApiError> {
        let principal = &self.gate.principal;
        let now = self.state.clock.now();
        let signed_in = match self.gate.session {
            Some(key) if !self.state.sessions.is_live(&key) => {
                Err(crate::auth::AuthFailure::SessionEnded)
            }
            _ => self
                .state
                .auth
                .still_signed_in(principal, self.gate.expires_at, now),
        };
        let (entry, error) = match (signed_in, self.trajectory) {
            (Err(failure), _) => {
                self.state
                    .metrics
                    .sign_in_failed("subscription", &failure.reason());
                (
                    AccessEntry::by(Some(principal), AccessAction::FailedSignIn, &self.operation)
                        .refused(&failure.reason()),
                    ApiError::new(
                        ErrorCode::Unauthenticated,
                        format!("{}; this subscription ends", failure.message()),
                    ),
                )
            }
            (Ok(()), Some(id)) => {
                let verdicts: Vec<Result<(), Refusal>> = event
                    .teams
                    .iter()
                    .map(|team| {
                        permits(
                            principal,
                            &Action::ReadTrajectory {
                                owner: team.clone(),
                            },
                        )
                    })
                    .collect();
                if verdicts.iter().any(Result::is_ok) {
                    return Ok(());
                }
                let Some(refused) = verdicts.into_iter().find_map(Result::err) else {
                    return Ok(());
                };
                let mut entry =
                    AccessEntry::by(Some(principal), AccessAction::Read, &self.operation)
                        .refused(refused.reason());
                entry.trajectory = Some(id);
                entry.subject_key = owner_of(&self.state, id).map(|(_, subject)| subject);
                let error = ApiError::new(
                    ErrorCode::Forbidden,
                    format!("{refused}; this subscription ends"),
                );
                (entry, error)
            }
            (Ok(()), None) => return Ok(()),
        };
        let mut entry = entry;
        entry.client_address.clone_from(&self.gate.client.address);
        entry
            .client_application
            .clone_from(&self.gate.client.application);
        log_access(&self.state, entry, None).await?;
        Err(error)
    }
}
