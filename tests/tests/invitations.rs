//! Invitations as a stranger would abuse them and an employer relies on them: an invitation
//! claims its address in its own organisation only, so another organisation's invitation never
//! locks it; an address with an account gets the same answer as a free one (its owner is told
//! instead); a revoked invitation frees its address; and an organisation invites at most 100 an
//! hour.

use api_tests::{Account, PASSWORD, TestApp, json_of, problem_of, spawn_app, unique_email};
use futures_util::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn invite(app: &TestApp, admin: &Account, email: &str) -> reqwest::Response {
    app.post("/people", Some(&admin.access_token), json!({ "email": email, "name": "Vic Tim", "role": "staff" })).await
}

/// The invitation link `tenant_id` sent to `email`.
async fn link_from(app: &TestApp, email: &str, tenant_id: &str) -> String {
    let tokens = app.link_tokens(email, "/accept-invitation").await;
    tokens.into_iter().find(|token| token.starts_with(tenant_id)).expect("an invitation from that organisation")
}

async fn accept(app: &TestApp, token: &str) -> reqwest::Response {
    app.post(
        "/auth/invitations/accept",
        None,
        json!({ "token": token, "password": PASSWORD, "token_delivery": "body" }),
    )
    .await
}

#[tokio::test]
async fn a_strangers_invitation_never_locks_an_address_out_of_its_real_employer() {
    let app = spawn_app().await;
    let stranger = app.signup().await;
    let employer = app.signup().await;
    let victim = unique_email("victim");

    json_of(invite(&app, &stranger, &victim).await, StatusCode::CREATED).await;
    // The real employer's invitation goes through, and the person joins them.
    let hired = json_of(invite(&app, &employer, &victim).await, StatusCode::CREATED).await;
    let joined =
        json_of(accept(&app, &link_from(&app, &victim, &employer.tenant_id).await).await, StatusCode::CREATED).await;
    assert_eq!((joined["me"]["id"].clone(), joined["me"]["status"].as_str()), (hired["id"].clone(), Some("active")));
    assert!(joined["me"]["joined_at"].is_string(), "{joined}");

    // The stranger's link can no longer make the address theirs, and says why to its holder.
    let late = accept(&app, &link_from(&app, &victim, &stranger.tenant_id).await).await;
    let problem = problem_of(late, StatusCode::CONFLICT, "conflict").await;
    assert!(problem["detail"].as_str().unwrap().contains("another organisation"), "{problem}");
    let tokens = json_of(app.login(&victim, PASSWORD).await, StatusCode::OK).await;
    assert!(tokens["access_token"].is_string(), "the employee logs in: {tokens}");
}

#[tokio::test]
async fn an_address_with_an_account_gets_the_same_answer_and_its_owner_is_told() {
    let app = spawn_app().await;
    let inviter = app.signup().await;
    let elsewhere = app.signup().await;
    let free = unique_email("free");

    let to_free = json_of(invite(&app, &inviter, &free).await, StatusCode::CREATED).await;
    let to_taken = json_of(invite(&app, &inviter, &elsewhere.email).await, StatusCode::CREATED).await;
    let shape = |person: &Value| {
        let mut keys: Vec<String> = person.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        (keys, person["status"].clone(), person["role"].clone(), person["joined_at"].clone())
    };
    assert_eq!(shape(&to_free), shape(&to_taken), "the same answer for a free and a taken address");

    // The free address gets a link; the owner of the taken one a note saying so, and no link.
    assert_eq!(app.link_tokens(&free, "/accept-invitation").await.len(), 1);
    let told = app.mail_to(&elsewhere.email).await;
    let note = told.iter().find(|mail| mail["body"].as_str().unwrap().contains("already has a Rota account")).unwrap();
    assert!(!note["body"].as_str().unwrap().contains("accept-invitation"), "{note}");
    // The organisation's log shows two invitations alike.
    let log = json_of(app.get("/notifications", &inviter.access_token).await, StatusCode::OK).await;
    let kinds: Vec<(&str, &str)> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|entry| entry["recipient"] == free.as_str() || entry["recipient"] == elsewhere.email.as_str())
        .map(|entry| (entry["kind"].as_str().unwrap(), entry["status"].as_str().unwrap()))
        .collect();
    assert_eq!(kinds, [("invitation", "sent"), ("invitation", "sent")]);

    // Its own members an organisation may know: inviting the owner again is a conflict.
    problem_of(invite(&app, &inviter, &inviter.email).await, StatusCode::CONFLICT, "conflict").await;
    problem_of(invite(&app, &inviter, &free).await, StatusCode::CONFLICT, "conflict").await;
}

#[tokio::test]
async fn a_revoked_invitation_frees_its_address() {
    let app = spawn_app().await;
    let admin = app.signup().await;
    let email = unique_email("revoked");
    let first = json_of(invite(&app, &admin, &email).await, StatusCode::CREATED).await;
    let old_link = app.link_token(&email, "/accept-invitation").await;

    let path = format!("/people/{}", first["id"].as_str().unwrap());
    assert_eq!(
        app.request(Method::DELETE, &path, Some(&admin.access_token), None).await.status(),
        StatusCode::NO_CONTENT
    );
    problem_of(accept(&app, &old_link).await, StatusCode::NOT_FOUND, "not_found").await;
    // Never joined, the revoked person is not brought back: the address is invited again.
    let back = app.request(Method::PATCH, &path, Some(&admin.access_token), Some(json!({ "status": "active" })));
    problem_of(back.await, StatusCode::CONFLICT, "conflict").await;
    let again = json_of(invite(&app, &admin, &email).await, StatusCode::CREATED).await;
    assert_ne!(again["id"], first["id"]);

    // Nothing of it ever held the address platform-wide: its owner signs up an organisation.
    let elsewhere = unique_email("revoked-owner");
    json_of(invite(&app, &admin, &elsewhere).await, StatusCode::CREATED).await;
    let body = json!({ "organisation_name": "Own Shop", "name": "Vic", "email": elsewhere, "password": PASSWORD });
    json_of(app.post("/auth/signup", None, body).await, StatusCode::ACCEPTED).await;
    let verify = app.link_token(&elsewhere, "/verify-email").await;
    json_of(app.post("/auth/verify-email", None, json!({ "token": verify })).await, StatusCode::CREATED).await;
}

#[tokio::test]
async fn an_organisation_invites_at_most_a_hundred_an_hour_under_a_burst() {
    let app = spawn_app().await;
    let admin = app.signup().await;
    let emails: Vec<String> = (0..105).map(|i| unique_email(&format!("burst{i}"))).collect();
    let answers = join_all(emails.iter().map(|email| invite(&app, &admin, email))).await;
    let mut statuses: Vec<StatusCode> = answers.iter().map(|answer| answer.status()).collect();
    statuses.sort();
    assert_eq!(statuses.iter().filter(|status| **status == StatusCode::CREATED).count(), 100);
    assert_eq!(statuses.iter().filter(|status| **status == StatusCode::TOO_MANY_REQUESTS).count(), 5);
    let limited = answers.into_iter().find(|answer| answer.status() == StatusCode::TOO_MANY_REQUESTS).unwrap();
    let retry_after: u64 = limited.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=3600).contains(&retry_after), "{retry_after}");
    let mut invited = 0;
    let mut path = "/people?status=invited&limit=100".to_owned();
    loop {
        let page = json_of(app.get(&path, &admin.access_token).await, StatusCode::OK).await;
        invited += page["items"].as_array().unwrap().len();
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/people?status=invited&limit=100&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(invited, 100, "nothing of the refused five was written");
}
