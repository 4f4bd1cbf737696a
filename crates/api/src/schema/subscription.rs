//! Abonnementen: new events as they commit, over graphql-transport-ws.
//!
//! Events come from the projector's broadcast, sent after the read models applied them, so a
//! client that queries on notification sees the event. A subscriber too slow to keep up gets
//! one error telling it how many events it missed (reload, then carry on); streams end when the
//! server stops.

use std::sync::Arc;

use async_graphql::{Context, Object, Subscription as SubscriptionDerive, ID};
use futures_util::Stream;
use jeugdpad_domain::{TeamCode, TrajectoryId};
use jeugdpad_projections::AsOf;
use tokio::sync::broadcast::error::RecvError;

use super::enums::EventType;
use super::errors::{ApiError, ErrorCode};
use super::inputs;
use super::mutation::trajectory;
use super::scalars::{Date, DateTime};
use super::types::Trajectory;
use crate::projector::Committed;
use crate::state::{read, AppState};

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
    async fn trajectory(&self, ctx: &Context<'_>) -> Option<Trajectory> {
        let state = ctx.data_unchecked::<AppState>();
        let as_of = AsOf::date(state.today().max(self.0.occurred_on));
        Trajectory::load(&read(&state.projections), self.0.trajectory, as_of)
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
        Ok(events(ctx, move |event| event.trajectory == id))
    }

    /// New events of every trajectory a team owns (both teams hear of a transfer).
    async fn team_events(
        &self,
        ctx: &Context<'_>,
        team: String,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<RecordedEventNotice>>> {
        let team: TeamCode = inputs::team("team", team)?;
        Ok(events(ctx, move |event| event.teams.contains(&team)))
    }
}

/// The committed events that pass `keep`, until the server stops.
fn events(
    ctx: &Context<'_>,
    keep: impl Fn(&Committed) -> bool + Send + Sync + 'static,
) -> impl Stream<Item = async_graphql::Result<RecordedEventNotice>> {
    let state = ctx.data_unchecked::<AppState>();
    let receiver = state.committed.subscribe();
    let stopping = state.stopping.clone();
    futures_util::stream::unfold(
        (receiver, stopping, keep),
        |(mut receiver, mut stopping, keep)| async move {
            loop {
                let next = tokio::select! {
                    next = receiver.recv() => next,
                    _ = stopping.wait_for(|stop| *stop) => return None,
                };
                let item = match next {
                    Ok(event) if keep(&event) => Ok(RecordedEventNotice(event)),
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
                return Some((item, (receiver, stopping, keep)));
            }
        },
    )
}
