//! Who may do what (SPEC §5), over real HTTP: every role against every kind of operation, for
//! its own team and another; every way of not being signed in; identity-provider tokens; and
//! for each refusal, that nothing was written to a trajectory and that the refusal is in the
//! access log (NEN 7513). The BSN and erasure must-shows are in `access/`.

#[cfg(unix)]
mod bsn;
mod erasure;
mod registry;
mod subscriptions;

use std::time::Duration;

use chrono::Utc;
use jeugdpad_access::{AccessAction, AccessEntry, Outcome, Role};
use jeugdpad_api::{AuthOptions, Options};
use jeugdpad_oidc::{JwksSource, OidcConfig};
use serde_json::{json, Value};

use super::{
    altered, consultant_id, lead_id, options, team_code, Answer, Client, Server, Stopped, ANALYST,
};

/// Every kind of operation the API offers, one representative each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    /// A step in an existing trajectory of team X (`assignConsultant`).
    Record,
    /// `openTrajectory` for team X.
    Open,
    /// `trajectory`: one trajectory of team X.
    Trajectory,
    /// `events`: the raw events of one trajectory of team X.
    Events,
    /// `trajectories(filter: { team: X })`.
    List,
    /// `openWaits(team: X)`.
    OpenWaits,
    /// `pgbOverdueReviews(team: X)`.
    PgbOverdue,
    /// `waitingTimes(team: X)`.
    WaitingTimes,
    /// `normalisation(team: X)`.
    Normalisation,
    /// `waitingTimes` without a team: all teams (a team-bound caller's own team).
    WaitingTimesAllTeams,
    /// `normalisation` without a team.
    NormalisationAllTeams,
    /// `subjectTrajectories(subjectKey:)` of the youth of team X's trajectory.
    SubjectTrajectories,
    AddTeam,
    CreateToken,
    RevokeToken,
    EraseSubject,
    AccessLog,
    /// `teams`: the registry's teams (consultants name one to transfer a trajectory).
    Teams,
    /// `users`: who may sign in.
    Users,
    /// `tokens`: the API tokens (never the tokens themselves).
    Tokens,
    CodeLists,
    Today,
}

const Y: bool = true;
const N: bool = false;

/// SPEC §5, written out by hand. Columns: consultant (of noord) asking about noord / about zuid,
/// team lead (of noord) noord / zuid, analyst noord / zuid, admin noord / zuid. Analysts and
/// admins have no team, so their two columns agree. `true`: answered without error; `false`:
/// `FORBIDDEN`.
#[rustfmt::skip]
const MATRIX: [(Op, [bool; 8]); 22] = [
    //                           consultant  team lead   analyst     admin
    //                           own  other  own  other  own  other  own  other
    (Op::Record,                [Y,   N,     N,   N,     N,   N,     N,   N]),
    (Op::Open,                  [Y,   N,     N,   N,     N,   N,     N,   N]),
    (Op::Trajectory,            [Y,   N,     Y,   N,     N,   N,     N,   N]),
    (Op::Events,                [Y,   N,     Y,   N,     N,   N,     N,   N]),
    (Op::List,                  [Y,   N,     Y,   N,     N,   N,     N,   N]),
    (Op::OpenWaits,             [Y,   N,     Y,   N,     N,   N,     N,   N]),
    (Op::PgbOverdue,            [Y,   N,     Y,   N,     N,   N,     N,   N]),
    // Figures: team leads for their own team, analysts for every team; consultants and
    // admins see none.
    (Op::WaitingTimes,          [N,   N,     Y,   N,     Y,   Y,     N,   N]),
    (Op::Normalisation,         [N,   N,     Y,   N,     Y,   Y,     N,   N]),
    // Without a team argument a team lead gets their own team's figures (the column does not
    // matter: no team is named).
    (Op::WaitingTimesAllTeams,  [N,   N,     Y,   Y,     Y,   Y,     N,   N]),
    (Op::NormalisationAllTeams, [N,   N,     Y,   Y,     Y,   Y,     N,   N]),
    // A youth's trajectories: consultants and team leads get those of their own team (for
    // another team's youth: an empty list, checked below); analysts and admins never.
    (Op::SubjectTrajectories,   [Y,   Y,     Y,   Y,     N,   N,     N,   N]),
    (Op::AddTeam,               [N,   N,     N,   N,     N,   N,     Y,   Y]),
    (Op::CreateToken,           [N,   N,     N,   N,     N,   N,     Y,   Y]),
    (Op::RevokeToken,           [N,   N,     N,   N,     N,   N,     Y,   Y]),
    (Op::EraseSubject,          [N,   N,     N,   N,     N,   N,     Y,   Y]),
    (Op::AccessLog,             [N,   N,     N,   N,     N,   N,     Y,   Y]),
    // The team list names nobody: every role reads it; users and tokens are the admin's.
    (Op::Teams,                 [Y,   Y,     Y,   Y,     Y,   Y,     Y,   Y]),
    (Op::Users,                 [N,   N,     N,   N,     N,   N,     Y,   Y]),
    (Op::Tokens,                [N,   N,     N,   N,     N,   N,     Y,   Y]),
    (Op::CodeLists,             [Y,   Y,     Y,   Y,     Y,   Y,     Y,   Y]),
    (Op::Today,                 [Y,   Y,     Y,   Y,     Y,   Y,     Y,   Y]),
];

impl Op {
    /// The GraphQL field, as the access log names the operation.
    fn field(self) -> &'static str {
        match self {
            Op::Record => "assignConsultant",
            Op::Open => "openTrajectory",
            Op::Trajectory => "trajectory",
            Op::Events => "events",
            Op::List => "trajectories",
            Op::OpenWaits => "openWaits",
            Op::PgbOverdue => "pgbOverdueReviews",
            Op::WaitingTimes | Op::WaitingTimesAllTeams => "waitingTimes",
            Op::Normalisation | Op::NormalisationAllTeams => "normalisation",
            Op::SubjectTrajectories => "subjectTrajectories",
            Op::AddTeam => "addTeam",
            Op::CreateToken => "createToken",
            Op::RevokeToken => "revokeToken",
            Op::EraseSubject => "eraseSubject",
            Op::AccessLog => "accessLog",
            Op::Teams => "teams",
            Op::Users => "users",
            Op::Tokens => "tokens",
            Op::CodeLists => "codeLists",
            Op::Today => "today",
        }
    }

    /// What a granted request adds to the access log (`None`: figures and reference data,
    /// which name nobody, are not logged).
    fn logged_as(self) -> Option<&'static str> {
        match self {
            Op::Record | Op::Open => Some("record"),
            Op::Trajectory | Op::Events => Some("read"),
            Op::List | Op::OpenWaits | Op::PgbOverdue | Op::SubjectTrajectories => Some("list"),
            Op::AddTeam | Op::CreateToken | Op::RevokeToken | Op::Users | Op::Tokens => {
                Some("administer")
            }
            Op::EraseSubject => Some("erase"),
            Op::AccessLog => Some("read_access_log"),
            Op::WaitingTimes
            | Op::Normalisation
            | Op::WaitingTimesAllTeams
            | Op::NormalisationAllTeams
            | Op::Teams
            | Op::CodeLists
            | Op::Today => None,
        }
    }

    /// Whether a granted request appends one event to a trajectory stream.
    fn writes(self) -> bool {
        matches!(self, Op::Record | Op::Open)
    }
}

/// The trajectory of one team that the matrix asks about.
struct Target {
    team: &'static str,
    trajectory: String,
    subject: String,
}

/// The operation `op` about `target`; `n` keeps names unique, `token_id` is a token the admin
/// may revoke.
fn operation(op: Op, target: &Target, n: usize, token_id: &str) -> String {
    let (team, id, subject) = (target.team, &target.trajectory, &target.subject);
    match op {
        Op::Record => format!(
            "mutation {{ assignConsultant(trajectoryId: \"{id}\", occurredOn: \"2026-06-01\",
                 consultant: \"consultant-m{n}\") {{ version }} }}"
        ),
        Op::Open => format!(
            "mutation {{ openTrajectory(occurredOn: \"2026-06-01\", signal: {{
                 subjectKey: \"sk-matrix-open-{n}\", team: \"{team}\", source: SCHOOL,
                 concerns: [PARENTING], urgency: REGULAR }}) {{ trajectoryId }} }}"
        ),
        Op::Trajectory => format!("{{ trajectory(id: \"{id}\") {{ id version }} }}"),
        Op::Events => format!("{{ events(trajectoryId: \"{id}\") {{ position }} }}"),
        Op::List => format!(
            "{{ trajectories(filter: {{ team: \"{team}\" }}) {{ nodes {{ trajectoryId }} }} }}"
        ),
        Op::OpenWaits => {
            format!("{{ openWaits(team: \"{team}\") {{ nodes {{ trajectoryId }} }} }}")
        }
        Op::PgbOverdue => {
            format!("{{ pgbOverdueReviews(team: \"{team}\") {{ perTeam {{ team count }} }} }}")
        }
        Op::WaitingTimes => format!(
            "{{ waitingTimes(team: \"{team}\") {{ measures {{ measure overall {{ closed open }} }} }} }}"
        ),
        Op::Normalisation => format!(
            "{{ normalisation(team: \"{team}\", cohort: {{ signalledBetween: {{
                 from: \"2026-01-01\", to: \"2026-06-30\" }} }}) {{ overall {{ trajectories }} }} }}"
        ),
        Op::WaitingTimesAllTeams => {
            "{ waitingTimes { measures { measure overall { closed open } } } }".to_owned()
        }
        Op::NormalisationAllTeams => "{ normalisation(cohort: { signalledBetween: {
                 from: \"2026-01-01\", to: \"2026-06-30\" } }) { overall { trajectories } } }"
            .to_owned(),
        Op::SubjectTrajectories => {
            format!("{{ subjectTrajectories(subjectKey: \"{subject}\") {{ trajectoryId team }} }}")
        }
        Op::AddTeam => format!("mutation {{ addTeam(team: \"matrix-{n}\", name: \"Matrix {n}\") }}"),
        Op::CreateToken => format!(
            "mutation {{ createToken(user: \"{ANALYST}\", label: \"matrix {n}\", expiresInDays: 1) {{
                 tokenId token expiresAt }} }}"
        ),
        Op::RevokeToken => format!("mutation {{ revokeToken(tokenId: \"{token_id}\") }}"),
        Op::EraseSubject => format!(
            "mutation {{ eraseSubject(subjectKey: \"sk-matrix-erase-{n}\") {{ subjectKey keyDestroyed }} }}"
        ),
        Op::AccessLog => "{ accessLog(first: 1) { entries { position action } } }".to_owned(),
        Op::Teams => "{ teams { code name } }".to_owned(),
        Op::Users => "{ users { id name role team active } }".to_owned(),
        Op::Tokens => "{ tokens { tokenId user label expiresAt revoked } }".to_owned(),
        Op::CodeLists => "{ codeLists { sources { code } } }".to_owned(),
        Op::Today => "{ today }".to_owned(),
    }
}

/// One refusal's access-log entry: refused, by whom, for which operation.
fn assert_refusal_logged(entry: &AccessEntry, user: Option<&str>, operation: &str, context: &str) {
    assert_eq!(entry.outcome, Outcome::Refused, "{context}: {entry:?}");
    assert_eq!(
        entry.user.as_ref().map(|u| u.as_str()),
        user,
        "{context}: {entry:?}"
    );
    assert_eq!(entry.operation, operation, "{context}: {entry:?}");
    assert!(
        entry.reason.is_some(),
        "{context}: a refusal says why: {entry:?}"
    );
    assert_eq!(
        entry.client_address.as_deref(),
        Some("127.0.0.1"),
        "{context}: {entry:?}"
    );
}

/// The access-log entries appended since `before` entries.
async fn new_entries(server: &Server, before: usize) -> Vec<AccessEntry> {
    server
        .access_log()
        .await
        .into_iter()
        .skip(before)
        .map(|(_, entry)| entry)
        .collect()
}

/// Opens a trajectory of `team` (waiting for its assessment) with an overdue PGB review, so its
/// lists are not empty.
async fn target(server: &Server, team: &'static str) -> Target {
    let subject = format!("sk-matrix-{team}");
    let case = server.open("2026-03-01", team, &subject, "SCHOOL").await;
    case.step("schedulePgbReview", "2026-03-02", "dueOn: \"2026-05-01\"")
        .await;
    Target {
        team,
        trajectory: case.id,
        subject,
    }
}

#[tokio::test]
async fn every_role_may_do_exactly_what_spec_section_5_allows() {
    let server = Server::start().await;
    let noord = target(&server, "noord").await;
    let zuid = target(&server, "zuid").await;
    let callers: [(Client<'_>, Role); 4] = [
        (server.consultant("noord"), Role::Consultant),
        (server.lead("noord"), Role::TeamLead),
        (server.analyst(), Role::Analyst),
        (server.admin(), Role::Admin),
    ];

    let mut n = 0;
    let mut granted_reads = std::collections::BTreeMap::<String, usize>::new();
    for (op, expected) in MATRIX {
        for (c, (client, role)) in callers.iter().enumerate() {
            for (t, target) in [&noord, &zuid].into_iter().enumerate() {
                n += 1;
                let allowed = expected[2 * c + t];
                let context = format!(
                    "{op:?} by {} about team {} (expected {})",
                    client.name,
                    target.team,
                    if allowed { "allowed" } else { "FORBIDDEN" }
                );
                let token_id = if op == Op::RevokeToken {
                    server.mint_token(ANALYST, None).await.0
                } else {
                    String::new()
                };
                let written = server.trajectory_event_count().await;
                let logged = server.access_log().await.len();

                let answer = client
                    .send(&operation(op, target, n, &token_id), json!({}))
                    .await;

                assert_eq!(answer.status, 200, "{context}: {}", answer.text);
                let entries = new_entries(&server, logged).await;
                if allowed {
                    assert!(
                        answer.body.get("errors").is_none(),
                        "{context}: {}",
                        answer.text
                    );
                    let grew = usize::from(op.writes());
                    assert_eq!(
                        server.trajectory_event_count().await,
                        written + grew,
                        "{context}"
                    );
                    match op.logged_as() {
                        Some(action) => {
                            assert_eq!(entries.len(), 1, "{context}: {entries:?}");
                            let entry = &entries[0];
                            assert_eq!(entry.action.code(), action, "{context}");
                            assert_eq!(entry.outcome, Outcome::Granted, "{context}");
                            assert_eq!(entry.role, Some(*role), "{context}");
                            assert_eq!(entry.operation, op.field(), "{context}");
                        }
                        None => assert!(
                            entries.is_empty(),
                            "{context}: figures and reference data are not logged: {entries:?}"
                        ),
                    }
                    if matches!(op, Op::Trajectory | Op::Events) {
                        *granted_reads.entry(target.trajectory.clone()).or_default() += 1;
                    }
                    if op == Op::SubjectTrajectories {
                        // Limited to the caller's own team: another team's youth is not there.
                        let found = answer.body["data"]["subjectTrajectories"]
                            .as_array()
                            .cloned()
                            .unwrap_or_default();
                        let own = target.team == "noord";
                        let expected = if own {
                            vec![json!({ "trajectoryId": target.trajectory, "team": "noord" })]
                        } else {
                            Vec::new()
                        };
                        assert_eq!(found, expected, "{context}");
                    }
                } else {
                    assert_eq!(
                        answer.code(),
                        Some("FORBIDDEN"),
                        "{context}: {}",
                        answer.text
                    );
                    assert!(
                        answer.body["data"].is_null() || answer.body["data"][op.field()].is_null(),
                        "{context}: a refusal answers no data: {}",
                        answer.text
                    );
                    assert_eq!(
                        server.trajectory_event_count().await,
                        written,
                        "{context}: a refusal writes nothing"
                    );
                    assert_eq!(entries.len(), 1, "{context}: {entries:?}");
                    let entry = &entries[0];
                    assert_refusal_logged(entry, Some(&client.name), op.field(), &context);
                    assert_eq!(entry.role, Some(*role), "{context}");
                    if let Some(action) = op.logged_as() {
                        assert_eq!(entry.action.code(), action, "{context}");
                    }
                }
            }
        }
    }

    // A team lead's figures without a team argument are their own team's.
    let lead = server.lead("noord");
    let all = lead
        .gql(
            "{ waitingTimes { measures { measure overall { closed open } } } }",
            json!({}),
        )
        .await;
    let own = lead
        .gql(
            "{ waitingTimes(team: \"noord\") { measures { measure overall { closed open } } } }",
            json!({}),
        )
        .await;
    assert_eq!(all, own);

    // The access log holds exactly one granted `read` per single-trajectory read made above,
    // with who, in which role and team, and from where.
    let admin = server.admin();
    for target in [&noord, &zuid] {
        let log = admin
            .gql(
                "query($id: ID!) { accessLog(trajectoryId: $id, first: 10000) { entries {
                     position action outcome operation user role team trajectoryId subjectKey
                     clientAddress reason } } }",
                json!({ "id": target.trajectory }),
            )
            .await;
        let entries = log["accessLog"]["entries"].as_array().expect("entries");
        let reads: Vec<&Value> = entries
            .iter()
            .filter(|e| e["action"] == "read" && e["outcome"] == "granted")
            .collect();
        let expected = granted_reads.get(&target.trajectory).copied().unwrap_or(0);
        // Noord's trajectory: read and events by its consultant and its team lead; zuid's: none.
        assert_eq!(expected, if target.team == "noord" { 4 } else { 0 });
        assert_eq!(reads.len(), expected, "{entries:#?}");
        for read in &reads {
            assert!(
                read["user"] == consultant_id("noord").as_str()
                    || read["user"] == lead_id("noord").as_str(),
                "{read}"
            );
            assert!(
                read["role"] == "consultant" || read["role"] == "team_lead",
                "{read}"
            );
            assert_eq!(read["team"], "noord", "{read}");
            assert_eq!(read["trajectoryId"], target.trajectory.as_str(), "{read}");
            assert_eq!(read["subjectKey"], target.subject.as_str(), "{read}");
            assert_eq!(read["clientAddress"], "127.0.0.1", "{read}");
        }
        // Refused reads are there too: analyst and admin (and, for zuid, noord's own staff)
        // asked for `trajectory` and `events` once each.
        let refused = entries
            .iter()
            .filter(|e| e["action"] == "read" && e["outcome"] == "refused")
            .count();
        assert_eq!(
            refused,
            if target.team == "noord" { 4 } else { 8 },
            "{entries:#?}"
        );
    }
    // Reading the log is logged too.
    let own_reads = admin
        .gql(
            "{ accessLog(user: \"admin\", first: 10000) { entries { action outcome role team clientAddress } } }",
            json!({}),
        )
        .await;
    let own_reads = own_reads["accessLog"]["entries"]
        .as_array()
        .expect("entries");
    assert!(
        own_reads.iter().any(|e| e
            == &json!({ "action": "read_access_log", "outcome": "granted", "role": "admin",
                        "team": null, "clientAddress": "127.0.0.1" })),
        "{own_reads:#?}"
    );

    verify_after_stop(server).await;
}

/// Stops the server and checks the store with `jeugdpad_store::verify_dir` (what `jeugdpad
/// verify` runs): intact, and its head covers the last access-log entry. Returns the stopped
/// server's data.
async fn verify_after_stop(server: Server) -> Stopped {
    let last_logged = server
        .access_log()
        .await
        .last()
        .map(|(position, _)| *position)
        .expect("the access log is not empty");
    let head = server.server.state.store_head();
    let stopped = server.stop().await;
    let data = stopped.data_dir();
    let report = tokio::task::spawn_blocking(move || jeugdpad_store::verify_dir(&data))
        .await
        .expect("verify runs")
        .expect("the store can be verified");
    assert!(report.is_ok(), "{report}");
    assert_eq!(report.head_position, head, "{report}");
    assert!(
        report.head_position >= last_logged,
        "the access log lies inside the verified chain: {report}"
    );
    stopped
}

/// Deciding which team carries a case is the team lead's call: the owning team's lead may hand
/// a trajectory over (and nothing else of the consultant's steps), another team's lead may not.
#[tokio::test]
async fn a_team_lead_hands_a_trajectory_over_and_records_nothing_else() {
    let server = Server::start().await;
    let case = server
        .open("2026-03-01", "noord", "sk-transfer-lead", "SCHOOL")
        .await;
    let assess = format!(
        "mutation {{ completeAssessment(trajectoryId: \"{}\", occurredOn: \"2026-03-02\",
             conclusion: LIGHT_HELP) {{ version }} }}",
        case.id
    );
    let transfer = |team: &str| {
        format!(
            "mutation {{ transferTeam(trajectoryId: \"{}\", occurredOn: \"2026-03-02\",
                 team: \"{team}\") {{ version }} }}",
            case.id
        )
    };
    let written = server.trajectory_event_count().await;
    let (code, _) = server.lead("noord").gql_error(&assess, json!({})).await;
    assert_eq!(code, "FORBIDDEN");
    let (code, _) = server
        .lead("zuid")
        .gql_error(&transfer("west"), json!({}))
        .await;
    assert_eq!(code, "FORBIDDEN");
    assert_eq!(server.trajectory_event_count().await, written);

    let data = server.lead("noord").gql(&transfer("zuid"), json!({})).await;
    assert_eq!(data["transferTeam"]["version"], 2);
    let read = format!(
        "{{ trajectory(id: \"{}\") {{ summary {{ team }} }} }}",
        case.id
    );
    let data = server.lead("zuid").gql(&read, json!({})).await;
    assert_eq!(data["trajectory"]["summary"]["team"], "zuid");
    let (code, _) = server.lead("noord").gql_error(&read, json!({})).await;
    assert_eq!(code, "FORBIDDEN");
}

#[tokio::test]
async fn a_transfer_hands_the_trajectory_to_the_receiving_team() {
    let server = Server::start().await;
    let case = server
        .open("2026-03-01", "noord", "sk-transfer-1", "SCHOOL")
        .await;

    // Only teams an admin added can receive a trajectory.
    let (code, message) = case
        .client
        .gql_error(
            &format!(
                "mutation {{ transferTeam(trajectoryId: \"{}\", occurredOn: \"2026-03-02\",
                     team: \"nergens\") {{ version }} }}",
                case.id
            ),
            json!({}),
        )
        .await;
    assert_eq!(code, "VALIDATION", "{message}");

    case.step("transferTeam", "2026-03-02", "team: \"zuid\"")
        .await;
    let written = server.trajectory_event_count().await;

    // Noord's staff no longer record or read it …
    let read = format!(
        "{{ trajectory(id: \"{}\") {{ summary {{ team }} }} }}",
        case.id
    );
    let record = format!(
        "mutation {{ completeAssessment(trajectoryId: \"{}\", occurredOn: \"2026-03-09\",
             conclusion: LIGHT_HELP) {{ version }} }}",
        case.id
    );
    let (code, _) = server
        .consultant("noord")
        .gql_error(&record, json!({}))
        .await;
    assert_eq!(code, "FORBIDDEN");
    let (code, _) = server.consultant("noord").gql_error(&read, json!({})).await;
    assert_eq!(code, "FORBIDDEN");
    let (code, _) = server.lead("noord").gql_error(&read, json!({})).await;
    assert_eq!(code, "FORBIDDEN");
    assert_eq!(server.trajectory_event_count().await, written);

    // … zuid's do.
    let case = case.recorded_by(server.consultant("zuid"));
    case.assess("2026-03-09").await;
    let data = server.lead("zuid").gql(&read, json!({})).await;
    assert_eq!(data["trajectory"]["summary"]["team"], "zuid");
    let events = server
        .consultant("zuid")
        .gql(
            &format!(
                "{{ events(trajectoryId: \"{}\") {{ type recordedBy }} }}",
                case.id
            ),
            json!({}),
        )
        .await;
    // Every step names the signed-in user who recorded it.
    assert_eq!(
        events["events"],
        json!([
            { "type": "signal_received", "recordedBy": consultant_id("noord") },
            { "type": "team_transferred", "recordedBy": consultant_id("noord") },
            { "type": "assessment_completed", "recordedBy": consultant_id("zuid") },
        ])
    );
}

/// A record attempt on `trajectory` with the given credentials: it must be `401
/// UNAUTHENTICATED`, write nothing to a trajectory, and leave one failed sign-in entry with
/// `reason` in the access log.
async fn assert_unauthenticated(
    server: &Server,
    client: &Client<'_>,
    trajectory: &str,
    reason: &str,
) -> Answer {
    let written = server.trajectory_event_count().await;
    let logged = server.access_log().await.len();
    let answer = client
        .send(
            &format!(
                "mutation {{ assignConsultant(trajectoryId: \"{trajectory}\",
                     occurredOn: \"2026-03-05\", consultant: \"intruder\") {{ version }} }}"
            ),
            json!({}),
        )
        .await;
    let context = format!("{} ({reason})", client.name);
    assert_eq!(answer.status, 401, "{context}: {}", answer.text);
    assert_eq!(
        answer.code(),
        Some("UNAUTHENTICATED"),
        "{context}: {}",
        answer.text
    );
    assert!(
        answer.body.get("data").is_none(),
        "{context}: {}",
        answer.text
    );
    assert_eq!(
        server.trajectory_event_count().await,
        written,
        "{context}: nothing is written"
    );
    let entries = new_entries(server, logged).await;
    assert_eq!(entries.len(), 1, "{context}: {entries:?}");
    let entry = &entries[0];
    assert_eq!(entry.action, AccessAction::FailedSignIn, "{context}");
    assert_refusal_logged(entry, None, "graphql", &context);
    assert_eq!(entry.reason.as_deref(), Some(reason), "{context}");
    answer
}

#[tokio::test]
async fn without_valid_credentials_nothing_is_answered_and_nothing_is_written() {
    let server = Server::start().await;
    let case = server
        .open("2026-03-01", "noord", "sk-signin-1", "SCHOOL")
        .await;
    let noord = consultant_id("noord");

    // A token that expires three seconds from now works until then.
    let expires = Utc::now() + chrono::Duration::seconds(3);
    let (_, expiring) = server.mint_token(&noord, Some(expires)).await;
    let read = format!("{{ trajectory(id: \"{}\") {{ version }} }}", case.id);
    server.bearer(&expiring).gql(&read, json!({})).await;

    // A revoked token.
    let (revoked_id, revoked) = server.mint_token(&noord, None).await;
    server.bearer(&revoked).gql(&read, json!({})).await;
    server
        .admin()
        .gql(
            "mutation($id: String!) { revokeToken(tokenId: $id) }",
            json!({ "id": revoked_id }),
        )
        .await;

    // A user who left: their token stops working with them.
    let leaver = server
        .add_user(
            "consultant-leaver",
            Role::Consultant,
            Some(team_code("noord")),
        )
        .await;
    server.bearer(&leaver).gql(&read, json!({})).await;
    server
        .admin()
        .gql(
            "mutation { deactivateUser(user: \"consultant-leaver\") }",
            json!({}),
        )
        .await;

    // The consultant's own token with its last character changed.
    let real = server.token(&noord).to_owned();
    let unknown = altered(&real);

    // Each is told what is wrong in words (a header in the wrong form is told the form; a
    // token in the right form is never told the header is wrong) and by the access log's slug.
    let header_form = "must be 'Bearer <token>'";
    let cases: Vec<(Client<'_>, &str, &str)> = vec![
        (server.anonymous(), "no_credentials", "sign in first"),
        (
            server.with_authorization("Basic Y29uc3VsdGFudDpnZWhlaW0="),
            "malformed_credentials",
            header_form,
        ),
        (
            server.with_authorization("Bearer"),
            "malformed_credentials",
            header_form,
        ),
        (
            server.with_authorization(&real),
            "malformed_credentials",
            header_form,
        ),
        (
            server.bearer("not-a-token"),
            "unrecognised_token",
            "this token is unknown",
        ),
        (
            server.bearer(&real[..real.len() - 3]),
            "unrecognised_token",
            "copied all of it",
        ),
        (
            server.bearer(&unknown),
            "unknown_token",
            "this token is unknown",
        ),
        (server.bearer(&revoked), "revoked_token", "has been revoked"),
        (
            server.bearer(&leaver),
            "user_deactivated",
            "your account has been deactivated",
        ),
    ];
    for (client, reason, says) in &cases {
        let answer = assert_unauthenticated(&server, client, &case.id, reason).await;
        let context = format!("{} ({reason})", client.name);
        assert!(
            answer.message().contains(says),
            "{context}: expected '{says}' in {}",
            answer.text
        );
        assert_eq!(
            answer.body["errors"][0]["extensions"]["reason"], *reason,
            "{context}: {}",
            answer.text
        );
        if *says != header_form {
            assert!(
                !answer.message().contains(header_form),
                "{context}: {}",
                answer.text
            );
        }
    }
    // Over GET too (queries only), and the answer never repeats the token.
    let answer = server.bearer(&unknown).send_get(&read, json!({})).await;
    assert_eq!(answer.status, 401, "{}", answer.text);
    assert_eq!(answer.code(), Some("UNAUTHENTICATED"));
    assert!(!answer.text.contains(&unknown));

    // Past its expiry the first token is refused like the others.
    let wait = (expires - Utc::now()).to_std().unwrap_or_default() + Duration::from_millis(200);
    tokio::time::sleep(wait).await;
    let answer = assert_unauthenticated(
        &server,
        &server.bearer(&expiring),
        &case.id,
        "expired_token",
    )
    .await;
    assert!(answer.message().contains("expired"), "{}", answer.text);

    // Nobody got in: the trajectory holds only its signal.
    let events = server
        .consultant("noord")
        .gql(
            &format!("{{ events(trajectoryId: \"{}\") {{ type }} }}", case.id),
            json!({}),
        )
        .await;
    assert_eq!(events["events"], json!([{ "type": "signal_received" }]));
}

/// The OIDC fixtures of `tests/it/fixtures/oidc` (synthetic keys, test use only).
mod oidc {
    use std::path::PathBuf;

    use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
    use serde_json::{json, Value};

    pub const ISSUER: &str = "https://login.gemeente.example/realms/jeugd";
    pub const AUDIENCE: &str = "jeugdpad";
    /// The `sub` of the consultant the identity provider signs in.
    pub const SUBJECT: &str = "f2c7a3e0-5d1b-4b8e-9c1a-0d9e8f7a6b5c";

    pub fn fixture(name: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("it/fixtures/oidc")
            .join(name)
    }

    /// Valid claims of a consultant of team noord, with `changes` applied.
    pub fn claims(changes: Value) -> Value {
        let now = chrono::Utc::now().timestamp();
        let mut claims = json!({
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": SUBJECT,
            "iat": now,
            "exp": now + 300,
            "jeugdpad_role": "consultant",
            "jeugdpad_team": "noord",
        });
        if let (Some(base), Value::Object(changes)) = (claims.as_object_mut(), changes) {
            base.extend(changes);
        }
        claims
    }

    /// An RS256 token with kid `test-rsa`, signed with the key in `key_file`.
    pub fn rs256(key_file: &str, claims: &Value) -> String {
        let pem = std::fs::read(fixture(key_file)).expect("fixture key readable");
        let key = EncodingKey::from_rsa_pem(&pem).expect("fixture key loads");
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some("test-rsa".to_owned());
        encode(&header, claims, &key).expect("token signs")
    }
}

#[tokio::test]
async fn identity_provider_tokens_sign_in_with_their_role_and_team() {
    let options = Options {
        auth: AuthOptions {
            oidc: Some(OidcConfig::new(
                oidc::ISSUER,
                oidc::AUDIENCE,
                JwksSource::File(oidc::fixture("jwks.json")),
            )),
            ..AuthOptions::default()
        },
        ..options()
    };
    let server = Server::start_with(options).await;

    // A consultant of noord by the identity provider's word records in noord …
    let jwt = oidc::rs256("rsa.pem", &oidc::claims(json!({})));
    let consultant = server.bearer(&jwt);
    let case = consultant
        .open("2026-03-01", "noord", "sk-oidc-1", "SCHOOL")
        .await;
    case.assess("2026-03-10").await;
    let events = consultant
        .gql(
            &format!(
                "{{ events(trajectoryId: \"{}\") {{ recordedBy }} }}",
                case.id
            ),
            json!({}),
        )
        .await;
    assert_eq!(
        events["events"],
        json!([{ "recordedBy": oidc::SUBJECT }, { "recordedBy": oidc::SUBJECT }])
    );

    // … and is refused in zuid, with nothing written and the refusal logged.
    let written = server.trajectory_event_count().await;
    let logged = server.access_log().await.len();
    let zuid = server.open("2026-03-01", "zuid", "sk-oidc-2", "JGZ").await;
    let written_zuid = written + 1;
    let (code, _) = consultant
        .gql_error(
            &format!(
                "mutation {{ completeAssessment(trajectoryId: \"{}\", occurredOn: \"2026-03-10\",
                     conclusion: LIGHT_HELP) {{ version }} }}",
                zuid.id
            ),
            json!({}),
        )
        .await;
    assert_eq!(code, "FORBIDDEN");
    let (code, _) = consultant
        .gql_error(
            "mutation { openTrajectory(occurredOn: \"2026-03-01\", signal: { subjectKey: \"sk-oidc-3\",
                 team: \"zuid\", source: SCHOOL, concerns: [PARENTING], urgency: REGULAR }) { version } }",
            json!({}),
        )
        .await;
    assert_eq!(code, "FORBIDDEN");
    assert_eq!(server.trajectory_event_count().await, written_zuid);
    let refusals: Vec<AccessEntry> = new_entries(&server, logged)
        .await
        .into_iter()
        .filter(|e| e.outcome == Outcome::Refused)
        .collect();
    assert_eq!(refusals.len(), 2, "{refusals:?}");
    for refusal in &refusals {
        assert_refusal_logged(refusal, Some(oidc::SUBJECT), &refusal.operation, "oidc");
        assert_eq!(refusal.team, Some(team_code("noord")));
        assert_eq!(refusal.reason.as_deref(), Some("other_team"));
    }

    // Tokens the server must not accept.
    let hour_ago = Utc::now().timestamp() - 3600;
    let refused = [
        (
            oidc::rs256(
                "rsa.pem",
                &oidc::claims(json!({ "aud": "another-application" })),
            ),
            "oidc_wrong_audience",
        ),
        (
            oidc::rs256(
                "rsa.pem",
                &oidc::claims(json!({ "iat": hour_ago - 600, "exp": hour_ago })),
            ),
            "oidc_expired",
        ),
        (
            oidc::rs256("other-rsa.pem", &oidc::claims(json!({}))),
            "oidc_bad_signature",
        ),
    ];
    for (token, reason) in &refused {
        assert_unauthenticated(&server, &server.bearer(token), &case.id, reason).await;
    }
    // API tokens keep working beside the identity provider.
    server
        .lead("noord")
        .gql(
            &format!("{{ trajectory(id: \"{}\") {{ version }} }}", case.id),
            json!({}),
        )
        .await;
}

#[tokio::test]
async fn the_rate_limit_holds_per_token() {
    let mut options = options();
    options.auth.requests_per_minute = std::num::NonZeroU32::new(3).expect("not zero");
    let server = Server::start_with(options).await;
    let consultant = server.consultant("noord");
    for _ in 0..3 {
        consultant.gql("{ today }", json!({})).await;
    }
    let answer = consultant.send("{ today }", json!({})).await;
    assert_eq!(answer.status, 429, "{}", answer.text);
    assert_eq!(answer.code(), Some("RATE_LIMITED"), "{}", answer.text);
    let wait: u64 = answer
        .retry_after
        .as_deref()
        .expect("a Retry-After header")
        .parse()
        .expect("seconds");
    assert!((1..=60).contains(&wait), "Retry-After {wait}");
    // Another token has its own allowance.
    server.lead("noord").gql("{ today }", json!({})).await;
}

/// A change the policy allows but that is refused after all (a rule of the trajectory, a
/// conflict, a registry check) is logged as refused with the reason; a stored one as granted.
/// One entry per attempt, written before the answer.
#[tokio::test]
async fn the_log_records_the_outcome_of_a_change_not_the_attempt() {
    let server = Server::start().await;
    let case = server
        .open("2026-03-01", "noord", "sk-outcome", "SCHOOL")
        .await;
    let consultant = server.consultant("noord");
    let admin = server.admin();
    let assess = |on: &str, version: Option<u64>| {
        let expected = version.map_or(String::new(), |v| format!(", expectedVersion: {v}"));
        format!(
            "mutation {{ completeAssessment(trajectoryId: \"{}\", occurredOn: \"{on}\",
                 conclusion: LIGHT_HELP{expected}) {{ version }} }}",
            case.id
        )
    };
    let zero_pgb = format!(
        "mutation {{ grantPgb(trajectoryId: \"{}\", occurredOn: \"2026-03-02\",
             pgb: {{ amountCents: 0, period: MONTH, productCategory: \"45\" }}) {{ version }} }}",
        case.id
    );
    let empty_concerns = "mutation { openTrajectory(occurredOn: \"2026-03-01\", signal: {
        subjectKey: \"sk-outcome-2\", team: \"noord\", source: SCHOOL, concerns: [],
        urgency: REGULAR }) { version } }";
    // (who, the mutation, the outcome it must be logged with)
    let attempts = [
        (
            &consultant,
            assess("2099-01-01", None),
            Some("in_the_future"),
        ),
        (&consultant, zero_pgb, Some("amount_not_positive")),
        (&consultant, empty_concerns.to_owned(), Some("no_concerns")),
        (&consultant, assess("2026-03-02", Some(7)), Some("conflict")),
        (&consultant, assess("2026-03-02", Some(1)), None),
        (
            &admin,
            "mutation { addTeam(team: \"noord\", name: \"Noord\") }".to_owned(),
            Some("validation"),
        ),
        (
            &admin,
            "mutation { addTeam(team: \"centrum\", name: \"Centrum\") }".to_owned(),
            None,
        ),
    ];
    for (client, mutation, reason) in attempts {
        let before = server.access_log().await.len();
        let answer = client.send(&mutation, json!({})).await;
        assert_eq!(
            answer.code().is_some(),
            reason.is_some(),
            "{mutation}: {}",
            answer.body
        );
        let entries = new_entries(&server, before).await;
        assert_eq!(entries.len(), 1, "one entry per attempt: {entries:?}");
        let (outcome, logged_reason) = (entries[0].outcome, entries[0].reason.as_deref());
        match reason {
            Some(reason) => {
                assert_eq!(
                    (outcome, logged_reason),
                    (Outcome::Refused, Some(reason)),
                    "{mutation}"
                )
            }
            None => assert_eq!(
                (outcome, logged_reason),
                (Outcome::Granted, None),
                "{mutation}"
            ),
        }
    }
}

/// One request cannot flood the access log: every entry after a request's first counts against
/// the token's rate limit, and a field over it is refused without being read or logged.
#[tokio::test]
async fn aliases_of_one_read_count_against_the_rate_limit() {
    let mut options = options();
    options.auth.requests_per_minute = std::num::NonZeroU32::new(5).expect("not zero");
    let server = Server::start_with(options).await;
    let case = server
        .open("2026-03-01", "noord", "sk-flood", "SCHOOL")
        .await;
    // The team lead's token has not been used yet: its whole allowance of five is left.
    let lead = server.lead("noord");
    let before = server.access_log().await.len();
    let aliases: String = (0..12)
        .map(|i| format!("r{i}: trajectory(id: \"{}\") {{ version }} ", case.id))
        .collect();
    let answer = lead.send(&format!("{{ {aliases} }}"), json!({})).await;
    let errors = answer.body["errors"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let limited = errors
        .iter()
        .filter(|e| e["extensions"]["code"] == "RATE_LIMITED")
        .count();
    let read = (0..12)
        .filter(|i| answer.body["data"][format!("r{i}")]["version"] == 1)
        .count();
    let logged = new_entries(&server, before).await;
    // The request took one unit of five, its first read was free, four more were allowed.
    assert_eq!((read, limited), (5, 7), "{}", answer.body);
    assert_eq!(logged.len(), read, "{logged:?}");
    assert!(logged
        .iter()
        .all(|e| e.outcome == Outcome::Granted && e.action == AccessAction::Read));
    // And the token is now out of allowance for a while.
    let next = lead.send("{ today }", json!({})).await;
    assert_eq!(next.status, 429, "{}", next.text);
}

/// `accessLog` pages with a cursor: page after page of two, the entries are those of the log as
/// of the first page, newest first, none twice, none missed; a cursor that no page gave is the
/// caller's mistake (`VALIDATION`, naming `after`).
#[tokio::test]
async fn the_access_log_pages_with_a_cursor() {
    let server = Server::start().await;
    let case = server
        .open("2026-03-01", "noord", "sk-pages", "SCHOOL")
        .await;
    let consultant = server.consultant("noord");
    for _ in 0..4 {
        consultant
            .gql(
                "query($id: ID!) { trajectory(id: $id) { version } }",
                json!({ "id": case.id }),
            )
            .await;
    }
    let admin = server.admin();
    let page = |after: Option<String>| {
        let admin = &admin;
        async move {
            admin
                .gql(
                    "query($after: String) { accessLog(first: 2, after: $after) {
                         entries { position action } endCursor hasNextPage } }",
                    json!({ "after": after }),
                )
                .await["accessLog"]
                .clone()
        }
    };
    let mut seen: Vec<u64> = Vec::new();
    let mut next = page(None).await;
    // The first page holds this very inquiry, the newest entry.
    assert_eq!(next["entries"][0]["action"], "read_access_log", "{next:#}");
    let newest = next["entries"][0]["position"].as_u64().expect("a position");
    loop {
        let entries = next["entries"].as_array().expect("entries");
        assert!(entries.len() <= 2);
        seen.extend(
            entries
                .iter()
                .map(|e| e["position"].as_u64().expect("a position")),
        );
        if next["hasNextPage"] != true {
            break;
        }
        next = page(next["endCursor"].as_str().map(str::to_owned)).await;
    }
    let all: Vec<u64> = server
        .access_log()
        .await
        .into_iter()
        .map(|(position, _)| position)
        .filter(|position| *position <= newest)
        .rev()
        .collect();
    assert!(all.len() >= 5, "several pages: {all:?}");
    assert_eq!(seen, all);

    let (code, message) = admin
        .gql_error(
            "{ accessLog(after: \"2026-03-01/abc\") { endCursor } }",
            json!({}),
        )
        .await;
    assert_eq!(code, "VALIDATION", "{message}");
    assert!(message.contains("after"), "{message}");
}
