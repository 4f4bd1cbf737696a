//! Shared helpers for the integration tests and examples: a compact way to write a case as a
//! story of commands, with synthetic data only.

use chrono::NaiveDate;
use jeugdpad_domain::{
    AssessmentConclusion, CloseReason, Command, Concern, DecisionFunding, DecisionIssued,
    EpisodeId, HelpForm, HelpResult, HelpStarted, SignalReceived, Source, SubjectKey, TeamCode,
    Urgency, UserId,
};

/// A date written as it reads, `date("2026-01-05")`: the one date helper of the tests.
pub fn date(iso: &str) -> NaiveDate {
    iso.parse()
        .unwrap_or_else(|_| panic!("{iso:?} is not a date (YYYY-MM-DD)"))
}

pub fn open(on: &str, subject: &str, team: &str) -> Command {
    Command::OpenFromSignal {
        occurred_on: date(on),
        signal: SignalReceived {
            subject_key: SubjectKey::parse(subject).expect("a synthetic subject key"),
            team: TeamCode::parse(team).expect("a team code"),
            source: Source::School,
            concerns: vec![Concern::Parenting, Concern::SchoolAttendance],
            urgency: Urgency::Regular,
            birth_year: Some(2014),
        },
    }
}

pub fn assign(on: &str, consultant: &str) -> Command {
    Command::AssignConsultant {
        occurred_on: date(on),
        consultant: UserId::parse(consultant).expect("a user id"),
    }
}

pub fn assess(on: &str, conclusion: AssessmentConclusion) -> Command {
    Command::CompleteAssessment {
        occurred_on: date(on),
        conclusion,
    }
}

pub fn request(on: &str, form: HelpForm) -> Command {
    Command::RequestHelp {
        occurred_on: date(on),
        form,
    }
}

pub fn grant(on: &str, form: HelpForm) -> Command {
    Command::IssueDecision {
        occurred_on: date(on),
        decision: DecisionIssued {
            granted: true,
            form,
            product_category: None,
            provider: None,
            valid_from: date(on),
            valid_until: None,
            funding: DecisionFunding::InKind,
            foster: None,
        },
    }
}

pub fn start(on: &str, episode: &str, form: HelpForm) -> Command {
    Command::StartHelp {
        occurred_on: date(on),
        help: HelpStarted {
            episode_id: EpisodeId::parse(episode).expect("an episode id"),
            form,
            provider: None,
            foster: None,
        },
    }
}

pub fn end(on: &str, episode: &str, result: HelpResult) -> Command {
    Command::EndHelp {
        occurred_on: date(on),
        episode_id: EpisodeId::parse(episode).expect("an episode id"),
        result,
    }
}

pub fn close(on: &str, reason: CloseReason) -> Command {
    Command::Close {
        occurred_on: date(on),
        reason,
    }
}

/// A real server for the integration tests: its address, its state, and the means to stop it.
pub mod server {
    use std::net::SocketAddr;
    use std::path::Path;

    use jeugdpad_api::{serve, AppState, Options, StartError};
    use jeugdpad_app::Clock;
    use tokio::sync::oneshot;
    use tokio::task::JoinHandle;

    /// A server started by [`start`]: where it listens and the state it serves.
    #[derive(Debug)]
    pub struct TestServer {
        /// Where it listens (127.0.0.1, a free port).
        pub addr: SocketAddr,
        /// The state it serves (to read projections or the store in assertions).
        pub state: AppState,
        stop: Option<oneshot::Sender<()>>,
        task: Option<JoinHandle<Result<(), std::io::Error>>>,
    }

    impl TestServer {
        /// `http://127.0.0.1:PORT/graphql`.
        pub fn graphql_url(&self) -> String {
            format!("http://{}/graphql", self.addr)
        }

        /// Stops the server gracefully (in-flight requests finish, the store is closed) and
        /// waits.
        pub async fn shutdown(self) -> Result<(), std::io::Error> {
            let TestServer {
                state, stop, task, ..
            } = self;
            // Our clone of the state holds the store too: let go of it so the server can close it.
            drop(state);
            if let Some(stop) = stop {
                let _ = stop.send(());
            }
            match task {
                Some(task) => task.await.map_err(std::io::Error::other)?,
                None => Ok(()),
            }
        }
    }

    /// Opens a store in `dir`, starts the server on 127.0.0.1 with a free port and `clock`, and
    /// returns once it accepts connections.
    pub async fn start(dir: &Path, clock: Clock) -> Result<TestServer, StartError> {
        start_with(
            dir,
            Options {
                clock,
                ..Options::default()
            },
        )
        .await
    }

    /// [`start`] with every option given (identity provider, rate limit, …).
    pub async fn start_with(dir: &Path, options: Options) -> Result<TestServer, StartError> {
        start_on(jeugdpad_store::Store::open(dir)?, options).await
    }

    /// [`start_with`] on a store opened by the caller (a PostgreSQL schema several servers
    /// share, for instance).
    pub async fn start_on(
        store: jeugdpad_store::Store,
        options: Options,
    ) -> Result<TestServer, StartError> {
        let state = AppState::start(store, options).await?;
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(StartError::Listen)?;
        let addr = listener.local_addr().map_err(StartError::Listen)?;
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(serve(listener, state.clone(), async move {
            let _ = stopped.await;
        }));
        Ok(TestServer {
            addr,
            state,
            stop: Some(stop),
            task: Some(task),
        })
    }
}
