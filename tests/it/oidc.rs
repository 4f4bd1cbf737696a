//! End-to-end checks of `Verifier` with the synthetic keys in `tests/it/fixtures/oidc/`: tokens are
//! signed here with `jsonwebtoken::encode` (or built by hand where no honest library would),
//! and each case states the claims it expects or the `reason()` slug of its refusal.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use jeugdpad_oidc::{looks_like_jwt, JwksSource, OidcConfig, VerifiedClaims, Verifier};
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const ISSUER: &str = "https://login.gemeente.example/realms/jeugd";
const AUDIENCE: &str = "jeugdpad";

fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("it/fixtures/oidc")
        .join(name)
}

fn fixture(name: &str) -> String {
    std::fs::read_to_string(fixture_path(name)).expect("fixture readable")
}

fn config() -> OidcConfig {
    OidcConfig::new(
        ISSUER,
        AUDIENCE,
        JwksSource::File(fixture_path("jwks.json")),
    )
}

fn verifier_with(config: OidcConfig) -> Verifier {
    Verifier::from_jwks_json(config, &fixture("jwks.json")).expect("fixture JWKS loads")
}

fn verifier() -> Verifier {
    verifier_with(config())
}

fn now() -> i64 {
    Utc::now().timestamp()
}

/// Valid claims for ISSUER/AUDIENCE, changed by `changes`: a key set to `null` is removed.
fn claims(changes: Value) -> Value {
    let mut claims = json!({
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "f2c7a3e0-5d1b-4b8e-9c1a-0d9e8f7a6b5c",
        "iat": now(),
        "exp": now() + 300,
        "jeugdpad_role": "consultant",
        "jeugdpad_team": "noord",
        "name": "Fatima de Vries",
    });
    if let (Some(base), Value::Object(changes)) = (claims.as_object_mut(), changes) {
        for (key, value) in changes {
            if value.is_null() {
                base.remove(&key);
            } else {
                base.insert(key, value);
            }
        }
    }
    claims
}

/// A token signed with a fixture key, `kid` in the header.
fn sign(alg: Algorithm, kid: Option<&str>, key_file: &str, claims: &Value) -> String {
    let pem = fixture(key_file);
    let key = match alg {
        Algorithm::ES256 => EncodingKey::from_ec_pem(pem.as_bytes()),
        Algorithm::HS256 => Ok(EncodingKey::from_secret(pem.as_bytes())),
        _ => EncodingKey::from_rsa_pem(pem.as_bytes()),
    }
    .expect("fixture key loads");
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    encode(&header, claims, &key).expect("token signs")
}

fn rs256(claims: &Value) -> String {
    sign(Algorithm::RS256, Some("test-rsa"), "rsa.pem", claims)
}

fn es256(claims: &Value) -> String {
    sign(Algorithm::ES256, Some("test-ec"), "ec.pem", claims)
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A token assembled by hand: any header, any signature segment.
fn hand_built(header: &Value, claims: &Value, signature: &str) -> String {
    format!(
        "{}.{}.{signature}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    )
}

/// Verifies `token` and compares the outcome: claims, or the refusal's `reason()` slug.
/// Also checks that no refusal repeats the token.
async fn check_with(verifier: &Verifier, token: &str, expected: Result<&VerifiedClaims, &str>) {
    let got = verifier.verify(token).await;
    if let Err(e) = &got {
        assert!(
            token.len() < 8 || !e.to_string().contains(token),
            "error message repeats the token"
        );
    }
    assert_eq!(
        got.as_ref().map_err(|e| e.reason()),
        expected,
        "token claims: {}",
        token.split('.').nth(1).unwrap_or("")
    );
}

async fn refused(token: &str, reason: &str) {
    check_with(&verifier(), token, Err(reason)).await;
}

fn expected(roles: &[&str], team: Option<&str>, exp: i64) -> VerifiedClaims {
    VerifiedClaims {
        subject: "f2c7a3e0-5d1b-4b8e-9c1a-0d9e8f7a6b5c".to_owned(),
        roles: roles.iter().map(|r| (*r).to_owned()).collect(),
        team: team.map(str::to_owned),
        expires_at: DateTime::from_timestamp(exp, 0).expect("valid timestamp"),
        name: Some("Fatima de Vries".to_owned()),
    }
}

#[tokio::test]
async fn valid_rs256_with_string_role() {
    let exp = now() + 300;
    let token = rs256(&claims(json!({"exp": exp})));
    check_with(
        &verifier(),
        &token,
        Ok(&expected(&["consultant"], Some("noord"), exp)),
    )
    .await;
}

#[tokio::test]
async fn valid_es256_with_array_role_and_audience_array() {
    let exp = now() + 300;
    let token = es256(&claims(json!({
        "exp": exp,
        "aud": ["account", AUDIENCE],
        "jeugdpad_role": ["team_lead", "consultant"],
        "jeugdpad_team": ["zuid"],
    })));
    check_with(
        &verifier(),
        &token,
        Ok(&expected(&["team_lead", "consultant"], Some("zuid"), exp)),
    )
    .await;
}

#[tokio::test]
async fn dotted_claim_paths_and_absent_claims() {
    let exp = now() + 300;
    let config = OidcConfig {
        role_claim: "realm_access.roles".to_owned(),
        team_claim: "jeugdpad.team".to_owned(),
        ..config()
    };
    let token = rs256(&claims(json!({
        "exp": exp,
        "realm_access": {"roles": ["analyst", "offline_access"]},
        "jeugdpad": {"team": "west"},
    })));
    let want = expected(&["analyst", "offline_access"], Some("west"), exp);
    check_with(&verifier_with(config), &token, Ok(&want)).await;

    // No role, several teams, `preferred_username` instead of `name`: verified, nothing guessed.
    let token = rs256(&claims(json!({
        "exp": exp,
        "jeugdpad_role": null,
        "jeugdpad_team": ["noord", "zuid"],
        "name": null,
        "preferred_username": "fdevries",
    })));
    let want = VerifiedClaims {
        name: Some("fdevries".to_owned()),
        ..expected(&[], None, exp)
    };
    check_with(&verifier(), &token, Ok(&want)).await;
}

#[tokio::test]
async fn time_claims_and_leeway() {
    let v = verifier(); // leeway 60 s
    let t = now();
    for changes in [json!({"exp": t - 30}), json!({"nbf": t + 30})] {
        assert!(v.verify(&rs256(&claims(changes))).await.is_ok());
    }
    refused(&rs256(&claims(json!({"exp": t - 120}))), "expired").await;
    refused(&rs256(&claims(json!({"nbf": t + 600}))), "not_yet_valid").await;
    refused(&rs256(&claims(json!({"exp": null}))), "missing_claim").await;
    refused(&rs256(&claims(json!({"nbf": "soon"}))), "invalid_claim").await;

    let strict = verifier_with(OidcConfig {
        leeway_seconds: 0,
        ..config()
    });
    let token = rs256(&claims(json!({"exp": t - 30})));
    check_with(&strict, &token, Err("expired")).await;
}

#[tokio::test]
async fn issuer_and_audience() {
    for (changes, reason) in [
        (
            json!({"iss": "https://evil.example/realms/jeugd"}),
            "wrong_issuer",
        ),
        (json!({"iss": format!("{ISSUER}/")}), "wrong_issuer"),
        (
            json!({"iss": [ISSUER, "https://other.example"]}),
            "wrong_issuer",
        ),
        (json!({"iss": null}), "missing_claim"),
        (json!({"aud": "another-app"}), "wrong_audience"),
        (json!({"aud": ["account", "another-app"]}), "wrong_audience"),
        (json!({"aud": null}), "missing_claim"),
    ] {
        refused(&rs256(&claims(changes)), reason).await;
    }
}

#[tokio::test]
async fn subject_is_required() {
    for changes in [json!({"sub": null}), json!({"sub": ""}), json!({"sub": 42})] {
        refused(&es256(&claims(changes)), "missing_claim").await;
    }
}

#[tokio::test]
async fn keys_and_signatures() {
    let good = claims(json!({}));
    // Signed with a key that is not in the JWKS, under a kid that is.
    refused(
        &sign(Algorithm::RS256, Some("test-rsa"), "other-rsa.pem", &good),
        "bad_signature",
    )
    .await;
    refused(
        &sign(Algorithm::RS256, Some("nope"), "rsa.pem", &good),
        "unknown_key",
    )
    .await;
    refused(
        &sign(Algorithm::RS256, None, "rsa.pem", &good),
        "missing_kid",
    )
    .await;
    // An EC signature under the RSA key's kid, and the other way round.
    refused(
        &sign(Algorithm::ES256, Some("test-rsa"), "ec.pem", &good),
        "algorithm_mismatch",
    )
    .await;
    refused(
        &sign(Algorithm::RS256, Some("test-ec"), "rsa.pem", &good),
        "algorithm_mismatch",
    )
    .await;
    // A valid token whose payload was swapped afterwards.
    let token = rs256(&good);
    let forged_payload = b64(claims(json!({"jeugdpad_role": "admin"}))
        .to_string()
        .as_bytes());
    let parts: Vec<&str> = token.split('.').collect();
    let forged = format!("{}.{forged_payload}.{}", parts[0], parts[2]);
    refused(&forged, "bad_signature").await;
}

#[tokio::test]
async fn algorithm_confusion_is_refused() {
    let good = claims(json!({}));
    // HS256 keyed with the provider's public key: the classic confusion attack.
    let hs = sign(Algorithm::HS256, Some("test-rsa"), "rsa-public.pem", &good);
    refused(&hs, "unsupported_algorithm").await;
    // Other real algorithms, correctly signed with the right key, are still not accepted.
    for alg in [Algorithm::RS512, Algorithm::PS256] {
        refused(
            &sign(alg, Some("test-rsa"), "rsa.pem", &good),
            "unsupported_algorithm",
        )
        .await;
    }
    // Unsigned tokens, with and without a signature segment, and an `alg` of the wrong type.
    for (header, signature) in [
        (json!({"alg": "none", "kid": "test-rsa"}), ""),
        (json!({"alg": "none", "kid": "test-rsa"}), "c2ln"),
        (json!({"alg": "None", "typ": "JWT"}), ""),
        (json!({"kid": "test-rsa"}), "c2ln"),
        (json!({"alg": ["RS256"], "kid": "test-rsa"}), "c2ln"),
    ] {
        refused(
            &hand_built(&header, &good, signature),
            "unsupported_algorithm",
        )
        .await;
    }
}

#[tokio::test]
async fn malformed_tokens() {
    let good = claims(json!({}));
    let valid = rs256(&good);
    let too_long = format!("{valid}{}", "A".repeat(20_000));
    let not_json = format!("{}.{}.c2ln", b64(b"not json"), b64(b"{}"));
    // Correctly signed, but the payload is not JSON. (With a bad signature the signature
    // check refuses it first: claims are never read before the signature holds.)
    let header = json!({"alg": "RS256", "kid": "test-rsa"}).to_string();
    let message = format!("{}.{}", b64(header.as_bytes()), b64(b"not json"));
    let rsa = EncodingKey::from_rsa_pem(fixture("rsa.pem").as_bytes()).expect("fixture key");
    let signature =
        jsonwebtoken::crypto::sign(message.as_bytes(), &rsa, Algorithm::RS256).expect("signs");
    let payload_not_json = format!("{message}.{signature}");
    refused(&format!("{message}.c2ln"), "bad_signature").await;
    let crit = hand_built(
        &json!({"alg": "RS256", "kid": "test-rsa", "crit": ["exp"]}),
        &good,
        "c2ln",
    );
    for token in [
        "",
        "abc",
        "a.b",
        "a.b.c",
        "....",
        "Bearer x.y.z",
        "jpt_0190a1b2c3_s3cr3t",
        &not_json,
        &payload_not_json,
        &too_long,
        &crit,
        &valid[1..],
    ] {
        refused(token, "malformed").await;
    }
}

#[test]
fn routing_by_shape() {
    assert!(looks_like_jwt(&rs256(&claims(json!({})))));
    assert!(looks_like_jwt(&es256(&claims(json!({})))));
    assert!(!looks_like_jwt("jpt_0190a1b2c3d4_Zm9vYmFyYmF6"));
}

// --- Loading the key set ---

#[tokio::test]
async fn file_source() {
    let v = Verifier::new(config()).await.expect("fixture file loads");
    let t = rs256(&claims(json!({})));
    assert_eq!(
        v.verify(&t).await.map(|c| c.roles),
        Ok(vec!["consultant".to_owned()])
    );

    let dir = tempfile::tempdir().expect("temp dir");
    let empty = dir.path().join("empty.json");
    std::fs::write(&empty, r#"{"keys": []}"#).expect("write");
    for (path, reason) in [
        (dir.path().join("missing.json"), "jwks_unavailable"),
        (empty, "empty_key_set"),
    ] {
        let config = OidcConfig {
            jwks: JwksSource::File(path),
            ..config()
        };
        let got = Verifier::new(config).await.map(|_| ());
        assert_eq!(got.map_err(|e| e.reason()), Err(reason));
    }
}

#[tokio::test]
async fn bad_configurations() {
    let url = |u: &str| JwksSource::Url(u.to_owned());
    for (config, reason) in [
        (
            OidcConfig::new("", AUDIENCE, url("https://idp.example/jwks")),
            "invalid_config",
        ),
        (
            OidcConfig::new(ISSUER, " ", url("https://idp.example/jwks")),
            "invalid_config",
        ),
        (
            OidcConfig::new(ISSUER, AUDIENCE, url("http://idp.example/jwks")),
            "insecure_jwks_url",
        ),
        (
            OidcConfig::new(ISSUER, AUDIENCE, url("http://192.168.1.5/jwks")),
            "insecure_jwks_url",
        ),
        (
            OidcConfig::new(ISSUER, AUDIENCE, url("idp.example/jwks")),
            "invalid_config",
        ),
        (
            OidcConfig {
                leeway_seconds: 86_400,
                ..config()
            },
            "invalid_config",
        ),
    ] {
        let from_json = Verifier::from_jwks_json(config.clone(), &fixture("jwks.json"));
        assert_eq!(from_json.map(|_| ()).map_err(|e| e.reason()), Err(reason));
        let loaded = Verifier::new(config).await.map(|_| ());
        assert_eq!(loaded.map_err(|e| e.reason()), Err(reason));
    }
}

/// Serves one HTTP response per connection, in order, on a loopback port; then stops listening.
/// Returns the JWKS URL and a count of the requests answered.
async fn serve(responses: Vec<(u16, String)>) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/jwks", listener.local_addr().expect("address"));
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&hits);
    tokio::spawn(async move {
        for (status, body) in responses {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let mut request = Vec::new();
            let mut buf = [0u8; 1024];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                match socket.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&buf[..n]),
                }
            }
            assert!(request.starts_with(b"GET /jwks "), "a GET of the JWKS path");
            counter.fetch_add(1, Ordering::SeqCst);
            let response = format!(
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = socket.write_all(response.as_bytes()).await;
            let _ = socket.shutdown().await;
        }
    });
    (url, hits)
}

fn url_config(url: String) -> OidcConfig {
    OidcConfig::new(ISSUER, AUDIENCE, JwksSource::Url(url))
}

#[tokio::test]
async fn url_source_refetches_on_unknown_kid_at_most_once_a_minute() {
    let full = fixture("jwks.json");
    let mut rsa_only: Value = serde_json::from_str(&full).expect("fixture JSON");
    if let Some(keys) = rsa_only["keys"].as_array_mut() {
        keys.retain(|k| k["kid"] == "test-rsa");
    }
    let (url, hits) = serve(vec![(200, rsa_only.to_string()), (200, full)]).await;
    let v = Verifier::new(url_config(url))
        .await
        .expect("JWKS over loopback http");
    assert_eq!(hits.load(Ordering::SeqCst), 1);

    let good = claims(json!({}));
    assert!(v.verify(&rs256(&good)).await.is_ok());
    assert_eq!(
        hits.load(Ordering::SeqCst),
        1,
        "a known kid fetches nothing"
    );

    // The provider rotated in the EC key: one refetch finds it.
    let ec = es256(&good);
    assert!(v.verify(&ec).await.is_ok());
    assert_eq!(hits.load(Ordering::SeqCst), 2);

    // Within the minute, an unknown kid is refused without asking the provider again.
    let unknown = sign(Algorithm::RS256, Some("rotated-later"), "rsa.pem", &good);
    check_with(&v, &unknown, Err("unknown_key")).await;
    check_with(&v.clone(), &unknown, Err("unknown_key")).await;
    assert_eq!(hits.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn url_source_failures() {
    let (url, _) = serve(vec![(500, "oops".to_owned())]).await;
    let got = Verifier::new(url_config(url)).await.map(|_| ());
    assert_eq!(got.map_err(|e| e.reason()), Err("jwks_unavailable"));

    let (url, _) = serve(vec![(200, "<html>".to_owned())]).await;
    let got = Verifier::new(url_config(url)).await.map(|_| ());
    assert_eq!(got.map_err(|e| e.reason()), Err("invalid_jwks"));

    // A failed refetch refuses the token and keeps the keys it had.
    let (url, hits) = serve(vec![(503, String::new())]).await;
    let v = Verifier::from_jwks_json(url_config(url), &fixture("jwks.json")).expect("loads");
    let unknown = sign(
        Algorithm::RS256,
        Some("new-key"),
        "rsa.pem",
        &claims(json!({})),
    );
    check_with(&v, &unknown, Err("jwks_unavailable")).await;
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    assert!(v.verify(&rs256(&claims(json!({})))).await.is_ok());
}
