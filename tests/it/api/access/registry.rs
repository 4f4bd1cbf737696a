//! The registry's lists (`teams`, `users`, `tokens`): they show what the admin mutations changed,
//! at once, and the token list never holds a token or its hash. (Who may read them is in the
//! role matrix.)

use jeugdpad_secrets::TokenHash;
use serde_json::{json, Value};

use super::super::{consultant_id, lead_id, Server, ADMIN, ANALYST, TEAMS};

/// The codes in a `teams` or `users` answer, in the order the server gave them.
fn column(rows: &Value, field: &str) -> Vec<String> {
    rows.as_array()
        .expect("a list")
        .iter()
        .map(|row| row[field].as_str().expect("a string").to_owned())
        .collect()
}

#[tokio::test]
async fn the_registry_lists_show_every_change_and_never_a_token() {
    let server = Server::start().await;
    let admin = server.admin();
    admin
        .gql(
            "mutation { addTeam(team: \"centrum\", name: \"Wijkteam Centrum\")
                        addUser(user: \"j.jansen\", name: \"J. Jansen\", role: CONSULTANT,
                                team: \"centrum\")
                        deactivateUser(user: \"lead-west\") }",
            json!({}),
        )
        .await;
    let created = admin
        .gql(
            "mutation { createToken(user: \"j.jansen\", label: \"laptop\", expiresInDays: 30) {
                 tokenId token expiresAt } }",
            json!({}),
        )
        .await["createToken"]
        .clone();
    let token_id = created["tokenId"].as_str().expect("an id").to_owned();
    let secret = created["token"].as_str().expect("a token").to_owned();

    // Teams: the harness's four and the one just added, by code, for a consultant too.
    let teams = server
        .consultant("noord")
        .gql("{ teams { code name } }", json!({}))
        .await;
    let mut expected: Vec<String> = TEAMS.iter().map(|t| (*t).to_owned()).collect();
    expected.push("centrum".to_owned());
    expected.sort();
    assert_eq!(column(&teams["teams"], "code"), expected);
    let centrum = &teams["teams"][0];
    assert_eq!(
        *centrum,
        json!({ "code": "centrum", "name": "Wijkteam Centrum" })
    );

    // Users: every registered identity and the new one, deactivation shown.
    let users = admin
        .gql("{ users { id name role team active } }", json!({}))
        .await;
    let mut expected: Vec<String> = TEAMS
        .iter()
        .flat_map(|t| [consultant_id(t), lead_id(t)])
        .chain([ANALYST.to_owned(), ADMIN.to_owned(), "j.jansen".to_owned()])
        .collect();
    expected.sort();
    assert_eq!(column(&users["users"], "id"), expected);
    let by_id = |id: &str| {
        users["users"]
            .as_array()
            .expect("a list")
            .iter()
            .find(|user| user["id"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("no user {id}"))
    };
    assert_eq!(
        by_id("j.jansen"),
        json!({ "id": "j.jansen", "name": "J. Jansen", "role": "CONSULTANT",
                "team": "centrum", "active": true })
    );
    assert_eq!(by_id("lead-west")["active"], false);
    assert_eq!(by_id("lead-west")["role"], "TEAM_LEAD");
    assert_eq!(by_id(ANALYST)["team"], Value::Null);

    // Tokens: the new one with its user, label and expiry; revoked as soon as revokeToken answers.
    let tokens = "{ tokens { tokenId user label expiresAt revoked } }";
    let answer = admin.send(tokens, json!({})).await;
    let listed = answer.body["data"]["tokens"]
        .as_array()
        .expect("a list")
        .iter()
        .find(|token| token["tokenId"] == token_id.as_str())
        .cloned()
        .expect("the new token is listed");
    assert_eq!(
        listed,
        json!({ "tokenId": token_id, "user": "j.jansen", "label": "laptop",
                "expiresAt": created["expiresAt"], "revoked": false })
    );
    // One token per harness identity plus the new one.
    let identities = TEAMS.len() * 2 + 2;
    assert_eq!(
        answer.body["data"]["tokens"].as_array().map(Vec::len),
        Some(identities + 1)
    );
    // Neither the token nor its hash is anywhere in the answer, nor can a query ask for them.
    for secret in [secret.clone(), TokenHash::of(&secret).to_hex()] {
        assert!(!answer.text.contains(&secret), "{}", answer.text);
    }
    let fields = admin
        .gql(
            "{ __type(name: \"ApiToken\") { fields { name } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        column(&fields["__type"]["fields"], "name"),
        ["tokenId", "user", "label", "expiresAt", "revoked"]
    );

    admin
        .gql(
            "mutation($id: String!) { revokeToken(tokenId: $id) }",
            json!({ "id": token_id }),
        )
        .await;
    let answer = admin.send(tokens, json!({})).await;
    let revoked = answer.body["data"]["tokens"]
        .as_array()
        .expect("a list")
        .iter()
        .find(|token| token["tokenId"] == token_id.as_str())
        .map(|token| token["revoked"].clone());
    assert_eq!(revoked, Some(json!(true)));
}
