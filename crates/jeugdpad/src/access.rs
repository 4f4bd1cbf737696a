//! `jeugdpad team|user|token`: the registry of who may sign in, from the command line. The same
//! checks and the same `admin` stream as the API's admin mutations (`jeugdpad_app::admin`).

use std::error::Error;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use jeugdpad_access::{AccessAction, AccessEntry, AdminEvent, Credential, Role};
use jeugdpad_app::admin::{change, create_token, load_registry};
use jeugdpad_app::Clock;
use jeugdpad_domain::{TeamCode, UserId};
use jeugdpad_store::SledStore;

use crate::cli::{TeamCommand, TokenCommand, UserCommand};

/// `recorded_by` of changes made at the machine.
const LOCAL: &str = "local";

pub fn team(data: &Path, command: &TeamCommand) -> Result<ExitCode, Box<dyn Error>> {
    with_store(data, |store| async move {
        match command {
            TeamCommand::Add { code, name } => {
                let team = TeamCode::parse(code.as_str())?;
                let event = AdminEvent::TeamAdded {
                    team,
                    name: name.clone(),
                };
                change(&store, event, LOCAL, &Clock::system()).await?;
                println!("team '{code}' added");
            }
            TeamCommand::List => {
                for (code, team) in load_registry(store.as_ref(), u64::MAX)?.teams() {
                    println!("{code}\t{}", team.name);
                }
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}

pub fn user(data: &Path, command: &UserCommand) -> Result<ExitCode, Box<dyn Error>> {
    with_store(data, |store| async move {
        match command {
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
                change(&store, event, LOCAL, &Clock::system()).await?;
                println!(
                    "user '{id}' added; give them a token with: jeugdpad token create --user {id}"
                );
            }
            UserCommand::Deactivate { id } => {
                let event = AdminEvent::UserDeactivated {
                    user: UserId::parse(id.as_str())?,
                };
                change(&store, event, LOCAL, &Clock::system()).await?;
                println!("user '{id}' deactivated: none of their tokens works any more");
            }
            UserCommand::List => {
                for (id, user) in load_registry(store.as_ref(), u64::MAX)?.users() {
                    let team = user.team.as_ref().map_or("-", TeamCode::as_str);
                    let state = if user.active { "active" } else { "deactivated" };
                    println!("{id}\t{}\t{team}\t{state}\t{}", user.role, user.name);
                }
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}

pub fn token(data: &Path, command: &TokenCommand) -> Result<ExitCode, Box<dyn Error>> {
    with_store(data, |store| async move {
        match command {
            TokenCommand::Create {
                user,
                label,
                expires_in_days,
                quiet,
            } => {
                if !(1..=3650).contains(expires_in_days) {
                    return Err("--expires-in-days must be between 1 and 3650".into());
                }
                let clock = Clock::system();
                let expires_at = clock.now() + chrono::Duration::days(i64::from(*expires_in_days));
                let user_id = UserId::parse(user.as_str())?;
                let (minted, _) = create_token(
                    &store,
                    user_id,
                    label.clone(),
                    Some(expires_at),
                    LOCAL,
                    &clock,
                )
                .await?;
                if *quiet {
                    println!("{}", minted.secret);
                } else {
                    println!(
                        "token for '{user}' (id {}, valid until {}):",
                        minted.id,
                        expires_at.format("%Y-%m-%d %H:%M UTC")
                    );
                    println!();
                    println!("    {}", minted.secret);
                    println!();
                    println!(
                        "This is the only time it is shown: only its hash is stored. Send it as"
                    );
                    println!(
                        "'Authorization: Bearer <token>'. Revoke it with: jeugdpad token revoke {}",
                        minted.id
                    );
                }
            }
            TokenCommand::Revoke { id } => {
                let event = AdminEvent::TokenRevoked { token: id.clone() };
                change(&store, event, LOCAL, &Clock::system()).await?;
                println!("token {id} revoked");
            }
            TokenCommand::List => {
                for (id, token) in load_registry(store.as_ref(), u64::MAX)?.tokens() {
                    let expires = token
                        .expires_at
                        .map_or("never".to_owned(), |at| at.format("%Y-%m-%d").to_string());
                    let state = if token.revoked { "revoked" } else { "active" };
                    println!(
                        "{id}\t{}\t{expires}\t{state}\t{}",
                        token.user,
                        token.label.as_deref().unwrap_or("")
                    );
                }
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// Opens the store (refusing while the server holds it), runs `work`, closes the store.
fn with_store<F, Fut>(data: &Path, work: F) -> Result<ExitCode, Box<dyn Error>>
where
    F: FnOnce(Arc<SledStore>) -> Fut,
    Fut: std::future::Future<Output = Result<ExitCode, Box<dyn Error>>>,
{
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let store = Arc::new(crate::store::open(data, WHILE_RUNNING)?);
        let result = work(Arc::clone(&store)).await;
        if let Ok(store) = Arc::try_unwrap(store) {
            store.close()?;
        }
        result
    })
}

/// What an admin can do about the registry while the server runs.
const WHILE_RUNNING: &str = "While it runs, change teams, users and tokens through its admin \
     API (addTeam, addUser, createToken, revokeToken; docs/guide-operator.md), or stop it first.";

/// After `seed --synthetic`: the scenario's teams and demo users, and how to sign in.
pub fn after_seed(data: &Path, args: &crate::cli::SeedArgs) -> Result<(), Box<dyn Error>> {
    let scenario = crate::interchange::scenario(args)?;
    let teams: Vec<TeamCode> = scenario.teams.keys().cloned().collect();
    let added = register_demo(data, &teams)?;
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
pub fn register_demo(data: &Path, teams: &[TeamCode]) -> Result<Vec<String>, Box<dyn Error>> {
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let store = Arc::new(crate::store::open(data, crate::store::STOP_THE_SERVER)?);
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

/// Writes an export made at the machine to the access log (NEN 7513 logs every export, not
/// only those through the API). The operator is `local:<login name>`.
pub fn log_export(data: &Path, operation: &str) -> Result<(), Box<dyn Error>> {
    if !data.is_dir() {
        // Nothing to export; `export` says so.
        return Ok(());
    }
    let login = std::env::var("USER").unwrap_or_else(|_| "operator".into());
    let user = UserId::parse(format!("local:{login}"))?;
    let mut entry = AccessEntry::by(None, AccessAction::Export, operation);
    entry.user = Some(user);
    entry.credential = Some(Credential::Local);
    entry.client_application = Some("jeugdpad command line".into());
    let store = crate::store::open(data, crate::store::STOP_THE_SERVER)?;
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(jeugdpad_app::access_log::append(
        &store,
        &entry,
        &Clock::system(),
        None,
    ))?;
    store.close()?;
    Ok(())
}
