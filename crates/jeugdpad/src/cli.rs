//! The command line, as an operator sees it in `--help`.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Where `serve` listens unless told otherwise.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// Jeugdpad records Dutch youth-care pathways (jeugdhulptrajecten) as an immutable,
/// tamper-evident event log and answers questions about waiting times, escalations and
/// normalisation outcomes from it.
///
/// By default all data lives in one directory on this machine (the embedded store). Back it up
/// by stopping the server and copying the directory; check a copy with `jeugdpad verify --data
/// COPY`. Several machines share one store in PostgreSQL with `--store postgres://…`
/// (docs/operations.md, "More than one node").
#[derive(Debug, Parser)]
#[command(name = "jeugdpad", version, propagate_version = true)]
pub struct Cli {
    /// The data directory that holds the event store. `serve`, `seed`, `import`, `team add` and
    /// `user add` create it when it does not exist yet; the other commands need an existing one
    /// (and `verify` only reads it).
    #[arg(
        long,
        global = true,
        env = "JEUGDPAD_DATA",
        value_name = "DIR",
        default_value = "./jeugdpad-data"
    )]
    pub data: PathBuf,

    /// Keep the event store in PostgreSQL instead of the data directory, shared by every
    /// `jeugdpad serve` that names the same database and schema: a URL such as
    /// postgres://jeugdpad@db.example:5432/jeugdpad (without TLS: a private network or a local
    /// proxy). The tables are created on first use. The data directory then keeps only this
    /// node's own files: the installation secret (which every node needs, the same) and the
    /// server's address.
    #[arg(long, global = true, env = "JEUGDPAD_STORE", value_name = "URL")]
    pub store: Option<String>,

    /// The PostgreSQL schema that holds the tables, so that several installations can share
    /// one database.
    #[arg(
        long,
        global = true,
        env = "JEUGDPAD_STORE_SCHEMA",
        value_name = "NAME",
        default_value = jeugdpad_store::DEFAULT_PG_SCHEMA
    )]
    pub store_schema: String,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve Jeugdpad — the web app and the GraphQL API — until stopped (Ctrl-C or SIGTERM).
    ///
    /// Opens (or creates) the store in the data directory, rebuilds the read models from the
    /// event log, and serves the web app (in Dutch, for consultants, team leads, analysts and
    /// admins) at http://ADDR/, GraphQL at http://ADDR/graphql, GraphiQL (a query editor for
    /// developers) at http://ADDR/graphiql, subscriptions over websocket at ws://ADDR/graphql/ws,
    /// a health check at /health and Prometheus metrics at /metrics. Every file the pages use is
    /// inside this binary: it works without internet access. On stop, requests in flight are
    /// finished and appends flushed to disk before the process exits.
    ///
    /// Every request signs in: in the web app with an API token (`jeugdpad token create`) or,
    /// with --oidc-client-id, through the municipality's identity provider; over the API with a
    /// bearer token, an API token or, with --oidc-issuer, the identity provider's JWT. Who may do what, and
    /// what the access log keeps (every read of a youth's file), is in docs/security.md; the
    /// rules a step must satisfy are in docs/rules.md, and what each figure means in
    /// docs/figures.md.
    Serve(Box<ServeArgs>),

    /// Teams (wijkteams): add and list.
    ///
    /// With the server stopped, in the data directory. While `jeugdpad serve` runs on it, through
    /// the server's admin API: --server URL with an admin's API token.
    Team(TeamArgs),

    /// Users: add, deactivate and list.
    ///
    /// With the server stopped, in the data directory. While `jeugdpad serve` runs on it, through
    /// the server's admin API: --server URL with an admin's API token.
    User(UserArgs),

    /// API tokens: create (shown once), revoke and list.
    ///
    /// With the server stopped, in the data directory. While `jeugdpad serve` runs on it, through
    /// the server's admin API: --server URL with an admin's API token.
    Token(TokenArgs),

    /// Check the store for damage or tampering, without changing it.
    ///
    /// Walks the whole event log and checks that every global position from 1 on is present,
    /// that each stream's versions are gapless, that the indexes agree with the log, and that
    /// the SHA-256 chain linking every event to the one before it is unbroken. Reports the first
    /// damaged position. Exit code 0: intact; 1: damage found; 2: the store could not be read.
    ///
    /// Run it on a copy (for example a restored backup) as well as on the live directory; stop
    /// the server first, because the store allows one process at a time.
    Verify(VerifyArgs),

    /// Record a synthetic municipality into the data directory: the demo data.
    ///
    /// Generates a deterministic cohort (the same --seed, scenario and --today give the same
    /// trajectories, ids included) of a Purmerend-sized municipality by default — six wijkteams,
    /// 2,500 trajectories a year since 2021 — and records it, every step checked by the same
    /// rules as a consultant's (docs/rules.md). Nobody in it is real: subject keys are
    /// `sk-synth-NNNNNN`.
    ///
    /// The data directory must be empty (or new) unless --allow-non-empty is given, and the
    /// server must not be running on it: stop it, seed, start it again.
    Seed(SeedArgs),

    /// Import events from a JSON Lines file (one envelope per line, as `export --format jsonl
    /// --what events` writes it): how a municipality migrates its history in.
    ///
    /// Every stream is replayed through the rules a consultant's steps must satisfy
    /// (docs/rules.md): each line must be acceptable given the stream so far. A stream with a bad line is not imported at all (all-or-nothing per
    /// stream); the report lists every line not imported with its line number, stream and
    /// reason. Into an empty data directory the envelopes are kept exactly (positions,
    /// recorded_at, recorded_by, event ids), so the event hashes equal the source's.
    /// Exit code 0: everything imported; 1: some streams refused; 2: the import failed.
    /// The server must not be running on the data directory.
    Import(ImportArgs),

    /// Copy a whole store to another place: the data directory to PostgreSQL, or back.
    ///
    /// Copies everything the store holds — the event log with the user registry and the access
    /// log (NEN 7513) in it, and the vault of per-subject data keys — with every position, event
    /// id and hash as it was, then verifies both sides and compares their head hashes. The
    /// target must be empty. Stop every server on the source first: what is appended after the
    /// copy began is not copied. The installation secret is a file, not part of the store: give
    /// every node the same one (docs/operations.md).
    ///
    /// Examples: `jeugdpad migrate --from ./jeugdpad-data --to postgres://jeugdpad@db/jeugdpad`;
    /// back: `jeugdpad migrate --from postgres://jeugdpad@db/jeugdpad --to ./copy`.
    Migrate(MigrateArgs),

    /// Back up the store into a new directory, while the server runs or not.
    ///
    /// Copies the event log up to its head at the start (the trajectories, the user registry
    /// and the NEN 7513 access log are in it) and the vault of per-subject data keys, with every
    /// position, event id and hash as they are, verifies the copy and writes a BACKUP file with
    /// the head position and hash it ends at. While `jeugdpad serve` runs on the data directory
    /// the server makes the copy (through the control socket in the data directory, which only
    /// the server's own user can open) and keeps serving; otherwise this command does. Steps
    /// recorded meanwhile are in the next backup. The backup is written to the access log.
    ///
    /// The installation secret is not in the backup: keep it apart (docs/security.md, "Key
    /// material"). Keep the printed head hash somewhere else: `jeugdpad verify --at POSITION`
    /// checks it later. Exit code 0: backed up and verified; 2: no backup was made.
    ///
    /// Example: `jeugdpad backup --to /backups/jeugdpad-2026-11-30`.
    Backup(BackupArgs),

    /// Restore a backup made by `jeugdpad backup` into an empty store.
    ///
    /// Checks the backup first (the whole log verified, ending at the head position and hash
    /// its BACKUP file names), then copies it into the data directory (or the PostgreSQL schema
    /// --store names), which must hold no events, and verifies the result: the same events at
    /// the same positions with the same head hash, the registry, the access log and the vault.
    /// The server must not be running on the target. Put the installation secret back as well
    /// (docs/operations.md, "Restore"). Exit code 0: restored and verified; 1: the result does
    /// not verify to the backup's head; 2: nothing was restored.
    ///
    /// Example: `jeugdpad restore --from /backups/jeugdpad-2026-11-30 --data ./jeugdpad-data`.
    Restore(RestoreArgs),

    /// Upgrade a data directory of an earlier release (the sled format, format 1) to the
    /// segment log (format 2), in place.
    ///
    /// Copies every event with its stored bytes, so that every position, event id and chain
    /// hash stays the same, and the vault of per-subject data keys; verifies the new log against
    /// the old head; then switches the directory over in one step. The old files are kept in
    /// DATA/format-1 until you remove them. Needs free space about the size of the store. An
    /// upgrade that was interrupted is started again by running the command again. The server
    /// must not be running. Exit code 0: upgraded (or nothing to do); 1: the copy did not verify
    /// to the old head, nothing was changed; 2: no upgrade was made.
    ///
    /// Example: `jeugdpad upgrade --data ./jeugdpad-data`.
    Upgrade,

    /// Export events or pseudonymised trajectory summaries as JSON Lines, CSV or Parquet.
    ///
    /// Summaries (one row per trajectory as of --as-of) and CSV/Parquet events are the
    /// analyst's exports: a youth appears only by subject key, free text (correction reasons,
    /// provider names) and staff ids are left out. JSON Lines events are the complete log, for
    /// `jeugdpad import` elsewhere: treat that file like the data directory itself. The columns
    /// are described in docs/export-columns.md. An earlier export in --out is not replaced
    /// unless --force is given. Every export is written to the access log. The server must not
    /// be running on the data directory.
    Export(ExportArgs),
}

/// Options of `jeugdpad seed`.
#[derive(Debug, clap::Args)]
pub struct SeedArgs {
    /// Generate synthetic data (the only kind of seeding there is; required so that nobody
    /// seeds a production directory by accident).
    #[arg(long, required = true)]
    pub synthetic: bool,

    /// The generator's seed.
    #[arg(long, default_value_t = 2026)]
    pub seed: u64,

    /// A scenario file (TOML; see examples/purmerend.toml); default: the built-in
    /// Purmerend-like scenario.
    #[arg(long, value_name = "FILE")]
    pub scenario: Option<PathBuf>,

    /// How many trajectories, instead of the scenario's trajectories_per_year × years.
    #[arg(long, value_name = "N")]
    pub trajectories: Option<u64>,

    /// "Today" for the generator (YYYY-MM-DD): nothing is dated later; default: today.
    #[arg(long, value_name = "DATE")]
    pub today: Option<chrono::NaiveDate>,

    /// Add to a data directory that already holds events.
    #[arg(long)]
    pub allow_non_empty: bool,
}

/// Options of `jeugdpad import`.
#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// The JSON Lines file.
    #[arg(value_name = "FILE.jsonl")]
    pub file: PathBuf,

    /// `recorded_by` for lines that carry none.
    #[arg(
        long,
        env = "JEUGDPAD_OPERATOR",
        value_name = "USER",
        default_value = "import"
    )]
    pub operator: String,

    /// "Today" for the rules (no step after it); default: today.
    #[arg(long, value_name = "DATE")]
    pub today: Option<chrono::NaiveDate>,

    /// Take steps dated before the Jeugdwet (1 January 2015), from a municipality's older
    /// files; without it such a step is refused as implausible (docs/rules.md).
    #[arg(long)]
    pub historic: bool,
}

/// Options of `jeugdpad migrate`.
#[derive(Debug, clap::Args)]
pub struct MigrateArgs {
    /// Where the store is now: a data directory, or a postgres:// URL (in the schema
    /// --store-schema names).
    #[arg(long, value_name = "DIR|URL")]
    pub from: String,

    /// Where the copy goes: a new or empty data directory, or a postgres:// URL (in the schema
    /// --store-schema names), which must hold no events yet.
    #[arg(long, value_name = "DIR|URL")]
    pub to: String,
}

/// Options of `jeugdpad backup`.
#[derive(Debug, clap::Args)]
pub struct BackupArgs {
    /// The directory to write the backup into: new, or empty.
    #[arg(long, value_name = "DIR")]
    pub to: PathBuf,
}

/// Options of `jeugdpad restore`.
#[derive(Debug, clap::Args)]
pub struct RestoreArgs {
    /// The backup: a directory `jeugdpad backup` wrote.
    #[arg(long, value_name = "DIR")]
    pub from: PathBuf,
}

/// Options of `jeugdpad export`.
#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// The file format.
    #[arg(long, value_enum, default_value = "csv")]
    pub format: Format,

    /// The directory to write into (created if missing).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,

    /// What to export.
    #[arg(long, value_enum, default_value = "summaries")]
    pub what: What,

    /// The reference date of the summaries (YYYY-MM-DD); default: today. What each figure
    /// means is in docs/figures.md.
    #[arg(long, value_name = "DATE")]
    pub as_of: Option<chrono::NaiveDate>,

    /// Replace the file of an earlier export in --out (by default an existing file is left as
    /// it is and the export refused).
    #[arg(long)]
    pub force: bool,
    /// Summaries as the system knew them at this instant (RFC 3339, e.g.
    /// 2026-01-05T09:00:00Z): only steps and corrections recorded at or before it count.
    /// Default: everything recorded.
    #[arg(long, value_name = "INSTANT")]
    pub known_on: Option<chrono::DateTime<chrono::Utc>>,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Format {
    Jsonl,
    Csv,
    Parquet,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum What {
    Events,
    Summaries,
}

/// Options of `jeugdpad serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// The address to listen on.
    #[arg(
        long,
        env = "JEUGDPAD_LISTEN",
        value_name = "ADDR",
        default_value = DEFAULT_LISTEN
    )]
    pub listen: std::net::SocketAddr,

    /// Requests per minute one token (or one identity-provider user) may make.
    #[arg(
        long,
        env = "JEUGDPAD_RATE_LIMIT",
        value_name = "N",
        default_value_t = 600
    )]
    pub rate_limit: u32,

    /// Memory for the embedded store's page cache, in MiB. In a segment-log store it caches
    /// only the vault (the per-youth keys); in an older sled store, every page, so more makes
    /// reading old trajectories (timelines, knownOn views) faster there. The figures come from
    /// the read models either way, and appends are durable whatever the size.
    #[arg(
        long,
        env = "JEUGDPAD_STORE_CACHE_MB",
        value_name = "MIB",
        default_value_t = 128
    )]
    pub store_cache_mb: u64,

    /// The identity provider's issuer (`iss`); turns on sign-in with its JWTs (RS256/ES256).
    #[arg(long, env = "JEUGDPAD_OIDC_ISSUER", value_name = "URL", requires_all = ["oidc_audience", "oidc_jwks"])]
    pub oidc_issuer: Option<String>,

    /// The audience (`aud`) Jeugdpad's tokens must carry.
    #[arg(long, env = "JEUGDPAD_OIDC_AUDIENCE", value_name = "AUD")]
    pub oidc_audience: Option<String>,

    /// The identity provider's keys: a JWKS file, or an https URL (refetched when a new key id
    /// appears, at most once a minute).
    #[arg(long, env = "JEUGDPAD_OIDC_JWKS", value_name = "FILE|URL")]
    pub oidc_jwks: Option<String>,

    /// The claim holding the Jeugdpad role (consultant, team_lead, analyst, admin); a dotted
    /// path reaches into nested claims, e.g. `realm_access.roles`.
    #[arg(
        long,
        env = "JEUGDPAD_OIDC_ROLE_CLAIM",
        value_name = "CLAIM",
        default_value = "jeugdpad_role"
    )]
    pub oidc_role_claim: String,

    /// The claim holding the team code of consultants and team leads.
    #[arg(
        long,
        env = "JEUGDPAD_OIDC_TEAM_CLAIM",
        value_name = "CLAIM",
        default_value = "jeugdpad_team"
    )]
    pub oidc_team_claim: String,

    /// The installation secret (BSN pseudonyms); default: DATA/install-secret, created on first
    /// start with mode 0600. Back it up apart from the data (docs/security.md).
    #[arg(long, env = "JEUGDPAD_SECRET_FILE", value_name = "FILE")]
    pub secret_file: Option<PathBuf>,

    /// Start with a new installation secret although the old one is missing and the store holds
    /// youths recorded by BSN with it. Without it `serve` refuses to start (exit 2): restore the
    /// secret from its backup instead. With it, a BSN no longer finds the youths recorded before.
    #[arg(long)]
    pub new_secret: bool,

    /// The address people reach Jeugdpad at, when it is not the listening address, e.g.
    /// https://jeugdpad.gemeente.nl behind the municipality's TLS proxy. An https URL marks the
    /// web app's session cookie Secure (sent over TLS only); the identity provider's redirect
    /// URI is built from it.
    #[arg(long, env = "JEUGDPAD_PUBLIC_URL", value_name = "URL")]
    pub public_url: Option<String>,

    /// The web app's client id at the identity provider: turns on "Aanmelden via uw
    /// organisatie" (authorisation-code flow with PKCE). Needs --oidc-issuer (and its audience
    /// and keys: the tokens it yields are checked like API bearer tokens). The endpoints come
    /// from the issuer's discovery document unless both are given below.
    #[arg(
        long,
        env = "JEUGDPAD_OIDC_CLIENT_ID",
        value_name = "ID",
        requires = "oidc_issuer"
    )]
    pub oidc_client_id: Option<String>,

    /// A file holding the client secret, for a provider that wants one at its token endpoint
    /// (never an argument: a command line ends up in `ps` and the shell's history).
    #[arg(long, env = "JEUGDPAD_OIDC_CLIENT_SECRET_FILE", value_name = "FILE")]
    pub oidc_client_secret_file: Option<PathBuf>,

    /// The provider's authorisation endpoint (instead of the discovery document's).
    #[arg(long, env = "JEUGDPAD_OIDC_AUTHORIZATION_ENDPOINT", value_name = "URL")]
    pub oidc_authorization_endpoint: Option<String>,

    /// The provider's token endpoint (instead of the discovery document's).
    #[arg(long, env = "JEUGDPAD_OIDC_TOKEN_ENDPOINT", value_name = "URL")]
    pub oidc_token_endpoint: Option<String>,

    /// The scopes the web app asks the provider for.
    #[arg(
        long,
        env = "JEUGDPAD_OIDC_SCOPES",
        value_name = "SCOPES",
        default_value = "openid"
    )]
    pub oidc_scopes: String,

    /// A CSS file with the municipality's theme (custom properties such as `--jp-accent`),
    /// served after the web app's own stylesheet (docs/guide-operator.md).
    #[arg(long, env = "JEUGDPAD_THEME_CSS", value_name = "FILE")]
    pub theme_css: Option<PathBuf>,
}

/// Where `jeugdpad team|user|token` makes its change: the data directory, or a running server.
#[derive(Debug, Clone, clap::Args)]
pub struct AdminTarget {
    /// Send the command to the running server's admin API at URL (e.g. http://127.0.0.1:8080,
    /// the address `serve --listen` gives) instead of opening the data directory, which the
    /// server holds while it runs. Signs in with an admin's API token from JEUGDPAD_TOKEN or
    /// --token-file; there is no option that takes the token itself, because a command line
    /// ends up in the shell's history and in `ps`.
    #[arg(long, global = true, env = "JEUGDPAD_SERVER", value_name = "URL")]
    pub server: Option<String>,

    /// A file holding an admin's API token, for --server (instead of JEUGDPAD_TOKEN). Keep it
    /// readable only by you (chmod 600).
    #[arg(long, global = true, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
}

/// `jeugdpad team …`
#[derive(Debug, clap::Args)]
pub struct TeamArgs {
    #[command(subcommand)]
    pub command: TeamCommand,
    #[command(flatten)]
    pub target: AdminTarget,
}

/// `jeugdpad user …`
#[derive(Debug, clap::Args)]
pub struct UserArgs {
    #[command(subcommand)]
    pub command: UserCommand,
    #[command(flatten)]
    pub target: AdminTarget,
}

/// `jeugdpad token …`
#[derive(Debug, clap::Args)]
pub struct TokenArgs {
    #[command(subcommand)]
    pub command: TokenCommand,
    #[command(flatten)]
    pub target: AdminTarget,
}

/// `jeugdpad team add|list`
#[derive(Debug, Subcommand)]
pub enum TeamCommand {
    /// Add a team.
    Add {
        /// Its code, as trajectories name it (lowercase, digits, '-', '_'), e.g. `wijkteam-noord`.
        code: String,
        /// Its name, for people.
        #[arg(long)]
        name: String,
    },
    /// List the teams.
    List,
}

/// `jeugdpad user add|deactivate|list`
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user.
    Add {
        /// The user id (stored as `recorded_by`), e.g. `j.jansen`.
        id: String,
        /// Their display name.
        #[arg(long)]
        name: String,
        /// consultant, team_lead, analyst or admin.
        #[arg(long)]
        role: String,
        /// Their team (consultants and team leads only).
        #[arg(long)]
        team: Option<String>,
    },
    /// Deactivate a user: none of their tokens works any more.
    Deactivate {
        /// The user id.
        id: String,
    },
    /// List the users.
    List,
}

/// `jeugdpad token create|revoke|list`
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create an API token for a user and print it, once: only its hash is kept.
    Create {
        /// Whose token.
        #[arg(long)]
        user: String,
        /// What it is for ("laptop", "Power BI").
        #[arg(long)]
        label: Option<String>,
        /// Days until it stops working.
        #[arg(long, value_name = "DAYS", default_value_t = 90)]
        expires_in_days: u32,
        /// Print only the token (for scripts).
        #[arg(long)]
        quiet: bool,
    },
    /// Revoke a token at once, by its id (the part after `jpt_`, shown by `token list`).
    Revoke {
        /// The token id.
        id: String,
    },
    /// List tokens (ids, users, expiry, revoked) — never the tokens themselves.
    List,
}

/// `jeugdpad verify`'s options.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// Also print the chain hash stored with this position, to compare with a head hash kept
    /// from an earlier run (docs/operations.md): a position beyond the log is damage.
    #[arg(long, value_name = "POSITION")]
    pub at: Option<u64>,
}
