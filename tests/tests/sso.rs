//! Single sign-on as an IT administrator rolls it out: the owner connects the organisation's
//! identity provider (a local OpenID Connect issuer over real HTTP), staff sign in through it,
//! and every ID token that is not exactly right is refused with nothing created.

use api_tests::oidc::{Issuer, public_pem};
use api_tests::{Account, PASSWORD, TestApp, json_of, problem_of, spawn_app, totp_code};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const CLIENT_ID: &str = "rota-web";

/// The organisation's own email domain in these tests.
fn domain(owner: &Account) -> String {
    format!("{}.example", owner.tenant_id.to_lowercase())
}

async fn connect(app: &TestApp, owner: &Account, issuer: &Issuer, body: Value) -> reqwest::Response {
    let mut provider = json!({ "kind": "okta", "issuer": issuer.url, "client_id": CLIENT_ID,
        "allowed_domains": [domain(owner)] });
    for (name, value) in body.as_object().unwrap() {
        provider[name] = value.clone();
    }
    let password_login = provider.as_object_mut().unwrap().remove("password_login").unwrap_or(json!("allowed"));
    let body = json!({ "providers": [provider], "password_login": password_login });
    app.request(Method::PUT, "/tenant/sso", Some(&owner.access_token), Some(body)).await
}

/// `connect`ed, with the domain proved first (by its TXT record) when passwords are to be turned
/// off: the settings then.
async fn connected(app: &TestApp, owner: &Account, issuer: &Issuer, body: Value) -> Value {
    let mut allowing = body.clone();
    allowing["password_login"] = json!("allowed");
    json_of(connect(app, owner, issuer, allowing).await, StatusCode::OK).await;
    app.prove_domain(&owner.access_token, &domain(owner)).await;
    json_of(connect(app, owner, issuer, body).await, StatusCode::OK).await
}

async fn start(app: &TestApp, email: &str) -> Value {
    json_of(app.post("/auth/oidc/start", None, json!({ "email": email })).await, StatusCode::OK).await
}

async fn callback(app: &TestApp, started: &Value, id_token: &str) -> reqwest::Response {
    let body = json!({ "provider_id": started["provider_id"], "nonce": started["nonce"], "id_token": id_token,
        "token_delivery": "body" });
    app.post("/auth/oidc/callback", None, body).await
}

/// A staff member of the owner's organisation at `email`, who accepted their invitation.
async fn staff(app: &TestApp, owner: &Account, email: &str) {
    app.member(&owner.access_token, json!({ "email": email, "name": "Sam Staff", "role": "staff" })).await;
}

async fn people(app: &TestApp, owner: &Account) -> Vec<Value> {
    let page = json_of(app.get("/people?limit=100", &owner.access_token).await, StatusCode::OK).await;
    page["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn staff_sign_in_through_their_organisations_identity_provider_and_its_rotated_keys() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let issuer = Issuer::start().await;
    let email = format!("sam@{}", domain(&owner));
    staff(&app, &owner, &email).await;

    let settings = connected(&app, &owner, &issuer, json!({})).await;
    assert_eq!(settings["providers"][0]["allowed_domains"], json!([domain(&owner)]));
    assert_eq!(settings["providers"][0]["default_role"], "staff");
    let read = json_of(app.get("/tenant/sso", &owner.access_token).await, StatusCode::OK).await;
    assert_eq!(read, settings);

    // The start names the domain's provider and a nonce; an address of any other domain is told
    // to use its password, whether it has an account or not.
    let started = start(&app, &email.to_uppercase()).await;
    assert_eq!((started["sso"].as_bool(), started["kind"].as_str()), (Some(true), Some("okta")));
    assert_eq!(
        (started["issuer"].as_str(), started["client_id"].as_str()),
        (Some(issuer.url.as_str()), Some(CLIENT_ID))
    );
    assert_eq!(start(&app, "nobody@elsewhere.example").await, json!({ "sso": false }));
    assert_eq!(start(&app, "not an address").await, json!({ "sso": false }));

    // The provider's token signs Sam in, as a password login would.
    let nonce = started["nonce"].as_str().unwrap();
    let token = issuer.sign(&issuer.claims(CLIENT_ID, &email, nonce), "rsa-1");
    let tokens = json_of(callback(&app, &started, &token).await, StatusCode::OK).await;
    let me = json_of(app.get("/me", tokens["access_token"].as_str().unwrap()).await, StatusCode::OK).await;
    assert_eq!((me["email"].as_str(), me["role"].as_str()), (Some(email.as_str()), Some("staff")));
    // Once: the same answer again is refused.
    problem_of(callback(&app, &started, &token).await, StatusCode::UNAUTHORIZED, "unauthorized").await;

    // Another sign-in, with the provider's P-256 key: its keys were kept, fetched once.
    let started = start(&app, &email).await;
    let token = issuer.sign(&issuer.claims(CLIENT_ID, &email, started["nonce"].as_str().unwrap()), "ec-1");
    json_of(callback(&app, &started, &token).await, StatusCode::OK).await;
    assert_eq!(issuer.key_fetches(), 1);

    // The provider rotates its keys: a token signed with the new one works after one more fetch.
    issuer.publish(&["rsa-2"]);
    let started = start(&app, &email).await;
    let token = issuer.sign(&issuer.claims(CLIENT_ID, &email, started["nonce"].as_str().unwrap()), "rsa-2");
    json_of(callback(&app, &started, &token).await, StatusCode::OK).await;
    assert_eq!(issuer.key_fetches(), 2);

    // Sam turns on two-factor authentication: a sign-in the provider did with one factor waits for
    // Rota's code; one where the provider asserts more (`amr: mfa`) counts as two-factor.
    let access = tokens["access_token"].as_str().unwrap();
    let setup = json_of(app.post_empty("/auth/2fa/setup", access).await, StatusCode::OK).await;
    let code = totp_code(setup["secret"].as_str().unwrap(), chrono::Utc::now().timestamp());
    json_of(app.post("/auth/2fa/enable", Some(access), json!({ "code": code })).await, StatusCode::OK).await;
    let started = start(&app, &email).await;
    let token = issuer.sign(&issuer.claims(CLIENT_ID, &email, started["nonce"].as_str().unwrap()), "rsa-2");
    let waiting = json_of(callback(&app, &started, &token).await, StatusCode::OK).await;
    assert_eq!((waiting["mfa_required"].as_bool(), waiting["mfa_token"].is_string()), (Some(true), true));
    let started = start(&app, &email).await;
    let mut claims = issuer.claims(CLIENT_ID, &email, started["nonce"].as_str().unwrap());
    claims["amr"] = json!(["pwd", "mfa"]);
    let tokens = json_of(callback(&app, &started, &issuer.sign(&claims, "rsa-2")).await, StatusCode::OK).await;
    let payload = tokens["access_token"].as_str().unwrap().split('.').nth(1).unwrap();
    let payload: Value = serde_json::from_slice(&base64_url(payload)).unwrap();
    assert_eq!(payload["mfa"], true, "{payload}");
}

fn base64_url(text: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text).unwrap()
}

#[tokio::test]
async fn every_token_not_exactly_right_is_refused_and_creates_nobody() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let issuer = Issuer::start().await;
    connected(&app, &owner, &issuer, json!({ "auto_provision": true })).await;
    let newcomer = format!("new@{}", domain(&owner));
    let now = chrono::Utc::now().timestamp();

    let with = |nonce: &str, change: Value| {
        let mut claims = issuer.claims(CLIENT_ID, &newcomer, nonce);
        for (name, value) in change.as_object().unwrap() {
            claims[name] = value.clone();
        }
        claims
    };
    let unsigned = |claims: &Value| {
        use base64::Engine;
        let part = |value: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value.to_string());
        format!("{}.{}.", part(&json!({ "alg": "none", "kid": "rsa-1" })), part(claims))
    };
    let hs256 = |claims: &Value| {
        let header = Header { kid: Some("rsa-1".into()), ..Header::new(Algorithm::HS256) };
        jsonwebtoken::encode(&header, claims, &EncodingKey::from_secret(public_pem("rsa-1").as_bytes())).unwrap()
    };
    type Token<'a> = Box<dyn Fn(&str) -> String + 'a>;
    let cases: Vec<(&str, Token)> = vec![
        ("another audience", Box::new(|nonce| issuer.sign(&with(nonce, json!({ "aud": "someone-else" })), "rsa-1"))),
        (
            "another issuer",
            Box::new(|nonce| issuer.sign(&with(nonce, json!({ "iss": "https://evil.example" })), "rsa-1")),
        ),
        ("expired", Box::new(|nonce| issuer.sign(&with(nonce, json!({ "exp": now - 120 })), "rsa-1"))),
        ("alg none", Box::new(|nonce| unsigned(&with(nonce, json!({}))))),
        ("HS256 with the public key", Box::new(|nonce| hs256(&with(nonce, json!({}))))),
        ("an unpublished key", Box::new(|nonce| issuer.sign(&with(nonce, json!({})), "rsa-2"))),
        ("another sign-in's nonce", Box::new(|_| issuer.sign(&with("not-this-one", json!({})), "rsa-1"))),
        (
            "an unverified email",
            Box::new(|nonce| issuer.sign(&with(nonce, json!({ "email_verified": false })), "rsa-1")),
        ),
        (
            "a domain not allowed",
            Box::new(|nonce| issuer.sign(&with(nonce, json!({ "email": "new@elsewhere.example" })), "rsa-1")),
        ),
    ];
    for (case, token) in &cases {
        let started = start(&app, &newcomer).await;
        let refused = callback(&app, &started, &token(started["nonce"].as_str().unwrap())).await;
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED, "{case}");
        // The nonce is used up even so: the right token cannot follow on it.
        let right = issuer.sign(&with(started["nonce"].as_str().unwrap(), json!({})), "rsa-1");
        assert_eq!(callback(&app, &started, &right).await.status(), StatusCode::UNAUTHORIZED, "{case}: replay");
    }
    assert_eq!(people(&app, &owner).await.len(), 1, "nobody was added");
    // The keys were fetched once, and once more for the unknown key; another token with a key the
    // provider does not publish does not make Rota ask again within the minute.
    let started = start(&app, &newcomer).await;
    let made_up = issuer.sign(&with(started["nonce"].as_str().unwrap(), json!({})), "rsa-2");
    assert_eq!(callback(&app, &started, &made_up).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(issuer.key_fetches(), 2);

    // The right token adds the newcomer as staff, active, and signs them in.
    let started = start(&app, &newcomer).await;
    let token = issuer.sign(&with(started["nonce"].as_str().unwrap(), json!({})), "rsa-1");
    let tokens = json_of(callback(&app, &started, &token).await, StatusCode::OK).await;
    assert!(tokens["access_token"].is_string());
    let everyone = people(&app, &owner).await;
    let added = everyone.iter().find(|person| person["email"] == newcomer.as_str()).unwrap();
    assert_eq!((added["role"].as_str(), added["status"].as_str()), (Some("staff"), Some("active")));
    let audit =
        json_of(app.get("/audit-logs?action=person.provisioned", &owner.access_token).await, StatusCode::OK).await;
    assert_eq!(audit["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn password_login_turned_off_leaves_owners_theirs_and_a_domain_is_one_organisations() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let issuer = Issuer::start().await;
    let email = format!("sam@{}", domain(&owner));
    staff(&app, &owner, &email).await;
    let off = json!({ "password_login": "disabled" });
    let settings = connected(&app, &owner, &issuer, off).await;
    assert_eq!(settings["password_login"], "disabled");

    // Staff sign in through the provider only; the owner keeps their password and second factor.
    let login = |email: &str| app.post("/auth/login", None, json!({ "email": email, "password": PASSWORD }));
    problem_of(login(&email).await, StatusCode::FORBIDDEN, "forbidden").await;
    let owners = json_of(login(&owner.email).await, StatusCode::OK).await;
    assert_eq!(owners["mfa_required"], true);

    // Another organisation naming the domain holds nothing by it: sign-ins still go to the first,
    // and it cannot prove the domain with the first one's record, nor take it with its own.
    let other = app.signup().await;
    let taken = json!({ "providers": [{ "kind": "google", "issuer": "https://accounts.google.com",
        "client_id": "x.apps.googleusercontent.com", "allowed_domains": [domain(&owner)] }] });
    let answer = app.request(Method::PUT, "/tenant/sso", Some(&other.access_token), Some(taken)).await;
    let theirs = json_of(answer, StatusCode::OK).await;
    let started = start(&app, &email).await;
    assert_eq!((started["sso"].as_bool(), started["issuer"].as_str()), (Some(true), Some(issuer.url.as_str())));
    let verify = format!("/tenant/sso/domains/{}/verify", domain(&owner));
    problem_of(
        app.post_empty(&verify, &other.access_token).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let ours = json_of(app.get("/tenant/sso", &owner.access_token).await, StatusCode::OK).await;
    let both = [ours["domain_verification"].as_str().unwrap(), theirs["domain_verification"].as_str().unwrap()];
    api_tests::publish_txt(&format!("_rota-challenge.{}", domain(&owner)), &both).await;
    problem_of(app.post_empty(&verify, &other.access_token).await, StatusCode::CONFLICT, "conflict").await;
    assert_eq!(start(&app, &email).await["issuer"].as_str(), Some(issuer.url.as_str()), "still the first's");
    let bad = json!({ "providers": [{ "kind": "oidc", "issuer": "http://id.example", "client_id": "c",
        "allowed_domains": ["Not A Domain"], "default_role": "owner" }] });
    let refused = problem_of(
        app.request(Method::PUT, "/tenant/sso", Some(&owner.access_token), Some(bad)).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let fields: Vec<&str> =
        refused["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["providers[0].allowed_domains[0]", "providers[0].issuer"], "{refused}");
}

/// People invited before the organisation turned single sign-on on: signing in through the
/// provider accepts the invitation (once; its link stops working), with no password set.
#[tokio::test]
async fn an_invited_person_joins_by_signing_in_through_the_provider() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let issuer = Issuer::start().await;
    let email = format!("ivy@{}", domain(&owner));
    let invited = json!({ "email": email, "name": "Ivy Invited", "role": "coordinator" });
    let invited = json_of(app.post("/people", Some(&owner.access_token), invited).await, StatusCode::CREATED).await;
    let link = app.link_token(&email, "/accept-invitation").await;
    connected(&app, &owner, &issuer, json!({})).await;

    let started = start(&app, &email).await;
    let token = issuer.sign(&issuer.claims(CLIENT_ID, &email, started["nonce"].as_str().unwrap()), "rsa-1");
    let tokens = json_of(callback(&app, &started, &token).await, StatusCode::OK).await;
    let me = json_of(app.get("/me", tokens["access_token"].as_str().unwrap()).await, StatusCode::OK).await;
    assert_eq!(
        (me["id"].as_str(), me["status"].as_str(), me["role"].as_str()),
        (invited["id"].as_str(), Some("active"), Some("coordinator"))
    );
    assert!(me["joined_at"].is_string());

    // The emailed link is used up; the next sign-in is an ordinary one; nobody was added.
    let accept = json!({ "token": link, "password": PASSWORD });
    problem_of(app.post("/auth/invitations/accept", None, accept).await, StatusCode::NOT_FOUND, "not_found").await;
    let started = start(&app, &email).await;
    let token = issuer.sign(&issuer.claims(CLIENT_ID, &email, started["nonce"].as_str().unwrap()), "rsa-1");
    assert!(json_of(callback(&app, &started, &token).await, StatusCode::OK).await["access_token"].is_string());
    assert_eq!(people(&app, &owner).await.len(), 2, "the owner and Ivy");
    let audit = json_of(
        app.get(&format!("/audit-logs?entity_id={}", invited["id"].as_str().unwrap()), &owner.access_token).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(audit["items"][0]["action"], "person.accepted_invitation", "{audit}");
}

/// Naming a domain holds it for nobody: its people are sent to the provider, and added at their
/// first sign-in, only once the organisation proves the domain by the TXT record it is given;
/// until then passwords cannot be turned off. A record that is not there, a resolver that fails
/// and a domain no provider names are each told apart; dropping the domain gives it up.
#[tokio::test]
async fn a_domain_signs_nobody_in_until_the_organisation_proves_it() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let issuer = Issuer::start().await;
    let email = format!("sam@{}", domain(&owner));
    let settings = json_of(connect(&app, &owner, &issuer, json!({})).await, StatusCode::OK).await;
    let record = settings["domain_verification"].as_str().unwrap().to_owned();
    assert!(record.starts_with("rota-domain-verification=") && record.len() == 25 + 32, "{record}");
    assert_eq!(settings["verified_domains"], json!([]));
    assert_eq!(start(&app, &email).await, json!({ "sso": false }), "not proved yet");
    let off = connect(&app, &owner, &issuer, json!({ "password_login": "disabled" })).await;
    let refused = problem_of(off, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(refused["errors"][0]["field"], "password_login");

    let name = format!("_rota-challenge.{}", domain(&owner));
    let verify = format!("/tenant/sso/domains/{}/verify", domain(&owner));
    let missing = app.post_empty(&verify, &owner.access_token).await;
    let missing = problem_of(missing, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    let detail = missing["errors"][0]["message"].as_str().unwrap();
    assert!(detail.contains(&name) && detail.contains(&record), "{missing}");
    api_tests::publish_txt(&name, &["rota-domain-verification=someone-elses", "v=spf1 -all"]).await;
    problem_of(
        app.post_empty(&verify, &owner.access_token).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    api_tests::publish_txt(&name, &[&record]).await;
    for failure in [json!(503), json!("servfail")] {
        api_tests::fail_dns(&name, failure, 1).await;
        problem_of(
            app.post_empty(&verify, &owner.access_token).await,
            StatusCode::SERVICE_UNAVAILABLE,
            "dns_unavailable",
        )
        .await;
    }
    let elsewhere = app.post_empty("/tenant/sso/domains/elsewhere.example/verify", &owner.access_token).await;
    problem_of(elsewhere, StatusCode::NOT_FOUND, "not_found").await;

    let proved = json_of(app.post_empty(&verify, &owner.access_token).await, StatusCode::OK).await;
    assert_eq!(proved["verified_domains"][0]["domain"].as_str(), Some(domain(&owner).as_str()));
    assert_eq!(json_of(app.post_empty(&verify, &owner.access_token).await, StatusCode::OK).await, proved, "once");
    assert_eq!(start(&app, &email).await["sso"], true);
    let audit =
        json_of(app.get("/audit-logs?action=sso.domain_verified", &owner.access_token).await, StatusCode::OK).await;
    assert_eq!(audit["items"].as_array().unwrap().len(), 1);

    // Settings changed around a proved domain keep it; dropping it gives it up at once.
    let kept = json_of(connect(&app, &owner, &issuer, json!({ "auto_provision": true })).await, StatusCode::OK).await;
    assert_eq!(
        (kept["verified_domains"].clone(), kept["domain_verification"].as_str()),
        (proved["verified_domains"].clone(), Some(record.as_str()))
    );
    let dropped = connect(&app, &owner, &issuer, json!({ "allowed_domains": ["other.example"] })).await;
    assert_eq!(json_of(dropped, StatusCode::OK).await["verified_domains"], json!([]));
    assert_eq!(start(&app, &email).await, json!({ "sso": false }));
}
