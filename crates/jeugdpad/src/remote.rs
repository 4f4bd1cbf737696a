//! `jeugdpad team|user|token --server URL`: the same changes and lists through a running
//! server's GraphQL admin API, for while the server holds the data directory. Transport only:
//! the server checks and records each change with `jeugdpad_app::admin`, through its gate and
//! into the access log, as for any other admin client. The token is sent, never printed.

use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Utc};
use jeugdpad_access::{AdminEvent, Role};
use jeugdpad_domain::UserId;
use reqwest::header::{HeaderValue, AUTHORIZATION, USER_AGENT};
use reqwest::Url;
use serde_json::{json, Value};

use crate::access::{CreatedToken, TeamRow, TokenRow, UserRow};

/// The environment variable that holds an admin's API token for `--server`.
pub const TOKEN_VARIABLE: &str = "JEUGDPAD_TOKEN";

/// A running server's admin API, signed in as one admin.
#[derive(Debug)]
pub struct AdminApi {
    http: reqwest::Client,
    /// The URL as given, for messages.
    server: String,
    graphql: Url,
    authorization: HeaderValue,
    /// Where the token came from, for messages (never the token).
    token_source: String,
}

impl AdminApi {
    /// The admin API at `server` (`http://HOST:PORT`, with or without `/graphql`), signed in with
    /// the token in `token_file` or else in `JEUGDPAD_TOKEN`.
    pub fn new(server: &str, token_file: Option<&Path>) -> Result<AdminApi, String> {
        let graphql = graphql_url(server)?;
        let (token, token_source) = read_token(token_file)?;
        let mut authorization =
            HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| {
                format!(
                    "{token_source} does not hold an API token (it has characters no token has)"
                )
            })?;
        authorization.set_sensitive(true);
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| format!("cannot set up an HTTP client: {e}"))?;
        Ok(AdminApi {
            http,
            server: server.to_owned(),
            graphql,
            authorization,
            token_source,
        })
    }

    /// The server as the operator gave it, for hints that repeat `--server`.
    pub fn server(&self) -> &str {
        &self.server
    }

    /// Records `event` with the admin mutation that makes it; in force when this returns.
    pub async fn change(&self, event: &AdminEvent) -> Result<(), String> {
        let (query, variables) = match event {
            AdminEvent::TeamAdded { team, name } => (
                "mutation($team: String!, $name: String!) { addTeam(team: $team, name: $name) }",
                json!({ "team": team.as_str(), "name": name }),
            ),
            AdminEvent::UserAdded {
                user,
                name,
                role,
                team,
            } => (
                "mutation($user: String!, $name: String!, $role: Role!, $team: String) {
                     addUser(user: $user, name: $name, role: $role, team: $team) }",
                json!({
                    "user": user.as_str(),
                    "name": name,
                    "role": role.code().to_uppercase(),
                    "team": team.as_ref().map(|t| t.as_str()),
                }),
            ),
            AdminEvent::UserDeactivated { user } => (
                "mutation($user: String!) { deactivateUser(user: $user) }",
                json!({ "user": user.as_str() }),
            ),
            AdminEvent::TokenRevoked { token } => (
                "mutation($token: String!) { revokeToken(tokenId: $token) }",
                json!({ "token": token }),
            ),
            AdminEvent::TokenCreated { .. } | AdminEvent::SubjectErased { .. } => {
                return Err(format!(
                    "'{}' is not sent this way (a bug in jeugdpad)",
                    event.event_type()
                ))
            }
        };
        self.run(query, variables).await.map(drop)
    }

    /// Creates a token for `user` (`createToken`): the only time its text is seen.
    pub async fn create_token(
        &self,
        user: &UserId,
        label: Option<&str>,
        expires_in_days: u32,
    ) -> Result<CreatedToken, String> {
        let data = self
            .run(
                "mutation($user: String!, $label: String, $days: Int!) {
                     createToken(user: $user, label: $label, expiresInDays: $days) {
                         tokenId token expiresAt } }",
                json!({ "user": user.as_str(), "label": label, "days": expires_in_days }),
            )
            .await?;
        let created = &data["createToken"];
        Ok(CreatedToken {
            id: text(created, "tokenId")?,
            secret: text(created, "token")?,
            expires_at: instant(&created["expiresAt"])?,
        })
    }

    /// `teams`.
    pub async fn teams(&self) -> Result<Vec<TeamRow>, String> {
        let data = self.run("{ teams { code name } }", json!({})).await?;
        rows(&data["teams"])?
            .iter()
            .map(|team| {
                Ok(TeamRow {
                    code: text(team, "code")?,
                    name: text(team, "name")?,
                })
            })
            .collect()
    }

    /// `users`.
    pub async fn users(&self) -> Result<Vec<UserRow>, String> {
        let data = self
            .run("{ users { id name role team active } }", json!({}))
            .await?;
        rows(&data["users"])?
            .iter()
            .map(|user| {
                let role = text(user, "role")?;
                Ok(UserRow {
                    id: text(user, "id")?,
                    name: text(user, "name")?,
                    role: role
                        .to_lowercase()
                        .parse::<Role>()
                        .map_err(|_| unexpected(&format!("role {role}")))?,
                    team: user["team"].as_str().map(str::to_owned),
                    active: user["active"]
                        .as_bool()
                        .ok_or_else(|| unexpected("active"))?,
                })
            })
            .collect()
    }

    /// `tokens`: ids, users, expiry, revoked — never a token.
    pub async fn tokens(&self) -> Result<Vec<TokenRow>, String> {
        let data = self
            .run(
                "{ tokens { tokenId user label expiresAt revoked } }",
                json!({}),
            )
            .await?;
        rows(&data["tokens"])?
            .iter()
            .map(|token| {
                Ok(TokenRow {
                    id: text(token, "tokenId")?,
                    user: text(token, "user")?,
                    label: token["label"].as_str().map(str::to_owned),
                    expires_at: instant(&token["expiresAt"])?,
                    revoked: token["revoked"]
                        .as_bool()
                        .ok_or_else(|| unexpected("revoked"))?,
                })
            })
            .collect()
    }

    /// Runs one operation and returns its `data`; an error becomes the sentence the operator
    /// needs: the server's own sentence for a refused change (the same the local command gives),
    /// and what to do about an address or a token that does not work.
    async fn run(&self, query: &str, variables: Value) -> Result<Value, String> {
        let response = self
            .http
            .post(self.graphql.clone())
            .header(AUTHORIZATION, self.authorization.clone())
            .header(
                USER_AGENT,
                concat!("jeugdpad command line ", env!("CARGO_PKG_VERSION")),
            )
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await
            .map_err(|e| self.unreachable(&e))?;
        let status = response.status();
        let body: Value = response.json().await.map_err(|_| {
            format!(
                "{} answered HTTP {status} without a GraphQL answer: is that the address of \
                 `jeugdpad serve` (http://HOST:PORT, as given to --listen)?",
                self.server
            )
        })?;
        if let Some(error) = body["errors"].get(0) {
            let message = error["message"].as_str().unwrap_or("the server refused");
            return Err(match error["extensions"]["code"].as_str() {
                Some("UNAUTHENTICATED") => format!(
                    "the server at {} did not accept the API token in {}: {message}",
                    self.server, self.token_source
                ),
                Some("FORBIDDEN") => format!(
                    "the API token in {} is not an admin's: {message}",
                    self.token_source
                ),
                Some("INTERNAL") => match error["extensions"]["requestId"].as_str() {
                    Some(id) => format!("{message} (the server's log has request id {id})"),
                    None => message.to_owned(),
                },
                _ => message.to_owned(),
            });
        }
        match body.get("data") {
            Some(data) if status.is_success() && !data.is_null() => Ok(data.clone()),
            _ => Err(format!(
                "{} answered HTTP {status} without data: is that the address of `jeugdpad serve`?",
                self.server
            )),
        }
    }

    fn unreachable(&self, error: &reqwest::Error) -> String {
        if error.is_timeout() {
            format!("the server at {} did not answer in time", self.server)
        } else if error.is_connect() && self.graphql.scheme() == "https" {
            format!(
                "cannot reach {} over https ({}). A certificate of the municipality's own \
                 certificate authority is not trusted here: run this command on the server's \
                 machine against http://127.0.0.1:PORT instead",
                self.server,
                source_chain(error)
            )
        } else if error.is_connect() {
            format!(
                "cannot reach a Jeugdpad server at {} ({}): is `jeugdpad serve` running there, \
                 listening on that address?",
                self.server,
                source_chain(error)
            )
        } else {
            format!(
                "the request to {} failed: {}",
                self.server,
                source_chain(error)
            )
        }
    }
}

/// The GraphQL endpoint of `server`: `URL/graphql` unless the URL already ends in it.
fn graphql_url(server: &str) -> Result<Url, String> {
    let example = "like http://127.0.0.1:8080 (the address `jeugdpad serve --listen` gives)";
    let mut url = Url::parse(server)
        .map_err(|e| format!("--server {server} is not a URL ({e}); give one {example}"))?;
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&url) => {}
        "http" => eprintln!(
            "jeugdpad: warning: the admin's token goes unencrypted over the network to \
             {server}. Use https:// (the TLS proxy in front of the server), or run this on the \
             server's machine against http://127.0.0.1:PORT."
        ),
        other => {
            return Err(format!(
                "--server must be an http:// or https:// URL, not {other}://; give one {example}"
            ))
        }
    }
    if url.path_segments().and_then(|mut s| s.next_back()) != Some("graphql") {
        url.path_segments_mut()
            .map_err(|()| format!("--server {server} cannot take a path; give one {example}"))?
            .pop_if_empty()
            .push("graphql");
    }
    Ok(url)
}

fn is_loopback(url: &Url) -> bool {
    match url.host_str() {
        Some(name) if name.eq_ignore_ascii_case("localhost") => true,
        Some(name) => name
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback()),
        None => false,
    }
}

/// The admin's token: from `token_file` if given, else from `JEUGDPAD_TOKEN`. Returns it with a
/// description of where it came from, for messages.
fn read_token(token_file: Option<&Path>) -> Result<(String, String), String> {
    let (text, source) = match token_file {
        Some(file) => {
            let source = format!("the token file {}", file.display());
            let text =
                std::fs::read_to_string(file).map_err(|e| format!("cannot read {source}: {e}"))?;
            (text, source)
        }
        None => match std::env::var(TOKEN_VARIABLE) {
            Ok(text) => (text, TOKEN_VARIABLE.to_owned()),
            Err(_) => {
                return Err(format!(
                    "--server needs an admin's API token: put it in a file and add \
                     --token-file FILE, or set {TOKEN_VARIABLE} (never on the command line)"
                ))
            }
        },
    };
    let token = text.trim();
    if token.is_empty() {
        return Err(format!(
            "{source} is empty: it must hold an admin's API token"
        ));
    }
    Ok((token.to_owned(), source))
}

fn rows(value: &Value) -> Result<&Vec<Value>, String> {
    value.as_array().ok_or_else(|| unexpected("a list"))
}

fn text(value: &Value, field: &str) -> Result<String, String> {
    value[field]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| unexpected(field))
}

fn instant(value: &Value) -> Result<Option<DateTime<Utc>>, String> {
    value
        .as_str()
        .map(|text| {
            DateTime::parse_from_rfc3339(text)
                .map(|at| at.with_timezone(&Utc))
                .map_err(|_| unexpected("an instant"))
        })
        .transpose()
}

fn unexpected(what: &str) -> String {
    format!(
        "the server's answer lacks {what}: is it a Jeugdpad server of the same version as this \
         command?"
    )
}

/// An error with its causes ("error sending request: connection refused").
fn source_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
