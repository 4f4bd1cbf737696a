//! The web app's promises that a browser test would only see from the outside: cookie flags,
//! CSRF, session expiry and revocation, one access-log entry per look, the BSN never written
//! back, the download through the gate, and the identity provider's authorisation-code flow with
//! PKCE against a fake provider. The router runs in-process (`oneshot`) on the same state as the
//! harness's server, so sessions and the access log are the real ones.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use jeugdpad_access::{AccessAction, Outcome};
use jeugdpad_api::{Options, SessionOptions};
use jeugdpad_web::{OidcClientOptions, WebOptions};
use serde_json::json;
use tower::ServiceExt;

use super::{consultant_id, options, Server, ADMIN};

/// One answer of the web app.
struct Answer {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: String,
}

impl Answer {
    fn location(&self) -> &str {
        self.headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    /// The value of cookie `name` set by this answer (and the whole `Set-Cookie` line).
    fn cookie(&self, name: &str) -> Option<(String, String)> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|line| line.starts_with(&format!("{name}=")))
            .map(|line| {
                let value = line[name.len() + 1..].split(';').next().unwrap_or_default();
                (value.to_owned(), line.to_owned())
            })
    }

    /// The first hidden `_csrf` value on the page.
    fn csrf(&self) -> String {
        let marker = "name=\"_csrf\" value=\"";
        let at = self.body.find(marker).expect("a form with a CSRF token") + marker.len();
        self.body[at..]
            .split('"')
            .next()
            .unwrap_or_default()
            .to_owned()
    }
}

async fn send(router: &Router, request: Request<Body>) -> Answer {
    let response = router.clone().oneshot(request).await.expect("an answer");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("a body")
        .to_bytes();
    Answer {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

fn get(path: &str, cookie: Option<&str>) -> Request<Body> {
    let mut request = Request::get(path).header(header::HOST, "jeugdpad.test");
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    request.body(Body::empty()).expect("a request")
}

fn post(path: &str, cookie: &str, form: &str, origin: Option<&str>) -> Request<Body> {
    let mut request = Request::post(path)
        .header(header::HOST, "jeugdpad.test")
        .header(header::COOKIE, cookie)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(origin) = origin {
        request = request.header(header::ORIGIN, origin);
    }
    request
        .body(Body::from(form.to_owned()))
        .expect("a request")
}

/// The web app beside the API, on the harness server's state.
async fn web_with(server: &Server, options: WebOptions) -> Router {
    let state = server.server.state.clone();
    jeugdpad_web::router(state.clone(), options)
        .await
        .expect("the web app starts")
        .merge(jeugdpad_api::app(state))
}

async fn web(server: &Server) -> Router {
    web_with(server, WebOptions::default()).await
}

/// Signs in with `token` through the sign-in form; the session cookie (`name=value`) and its
/// whole `Set-Cookie` line.
async fn sign_in(router: &Router, token: &str) -> (String, String) {
    let form = send(router, get("/aanmelden", None)).await;
    let (form_cookie, _) = form.cookie("jeugdpad_aanmelding").expect("a form cookie");
    let body = format!(
        "_csrf={}&token={}",
        form.csrf(),
        form_urlencoded::byte_serialize(token.as_bytes()).collect::<String>()
    );
    let answer = send(
        router,
        post(
            "/aanmelden",
            &format!("jeugdpad_aanmelding={form_cookie}"),
            &body,
            Some("http://jeugdpad.test"),
        ),
    )
    .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    let (session, line) = answer.cookie("jeugdpad_sessie").expect("a session cookie");
    (format!("jeugdpad_sessie={session}"), line)
}

#[tokio::test]
async fn the_session_cookie_is_http_only_strict_and_secure_behind_https() {
    let server = Server::start().await;
    let plain = web(&server).await;
    let (_, line) = sign_in(&plain, server.token(&consultant_id("noord"))).await;
    assert!(
        line.contains("HttpOnly") && line.contains("SameSite=Strict"),
        "{line}"
    );
    assert!(!line.contains("Secure"), "no TLS in front: {line}");
    let behind_tls = web_with(
        &server,
        WebOptions {
            public_url: Some("https://jeugdpad.gemeente.example".into()),
            ..WebOptions::default()
        },
    )
    .await;
    let (cookie, line) = sign_in(&behind_tls, server.token(&consultant_id("noord"))).await;
    assert!(
        line.contains("HttpOnly") && line.contains("SameSite=Strict") && line.contains("Secure"),
        "{line}"
    );
    // The page tells caches and other origins nothing.
    let page = send(&behind_tls, get("/caseload", Some(&cookie))).await;
    assert_eq!(page.status, StatusCode::OK);
    let header = |name: &str| {
        page.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(header("cache-control"), "no-store");
    assert!(header("content-security-policy").starts_with("default-src 'self'"));
    // A wrong token is refused with the sentence beside the field, and logged.
    let form = send(&plain, get("/aanmelden", None)).await;
    let (form_cookie, _) = form.cookie("jeugdpad_aanmelding").expect("a form cookie");
    let refused = send(
        &plain,
        post(
            "/aanmelden",
            &format!("jeugdpad_aanmelding={form_cookie}"),
            &format!("_csrf={}&token=jpt_0000_nep", form.csrf()),
            None,
        ),
    )
    .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert!(
        refused.body.contains("Dit token kennen we niet"),
        "{}",
        refused.body
    );
    assert!(refused.cookie("jeugdpad_sessie").is_none());
    let log = server.access_log().await;
    let last = &log.last().expect("an entry").1;
    assert_eq!(
        (last.action, last.outcome, last.operation.as_str()),
        (AccessAction::FailedSignIn, Outcome::Refused, "web_sign_in")
    );
}

#[tokio::test]
async fn a_form_without_the_sessions_token_or_from_another_site_writes_nothing() {
    let server = Server::start().await;
    let router = web(&server).await;
    let case = server
        .open("2026-06-01", "noord", "sk-web-csrf", "SCHOOL")
        .await;
    let (cookie, _) = sign_in(&router, server.token(&consultant_id("noord"))).await;
    let path = format!("/traject/{}/stap/onderzoek-afronden", case.id);
    let form = send(&router, get(&path, Some(&cookie))).await;
    assert_eq!(form.status, StatusCode::OK);
    let fields = |csrf: &str| {
        format!("_csrf={csrf}&versie=1&eventId=&datum=10-06-2026&conclusie=light_help")
    };
    let written = server.trajectory_event_count().await;
    for (csrf, origin) in [
        ("", None),
        ("0123456789abcdef", None),
        (form.csrf().as_str(), Some("https://evil.example")),
    ] {
        let answer = send(&router, post(&path, &cookie, &fields(csrf), origin)).await;
        assert_eq!(
            answer.status,
            StatusCode::FORBIDDEN,
            "csrf {csrf:?} origin {origin:?}"
        );
        assert_eq!(server.trajectory_event_count().await, written);
    }
    let recorded = send(
        &router,
        post(
            &path,
            &cookie,
            &fields(&form.csrf()),
            Some("http://jeugdpad.test"),
        ),
    )
    .await;
    assert_eq!(recorded.status, StatusCode::SEE_OTHER, "{}", recorded.body);
    assert!(recorded
        .location()
        .starts_with(&format!("/traject/{}?vastgelegd=", case.id)));
    assert_eq!(server.trajectory_event_count().await, written + 1);
}

/// A full disk: the pages say what the API says — the step was not recorded, try again later —
/// not a generic "something went wrong"; once there is room the same form records the step.
#[tokio::test]
async fn a_full_disk_shows_the_storage_sentence_and_the_form_works_again_once_there_is_room() {
    let (harness, faults) = super::in_process::harness_with_faults().await;
    let id = harness.open().await;
    let router = jeugdpad_web::router(harness.state.clone(), WebOptions::default())
        .await
        .expect("the web app starts")
        .merge(jeugdpad_api::app(harness.state.clone()));
    let (cookie, _) = sign_in(&router, &harness.consultant).await;
    let path = format!("/traject/{id}/stap/onderzoek-afronden");
    let form = send(&router, get(&path, Some(&cookie))).await;
    assert_eq!(form.status, StatusCode::OK);
    let fields = format!(
        "_csrf={}&versie=1&eventId=&datum=10-05-2025&conclusie=light_help",
        form.csrf()
    );

    faults.set_space_left(0);
    let refused = send(
        &router,
        post(&path, &cookie, &fields, Some("http://jeugdpad.test")),
    )
    .await;
    assert_eq!(
        refused.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        refused.body
    );
    assert!(
        refused.body.contains("De opslag is vol")
            && refused.body.contains("Uw stap is niet opgeslagen"),
        "{}",
        refused.body
    );
    assert!(!refused.body.contains("Er ging iets mis aan onze kant"));
    let page = send(&router, get(&format!("/traject/{id}"), Some(&cookie))).await;
    assert_eq!(page.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(page.body.contains("De opslag is vol"), "{}", page.body);

    faults.set_space_left(u64::MAX);
    let recorded = send(
        &router,
        post(&path, &cookie, &fields, Some("http://jeugdpad.test")),
    )
    .await;
    assert_eq!(recorded.status, StatusCode::SEE_OTHER, "{}", recorded.body);
    let page = send(&router, get(&format!("/traject/{id}"), Some(&cookie))).await;
    assert_eq!(page.status, StatusCode::OK);
    let steps = page
        .body
        .matches("jp-event-title\">Onderzoek afgerond")
        .count();
    assert_eq!(steps, 1, "the step once: {}", page.body);
}

/// One look at a child's file, one entry in the access log — not one by the page and one by the
/// API: the page's data is the API's answer, logged where it is given.
#[tokio::test]
async fn every_look_at_a_file_is_logged_exactly_once() {
    let server = Server::start().await;
    let router = web(&server).await;
    let case = server
        .open("2026-06-01", "noord", "sk-web-once", "SCHOOL")
        .await;
    let (cookie, _) = sign_in(&router, server.token(&consultant_id("noord"))).await;
    let id = jeugdpad_domain::TrajectoryId::parse(&case.id).expect("an id");
    let reads = |log: &[(u64, jeugdpad_access::AccessEntry)]| {
        log.iter()
            .filter(|(_, e)| e.trajectory == Some(id) && e.action == AccessAction::Read)
            .count()
    };
    let before = server.access_log().await;
    let page = send(
        &router,
        get(&format!("/traject/{}", case.id), Some(&cookie)),
    )
    .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("sk-web-once"));
    let after = server.access_log().await;
    assert_eq!(
        reads(&after),
        reads(&before) + 1,
        "one read for one page view"
    );
    assert_eq!(after.len(), before.len() + 1, "and nothing else logged");
    let entry = &after.last().expect("an entry").1;
    assert_eq!(entry.operation, "trajectory");
    assert_eq!(
        entry.user.as_ref().map(|u| u.as_str()),
        Some(consultant_id("noord").as_str())
    );
    // The caseload: one list of the team's trajectories.
    let caseload = send(&router, get("/caseload", Some(&cookie))).await;
    assert_eq!(caseload.status, StatusCode::OK);
    let listed = server.access_log().await;
    assert_eq!(listed.len(), after.len() + 1);
    assert_eq!(
        listed.last().expect("an entry").1.action,
        AccessAction::List
    );
    // Another team's consultant: a refusal page, and the refusal logged once.
    let (other, _) = sign_in(&router, server.token(&consultant_id("zuid"))).await;
    let refused = send(&router, get(&format!("/traject/{}", case.id), Some(&other))).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(refused.body.contains("U hebt geen toegang"));
    let log = server.access_log().await;
    let entry = &log.last().expect("an entry").1;
    assert_eq!(
        (entry.outcome, entry.trajectory),
        (Outcome::Refused, Some(id))
    );
    assert_eq!(log.len(), listed.len() + 1);
}

#[tokio::test]
async fn a_session_ends_when_idle_and_when_its_token_is_revoked() {
    let server = Server::start_with(Options {
        sessions: SessionOptions {
            idle: Duration::from_millis(800),
            absolute: Duration::from_secs(3600),
        },
        ..options()
    })
    .await;
    let router = web(&server).await;
    let (cookie, _) = sign_in(&router, server.token(&consultant_id("noord"))).await;
    assert_eq!(
        send(&router, get("/caseload", Some(&cookie))).await.status,
        StatusCode::OK
    );
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let ended = send(&router, get("/caseload", Some(&cookie))).await;
    assert_eq!(ended.status, StatusCode::SEE_OTHER);
    assert!(
        ended.location().contains("reden=verlopen"),
        "{}",
        ended.location()
    );
    assert!(ended
        .cookie("jeugdpad_sessie")
        .is_some_and(|(v, line)| v.is_empty() && line.contains("Max-Age=0")));

    // A revoked token ends its sessions at their next request, and the access log says so.
    let (id, token) = server.mint_token(&consultant_id("noord"), None).await;
    let (cookie, _) = sign_in(&router, &token).await;
    assert_eq!(
        send(&router, get("/caseload", Some(&cookie))).await.status,
        StatusCode::OK
    );
    server
        .admin()
        .gql(
            "mutation($id: String!) { revokeToken(tokenId: $id) }",
            json!({ "id": id }),
        )
        .await;
    let ended = send(&router, get("/caseload", Some(&cookie))).await;
    assert_eq!(ended.status, StatusCode::SEE_OTHER);
    let log = server.access_log().await;
    let entry = &log.last().expect("an entry").1;
    assert_eq!(
        (entry.action, entry.operation.as_str()),
        (AccessAction::FailedSignIn, "web_session")
    );
    assert_eq!(entry.reason.as_deref(), Some("revoked_token"));
}

#[tokio::test]
async fn a_bsn_is_never_written_back() {
    let server = Server::start().await;
    let router = web(&server).await;
    let (cookie, _) = sign_in(&router, server.token(&consultant_id("noord"))).await;
    let form = send(&router, get("/melding", Some(&cookie))).await;
    let bsn = "111222333";
    let opened = send(
        &router,
        post(
            "/melding",
            &cookie,
            &format!(
                "_csrf={}&bsn={bsn}&datum=01-06-2026&bron=school&zorgen=parenting&urgentie=regular",
                form.csrf()
            ),
            None,
        ),
    )
    .await;
    assert_eq!(opened.status, StatusCode::SEE_OTHER, "{}", opened.body);
    assert!(!opened.location().contains(bsn));
    let page = send(&router, get(opened.location(), Some(&cookie))).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Vastgelegd: Signaal ontvangen"));
    assert!(!page.body.contains(bsn));
    // A mistyped BSN (elfproef): the Dutch sentence, no digits.
    let wrong = "111222334";
    for (path, fields) in [
        (
            "/caseload/bsn",
            format!("_csrf={}&bsn={wrong}", form.csrf()),
        ),
        (
            "/melding",
            format!(
                "_csrf={}&bsn={wrong}&datum=01-06-2026&bron=school&zorgen=parenting",
                form.csrf()
            ),
        ),
    ] {
        let refused = send(&router, post(path, &cookie, &fields, None)).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{path}");
        assert!(
            refused.body.contains("elfproef"),
            "{path}: {}",
            refused.body
        );
        assert!(!refused.body.contains(wrong), "{path} echoes the BSN");
    }
    // Found by BSN: straight to the trajectory, the BSN in no URL.
    let found = send(
        &router,
        post(
            "/caseload/bsn",
            &cookie,
            &format!("_csrf={}&bsn={bsn}", form.csrf()),
            None,
        ),
    )
    .await;
    assert_eq!(found.status, StatusCode::SEE_OTHER);
    assert_eq!(
        found.location(),
        opened.location().split('?').next().unwrap_or_default()
    );
}

#[tokio::test]
async fn the_summary_download_goes_through_the_gate() {
    let server = Server::start().await;
    let router = web(&server).await;
    server
        .open("2026-06-01", "noord", "sk-web-export", "SCHOOL")
        .await;
    let (analyst, _) = sign_in(&router, server.token(super::ANALYST)).await;
    let before = server.access_log().await.len();
    let csv = send(
        &router,
        get(
            "/normalisatie/export?formaat=csv&peildatum=2026-06-30",
            Some(&analyst),
        ),
    )
    .await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(
        csv.body.starts_with("trajectory_id"),
        "{}",
        &csv.body[..csv.body.len().min(80)]
    );
    assert!(csv.body.contains("sk-web-export"));
    let log = server.access_log().await;
    assert_eq!(log.len(), before + 1, "one export, one entry");
    let entry = &log.last().expect("an entry").1;
    assert_eq!(
        (entry.action, entry.operation.as_str()),
        (AccessAction::Export, "summaryExportFile")
    );
    // A consultant may not: refused, and the refusal logged.
    let (consultant, _) = sign_in(&router, server.token(&consultant_id("noord"))).await;
    let refused = send(
        &router,
        get("/normalisatie/export?formaat=parquet", Some(&consultant)),
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let entry = &server
        .access_log()
        .await
        .last()
        .expect("an entry")
        .1
        .clone();
    assert_eq!(
        (entry.action, entry.outcome),
        (AccessAction::Export, Outcome::Refused)
    );
}

/// What the fake identity provider saw and decided.
#[derive(Default)]
struct Provider {
    /// `code_challenge` of the last authorisation request.
    challenge: Option<String>,
    redirect_uri: Option<String>,
    /// How many codes it exchanged for tokens.
    exchanged: usize,
}

/// A fake identity provider: `/auth` hands out code `c0de` to the redirect URI at once;
/// `/token` gives a JWT signed with the fixture key only for that code, that redirect URI and
/// a verifier whose S256 is the challenge — the PKCE check a real provider does.
async fn fake_provider(
    issuer_jwt: impl Fn() -> String + Send + Sync + 'static,
) -> (String, Arc<Mutex<Provider>>) {
    use axum::extract::{Form, Query, State};
    use axum::response::{IntoResponse, Redirect};
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;
    use sha2::{Digest, Sha256};
    use std::collections::HashMap;

    type Shared = (Arc<Mutex<Provider>>, Arc<dyn Fn() -> String + Send + Sync>);
    let seen = Arc::new(Mutex::new(Provider::default()));
    let shared: Shared = (Arc::clone(&seen), Arc::new(issuer_jwt));
    let app = Router::new()
        .route(
            "/auth",
            axum::routing::get(|State((seen, _)): State<Shared>, Query(q): Query<HashMap<String, String>>| async move {
                assert_eq!(q.get("response_type").map(String::as_str), Some("code"));
                assert_eq!(q.get("code_challenge_method").map(String::as_str), Some("S256"));
                let mut seen = seen.lock().expect("lock");
                seen.challenge = q.get("code_challenge").cloned();
                seen.redirect_uri = q.get("redirect_uri").cloned();
                let back = format!("{}?code=c0de&state={}", q["redirect_uri"], q["state"]);
                Redirect::to(&back).into_response()
            }),
        )
        .route(
            "/token",
            axum::routing::post(|State((seen, jwt)): State<Shared>, Form(f): Form<HashMap<String, String>>| async move {
                let mut seen = seen.lock().expect("lock");
                let verifier = f.get("code_verifier").cloned().unwrap_or_default();
                let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
                let fine = f.get("grant_type").map(String::as_str) == Some("authorization_code")
                    && f.get("code").map(String::as_str) == Some("c0de")
                    && seen.challenge.as_deref() == Some(challenge.as_str())
                    && f.get("redirect_uri") == seen.redirect_uri.as_ref();
                if !fine {
                    return (StatusCode::BAD_REQUEST, axum::Json(json!({ "error": "invalid_grant" }))).into_response();
                }
                seen.exchanged += 1;
                axum::Json(json!({ "access_token": jwt(), "token_type": "Bearer", "expires_in": 300 })).into_response()
            }),
        )
        .with_state(shared);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .expect("a port");
    let addr = listener.local_addr().expect("an address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}"), seen)
}

#[tokio::test]
async fn signing_in_with_the_identity_provider_uses_the_code_flow_with_pkce() {
    use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
    const ISSUER: &str = "https://login.gemeente.example/realms/jeugd";
    let fixtures = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("it/fixtures/oidc");
    let pem = std::fs::read(fixtures.join("rsa.pem")).expect("the fixture key");
    let key = EncodingKey::from_rsa_pem(&pem).expect("an RSA key");
    let jwt = move || {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some("test-rsa".into());
        let now = chrono::Utc::now().timestamp();
        let claims = json!({
            "iss": ISSUER, "aud": "jeugdpad", "sub": "oidc-consultant",
            "iat": now, "exp": now + 300,
            "jeugdpad_role": "consultant", "jeugdpad_team": "noord",
        });
        encode(&header, &claims, &key).expect("a signed token")
    };
    let (provider, seen) = fake_provider(jwt).await;
    let mut config = jeugdpad_oidc::OidcConfig::new(
        ISSUER,
        "jeugdpad",
        jeugdpad_oidc::JwksSource::File(fixtures.join("jwks.json")),
    );
    config.role_claim = "jeugdpad_role".into();
    config.team_claim = "jeugdpad_team".into();
    let mut options = options();
    options.auth.oidc = Some(config);
    let server = Server::start_with(options).await;
    let router = web_with(
        &server,
        WebOptions {
            oidc: Some(OidcClientOptions {
                issuer: ISSUER.into(),
                client_id: "jeugdpad-web".into(),
                client_secret: None,
                authorization_endpoint: Some(format!("{provider}/auth")),
                token_endpoint: Some(format!("{provider}/token")),
                scopes: "openid".into(),
            }),
            ..WebOptions::default()
        },
    )
    .await;
    let sign_in_page = send(&router, get("/aanmelden", None)).await;
    assert!(sign_in_page.body.contains("Aanmelden via uw organisatie"));

    // 1. Off to the provider, with a challenge and a state bound to a cookie.
    let start = send(&router, get("/aanmelden/oidc?terug=/caseload", None)).await;
    assert_eq!(start.status, StatusCode::SEE_OTHER);
    let (state_cookie, line) = start.cookie("jeugdpad_oidc").expect("the state cookie");
    assert!(
        line.contains("HttpOnly") && line.contains("SameSite=Lax"),
        "{line}"
    );
    assert!(start.location().starts_with(&format!("{provider}/auth?")));
    // 2. The browser at the provider, which sends it back with a code.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a client");
    let back = http
        .get(start.location())
        .send()
        .await
        .expect("the provider answers");
    let back = back.headers()[header::LOCATION]
        .to_str()
        .expect("a location")
        .to_owned();
    let path = back
        .strip_prefix("http://jeugdpad.test")
        .expect("our own redirect URI")
        .to_owned();
    // A return without the state cookie (a code injected into another browser) is refused.
    let unbound = send(&router, get(&path, None)).await;
    assert!(
        unbound.location().contains("reden=oidc"),
        "{}",
        unbound.location()
    );
    // (And the state is used up: start again.)
    let start = send(&router, get("/aanmelden/oidc?terug=/caseload", None)).await;
    let (state_cookie_2, _) = start.cookie("jeugdpad_oidc").expect("the state cookie");
    assert_ne!(state_cookie, state_cookie_2);
    let back = http
        .get(start.location())
        .send()
        .await
        .expect("the provider answers");
    let back = back.headers()[header::LOCATION]
        .to_str()
        .expect("a location")
        .to_owned();
    let path = back
        .strip_prefix("http://jeugdpad.test")
        .expect("our own redirect URI")
        .to_owned();
    // 3. Back with the code and the cookie: the code and verifier are exchanged, the token signs in.
    let done = send(
        &router,
        get(&path, Some(&format!("jeugdpad_oidc={state_cookie_2}"))),
    )
    .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert!(done.body.contains("url=/caseload"));
    let (session, _) = done.cookie("jeugdpad_sessie").expect("a session");
    assert_eq!(seen.lock().expect("lock").exchanged, 1);
    let caseload = send(
        &router,
        get("/caseload", Some(&format!("jeugdpad_sessie={session}"))),
    )
    .await;
    assert_eq!(caseload.status, StatusCode::OK);
    assert!(
        caseload
            .body
            .contains("Aangemeld als <strong>oidc-consultant</strong>"),
        "{}",
        caseload.body
    );
}

/// The NEN 7513 inquiry pages: "Oudere regels" asks the next, older page of the same inquiry;
/// an inquiry by BSN continues by the youth's pseudonym, so the BSN is never written back.
#[tokio::test]
async fn the_access_log_inquiry_pages_to_older_lines_without_the_bsn() {
    let server = Server::start().await;
    let router = web(&server).await;
    let (consultant, _) = sign_in(&router, server.token(&consultant_id("noord"))).await;
    let form = send(&router, get("/melding", Some(&consultant))).await;
    let bsn = "111222333";
    let opened = send(
        &router,
        post(
            "/melding",
            &consultant,
            &format!(
                "_csrf={}&bsn={bsn}&datum=01-06-2026&bron=school&zorgen=parenting&urgentie=regular",
                form.csrf()
            ),
            None,
        ),
    )
    .await;
    assert_eq!(opened.status, StatusCode::SEE_OTHER, "{}", opened.body);
    let id = opened
        .location()
        .trim_start_matches("/traject/")
        .split('?')
        .next()
        .unwrap_or_default()
        .to_owned();
    // More than one inquiry page (200 lines) about this youth.
    let reader = server.consultant("noord");
    for _ in 0..205 {
        reader
            .gql(
                "query($id: ID!) { trajectory(id: $id) { version } }",
                json!({ "id": id }),
            )
            .await;
    }
    let (admin, _) = sign_in(&router, server.token(ADMIN)).await;
    let page = send(&router, get("/beheer/toegangslog", Some(&admin))).await;
    let hidden = |page: &Answer, name: &str| {
        let marker = format!("type=\"hidden\" name=\"{name}\" value=\"");
        page.body.find(&marker).map(|at| {
            page.body[at + marker.len()..]
                .split('"')
                .next()
                .unwrap_or_default()
                .to_owned()
        })
    };
    let inquiry = send(
        &router,
        post(
            "/beheer/toegangslog",
            &admin,
            &format!("_csrf={}&bsn={bsn}", page.csrf()),
            None,
        ),
    )
    .await;
    assert_eq!(inquiry.status, StatusCode::OK, "{}", inquiry.body);
    assert!(
        inquiry.body.contains("200 vermeldingen"),
        "{}",
        inquiry.body
    );
    assert!(inquiry.body.contains("Oudere regels"));
    assert!(!inquiry.body.contains(bsn), "the BSN is written back");
    let pseudonym = hidden(&inquiry, "pseudoniem").expect("the older page asks by pseudonym");
    assert!(pseudonym.starts_with("p-"), "{pseudonym}");
    let after = hidden(&inquiry, "na").expect("a cursor");
    let older = send(
        &router,
        post(
            "/beheer/toegangslog",
            &admin,
            &format!("_csrf={}&pseudoniem={pseudonym}&na={after}", inquiry.csrf()),
            None,
        ),
    )
    .await;
    assert_eq!(older.status, StatusCode::OK, "{}", older.body);
    // Every line about the youth up to the first inquiry (its own included), 200 of them on the
    // first page; the older page's inquiry is newer than its cursor.
    let about_youth = server
        .access_log()
        .await
        .iter()
        .filter(|(_, entry)| entry.subject_key.as_ref().map(|k| k.as_str()) == Some(&pseudonym))
        .count();
    let rest = about_youth - 1 - 200;
    assert!(
        older
            .body
            .contains(&format!("{rest} vermeldingen (oudere regels)")),
        "{about_youth}: {}",
        older.body
    );
    assert_eq!(older.body.matches("<tr><td>").count(), rest);
    assert!(
        !older.body.contains("Oudere regels</button>"),
        "no third page"
    );
    // A cursor no page gave: the Dutch sentence, no page of lines.
    let forged = send(
        &router,
        post(
            "/beheer/toegangslog",
            &admin,
            &format!("_csrf={}&na=zomaar", inquiry.csrf()),
            None,
        ),
    )
    .await;
    assert_eq!(forged.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(forged.body.contains("vervolgcode"), "{}", forged.body);
}
