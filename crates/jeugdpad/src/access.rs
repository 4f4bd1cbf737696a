//! `jeugdpad team|user|token`: the registry of who may sign in, from the command line. With the
//! server stopped, in the data directory, with the same checks and the same `admin` stream as the
//! API's admin mutations (`jeugdpad_app::admin`); while it runs, through its admin API
//! (`--server`, [`crate::remote`]). Both print the same lines and the same refusals.

use std::error::Error;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use jeugdpad_access::{AccessAction, AccessEntry, AdminEvent, Credential, Role};
use jeugdpad_app::admin::{change, create_token, load_registry};
use jeugdpad_app::Clock;
use jeugdpad_domain::{TeamCode, UserId};
use jeugdpad_store::Store;

use crate::cli::{
    AdminTarget, TeamArgs, TeamCommand, TokenArgs, TokenCommand, UserArgs, UserCommand,
};
use crate::remote::AdminApi;
use crate::store::{Location, Missing};

/// `recorded_by` of changes made at the machine.
const LOCAL: &str = "local";

/// One team as `team list` prints it.
#[derive(Debug)]
pub struct TeamRow {
    pub code: String,
    pub name: String,
}

/// One user as `user list` prints it.
#[derive(Debug)]
pub struct UserRow {
    pub id: String,
    pub name: String,
    pub role: Role,
    pub team: Option<String>,
    pub active: bool,
}

/// One token as `token list` prints it: never the token.
#[derive(Debug)]
pub struct TokenRow {
    pub id: String,
    pub user: String,
    pub label: Option<String>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked: bool,
}

/// A token just created: the only time its text exists outside the caller's hands.
#[derive(Debug)]
pub struct CreatedToken {
    pub id: String,
    pub secret: String,
    pub expires_at: Option<DateTime<Utc>>,
}

/// Where the registry is changed and read: the data directory, or a running server.
#[derive(Debug)]
enum Registry {
    Store(Arc<Store>),
    Server(AdminApi),
}

impl Registry {
    async fn change(&self, event: AdminEvent) -> Result<(), Box<dyn Error>> {
        match self {
            Registry::Store(store) => {
                change(store, event, LOCAL, &Clock::system()).await?;
            }
            Registry::Server(api) => api.change(&event).await?,
        }
        Ok(())
    }

    async fn create_token(
        &self,
        user: UserId,
        label: Option<String>,
        expires_in_days: u32,
    ) -> Result<CreatedToken, Box<dyn Error>> {
        match self {
            Registry::Store(store) => {
                let clock = Clock::system();
                let expires_at = clock.now() + chrono::Duration::days(i64::from(expires_in_days));
                let (minted, _) =
                    create_token(store, user, label, Some(expires_at), LOCAL, &clock).await?;
                Ok(CreatedToken {
                    id: minted.id.to_string(),
                    secret: minted.secret,
                    expires_at: Some(expires_at),
                })
            }
            Registry::Server(api) => Ok(api
                .create_token(&user, label.as_deref(), expires_in_days)
                .await?),
        }
    }

    async fn teams(&self) -> Result<Vec<TeamRow>, Box<dyn Error>> {
        match self {
            Registry::Store(store) => Ok(load_registry(store.as_ref(), u64::MAX)?
                .teams()
                .iter()
                .map(|(code, team)| TeamRow {
                    code: code.to_string(),
                    name: team.name.clone(),
                })
                .collect()),
            Registry::Server(api) => Ok(api.teams().await?),
        }
    }

    async fn users(&self) -> Result<Vec<UserRow>, Box<dyn Error>> {
        match self {
            Registry::Store(store) => Ok(load_registry(store.as_ref(), u64::MAX)?
                .users()
                .iter()
                .map(|(id, user)| UserRow {
                    id: id.to_string(),
                    name: user.name.clone(),
                    role: user.role,
                    team: user.team.as_ref().map(ToString::to_string),
                    active: user.active,
                })
                .collect()),
            Registry::Server(api) => Ok(api.users().await?),
        }
    }

    async fn tokens(&self) -> Result<Vec<TokenRow>, Box<dyn Error>> {
        match self {
            Registry::Store(store) => Ok(load_registry(store.as_ref(), u64::MAX)?
                .tokens()
                .iter()
                .map(|(id, token)| TokenRow {
                    id: id.clone(),
                    user: token.user.to_string(),
                    label: token.label.clone(),
                    expires_at: token.expires_at,
                    revoked: token.revoked,
                })
                .collect()),
            Registry::Server(api) => Ok(api.tokens().await?),
        }
    }

    /// What to add to a suggested follow-up command so that it goes where this one went.
    fn same_place(&self) -> String {
        match self {
            Registry::Store(_) => String::new(),
            Registry::Server(api) => format!(" --server {}", shell_quote(api.server())),
        }
    }
}

pub fn team(at: &Location, args: &TeamArgs) -> Result<ExitCode, Box<dyn Error>> {
    let missing = match args.command {
        TeamCommand::Add { .. } => Missing::Create,
        TeamCommand::List => Missing::Refuse,
    };
    with_registry(at, &args.target, missing, |registry| async move {
        match &args.command {
            TeamCommand::Add { code, name } => {
                let team = TeamCode::parse(code.as_str())?;
                let event = AdminEvent::TeamAdded {
                    team,
                    name: name.clone(),
                };
                registry.change(event).await?;
                println!("team '{code}' added");
            }
            TeamCommand::List => {
                for team in registry.teams().await? {
                    println!("{}\t{}", team.code, team.name);
                }
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}

pub fn user(at: &Location, args: &UserArgs) -> Result<ExitCode, Box<dyn Error>> {
    let missing = match args.command {
        UserCommand::Add { .. } => Missing::Create,
        UserCommand::Deactivate { .. } | UserCommand::List => Missing::Refuse,
    };
    with_registry(at, &args.target, missing, |registry| async move {
        match &args.command {
            UserCommand::Add {
                id,
                name,
                role,
                team,
            } => {
                let event = AdminEvent::UserAdded {
                    user: UserId::parse(id.as_str())?,
                    name: name.clone(),
                    role: role.parse::<Role>()?,
                    team: team.as_deref().map(TeamCode::parse).transpose()?,
                };
                registry.change(event).await?;
                println!(
                    "user '{id}' added; give them a token with: jeugdpad token create --user {id}{}",
                    registry.same_place()
                );
            }
            UserCommand::Deactivate { id } => {
                let event = AdminEvent::UserDeactivated {
                    user: UserId::parse(id.as_str())?,
                };
                registry.change(event).await?;
                println!("user '{id}' deactivated: none of their tokens works any more");
            }
            UserCommand::List => {
                for user in registry.users().await? {
                    let team = user.team.as_deref().unwrap_or("-");
                    let state = if user.active { "active" } else { "deactivated" };
                    println!("{}\t{}\t{team}\t{state}\t{}", user.id, user.role, user.name);
                }
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}

pub fn token(at: &Location, args: &TokenArgs) -> Result<ExitCode, Box<dyn Error>> {
    // A token is for a user, so there is a store already.
    with_registry(at, &args.target, Missing::Refuse, |registry| async move {
        match &args.command {
            TokenCommand::Create {
                user,
                label,
                expires_in_days,
                quiet,
            } => {
                if !(1..=3650).contains(expires_in_days) {
                    return Err("--expires-in-days must be between 1 and 3650".into());
                }
                let user_id = UserId::parse(user.as_str())?;
                let created = registry
                    .create_token(user_id, label.clone(), *expires_in_days)
                    .await?;
                if *quiet {
                    println!("{}", created.secret);
                } else {
                    let until = created.expires_at.map_or("never".to_owned(), |at| {
                        at.format("%Y-%m-%d %H:%M UTC").to_string()
                    });
                    println!(
                        "token for '{user}' (id {}, valid until {until}):",
                        created.id
                    );
                    println!();
                    println!("    {}", created.secret);
                    println!();
                    println!(
                        "This is the only time it is shown: only its hash is stored. Send it as"
                    );
                    println!(
                        "'Authorization: Bearer <token>'. Revoke it with: jeugdpad token revoke {}{}",
                        created.id,
                        registry.same_place()
                    );
                }
            }
            TokenCommand::Revoke { id } => {
                let event = AdminEvent::TokenRevoked { token: id.clone() };
                registry.change(event).await?;
                println!("token {id} revoked");
            }
            TokenCommand::List => {
                for token in registry.tokens().await? {
                    let expires = token
                        .expires_at
                        .map_or("never".to_owned(), |at| at.format("%Y-%m-%d").to_string());
                    let state = if token.revoked { "revoked" } else { "active" };
                    println!(
                        "{}\t{}\t{expires}\t{state}\t{}",
                        token.id,
                        token.user,
                        token.label.as_deref().unwrap_or("")
                    );
                }
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// Runs `work` on the registry `target` names: through the server's admin API with `--server`,
/// otherwise in the store (refusing, with the `--server` command to use instead, while a server
/// holds it; a directory without one is created only with `Missing::Create`), which is closed
/// afterwards.
fn with_registry<F, Fut>(
    at: &Location,
    target: &AdminTarget,
    missing: Missing,
    work: F,
) -> Result<ExitCode, Box<dyn Error>>
where
    F: FnOnce(Registry) -> Fut,
    Fut: std::future::Future<Output = Result<ExitCode, Box<dyn Error>>>,
{
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        if let Some(server) = &target.server {
            let api = AdminApi::new(server, target.token_file.as_deref())?;
            return work(Registry::Server(api)).await;
        }
        let store = Arc::new(crate::store::open(at, missing, &while_running(&at.data))?);
        let result = work(Registry::Store(Arc::clone(&store))).await;
        if let Ok(store) = Arc::try_unwrap(store) {
            store.close()?;
        }
        result
    })
}

/// What an admin can do while the server holds the store: this very command with `--server`.
fn while_running(data: &Path) -> String {
    let server = crate::store::server_url(data);
    let mut command = vec!["jeugdpad".to_owned()];
    command.extend(
        std::env::args_os()
            .skip(1)
            .map(|arg| shell_quote(&arg.to_string_lossy())),
    );
    command.push("--server".to_owned());
    command.push(shell_quote(&server));
    format!(
        "While it runs, send this command through its admin API, signed in with an admin's API \
         token (in {}, or in a file given with --token-file FILE):\n\n    {}",
        crate::remote::TOKEN_VARIABLE,
        command.join(" ")
    )
}

/// `arg` as a POSIX shell reads it back: bare when it holds only harmless characters, otherwise
/// in single quotes.
fn shell_quote(arg: &str) -> String {
    let harmless = |c: char| c.is_ascii_alphanumeric() || "-_./:=@%+,".contains(c);
    if !arg.is_empty() && arg.chars().all(harmless) {
        arg.to_owned()
    } else {
        format!("'{}'", arg.replace('\'', "'\\''"))
    }
}

/// After `seed --synthetic`: the scenario's teams and demo users, and how to sign in.
pub fn after_seed(at: &Location, args: &crate::cli::SeedArgs) -> Result<(), Box<dyn Error>> {
    let scenario = crate::interchange::scenario(args)?;
    let teams: Vec<TeamCode> = scenario.teams.keys().cloned().collect();
    let added = register_demo(at, &teams)?;
    if !added.is_empty() {
        println!("Demo users (synthetic): {}", added.join(", "));
    }
    if let Some(team) = teams.first() {
        println!("Sign in: jeugdpad token create --user demo-lead-{team}   (prints a token, once)");
    }
    Ok(())
}

/// Registers `teams` and one demo user per role (per team for consultants and team leads), so
/// a newcomer only needs `jeugdpad token create`. Demo users are named `demo-…` and are
/// synthetic like the data; nobody gets a token without asking for one. Returns the users added.
pub fn register_demo(at: &Location, teams: &[TeamCode]) -> Result<Vec<String>, Box<dyn Error>> {
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let store = Arc::new(crate::store::open(
            at,
            Missing::Create,
            crate::store::STOP_THE_SERVER,
        )?);
        let registry = load_registry(store.as_ref(), u64::MAX)?;
        let mut events = Vec::new();
        for team in teams {
            if !registry.has_team(team) {
                events.push(AdminEvent::TeamAdded {
                    team: team.clone(),
                    name: format!("Wijkteam {team} (synthetisch)"),
                });
            }
        }
        let mut demo: Vec<(String, Role, Option<TeamCode>)> = Vec::new();
        for team in teams {
            demo.push((
                format!("demo-consultant-{team}"),
                Role::Consultant,
                Some(team.clone()),
            ));
            demo.push((
                format!("demo-lead-{team}"),
                Role::TeamLead,
                Some(team.clone()),
            ));
        }
        demo.push(("demo-analyst".into(), Role::Analyst, None));
        demo.push(("demo-admin".into(), Role::Admin, None));
        let mut added = Vec::new();
        for (id, role, team) in demo {
            let user = UserId::parse(id.as_str())?;
            if registry.users().contains_key(&user) {
                continue;
            }
            events.push(AdminEvent::UserAdded {
                user,
                name: format!("{} (demo)", role.label()),
                role,
                team,
            });
            added.push(id);
        }
        for event in events {
            change(&store, event, LOCAL, &Clock::system()).await?;
        }
        if let Ok(store) = Arc::try_unwrap(store) {
            store.close()?;
        }
        Ok(added)
    })
}

/// The login name of whoever runs this command, as the access log names a local operator.
pub fn operator_login() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "operator".into())
}

/// An access made at the machine rather than through the API — an export, a backup — as the
/// access log keeps it (NEN 7513 logs every export, not only those through the API): by
/// `local:<login>`, with the command line as the client. `uid` is the operating system's
/// account of the process, when the kernel vouched for it (a backup asked of the server
/// through its socket): the login name is what the command said.
pub fn operator_entry(
    login: &str,
    uid: Option<u32>,
    operation: &str,
) -> Result<AccessEntry, String> {
    let user = UserId::parse(format!("local:{login}"))
        .map_err(|e| format!("the login name {login:?} cannot name a user: {e}"))?;
    let mut entry = AccessEntry::by(None, AccessAction::Export, operation);
    entry.user = Some(user);
    entry.credential = Some(Credential::Local);
    entry.client_application = Some(match uid {
        Some(uid) => format!("jeugdpad command line, uid {uid}"),
        None => "jeugdpad command line".into(),
    });
    Ok(entry)
}

/// Writes an export made at the machine to the access log.
pub fn log_export(at: &Location, operation: &str) -> Result<(), Box<dyn Error>> {
    let store = crate::store::open(at, Missing::Refuse, crate::store::STOP_THE_SERVER)?;
    log_local(&store, &operator_entry(&operator_login(), None, operation)?)?;
    store.close()?;
    Ok(())
}

/// Appends `entry` to the access log of the open `store`, durably. Blocking.
pub fn log_local(store: &Store, entry: &AccessEntry) -> Result<(), Box<dyn Error>> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(jeugdpad_app::access_log::append(
        store,
        entry,
        &Clock::system(),
        None,
    ))?;
    Ok(())
}
