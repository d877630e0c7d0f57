//! Staff sign in with a code sent to their phone: only where the organisation allows it, only
//! staff, never telling whether a number is anyone's; a code works once, for 5 tries, and bursts
//! of requests and guesses are held to their limits exactly.

use api_tests::{Account, TestApp, json_of, spawn_app, unique_email};
use reqwest::{Method, StatusCode};
use serde_json::json;

/// A number of its own per test, as people write it (spaces), and as E.164.
fn phone() -> (String, String) {
    let digits = format!("{:05}", ulid::Ulid::new().random() % 100_000);
    (format!("+44 7400 1{digits}"), format!("+4474001{digits}"))
}

/// A staff member of the owner's organisation with `phone`, who accepted their invitation: their
/// person id.
async fn staff_with_phone(app: &TestApp, owner: &Account, phone: &str) -> String {
    let email = unique_email("gate");
    let body = json!({ "email": email, "name": "Gate Staff", "role": "staff", "phone": phone });
    let person = app.member(&owner.access_token, body).await;
    person["id"].as_str().unwrap().to_owned()
}

async fn allow_phone_sign_in(app: &TestApp, owner: &Account) {
    let body = json!({ "settings": { "phone_sign_in": true } });
    let tenant =
        json_of(app.request(Method::PATCH, "/tenant", Some(&owner.access_token), Some(body)).await, StatusCode::OK)
            .await;
    assert_eq!(tenant["settings"]["phone_sign_in"], true);
}

async fn request_code(app: &TestApp, phone: &str) -> reqwest::Response {
    app.post("/auth/otp/request", None, json!({ "phone": phone })).await
}

async fn verify(app: &TestApp, phone: &str, code: &str, tenant_id: Option<&str>) -> reqwest::Response {
    let mut body = json!({ "phone": phone, "code": code, "token_delivery": "body" });
    if let Some(tenant_id) = tenant_id {
        body["tenant_id"] = json!(tenant_id);
    }
    app.post("/auth/otp/verify", None, body).await
}

/// The code of the newest message to `e164` (its subject starts with it).
async fn latest_code(app: &TestApp, e164: &str) -> String {
    let messages = app.messages_to(e164).await;
    let body = messages.last().expect("a code was sent")["body"].as_str().unwrap().to_owned();
    body[..6].to_owned()
}

/// Not the code: any other six digits.
fn other_than(code: &str) -> String {
    format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000)
}

#[tokio::test]
async fn staff_sign_in_with_a_code_sent_to_their_phone_once_their_organisation_allows_it() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let (written, e164) = phone();
    let person_id = staff_with_phone(&app, &owner, &written).await;

    // Not allowed yet: the same answer, and nothing is sent.
    let answer = json_of(request_code(&app, &written).await, StatusCode::ACCEPTED).await;
    assert_eq!(answer, json!({ "code_expires_in": 300 }));
    assert!(app.messages_to(&e164).await.is_empty());

    // Allowed: a code by SMS (free: account messages take no credit).
    allow_phone_sign_in(&app, &owner).await;
    let credits =
        json_of(app.get("/billing", &owner.access_token).await, StatusCode::OK).await["message_credits"].clone();
    json_of(request_code(&app, &written).await, StatusCode::ACCEPTED).await;
    let sent = app.messages_to(&e164).await;
    assert_eq!((sent.len(), sent[0]["channel"].as_str()), (1, Some("sms")), "{sent:?}");
    let code = latest_code(&app, &e164).await;
    assert!(code.bytes().all(|byte| byte.is_ascii_digit()), "{sent:?}");
    assert!(sent[0]["body"].as_str().unwrap().contains("It works once, for 5 minutes"), "{sent:?}");
    let billing = json_of(app.get("/billing", &owner.access_token).await, StatusCode::OK).await;
    assert_eq!(billing["message_credits"], credits);

    // The code signs the staff member in, as login does; it works once.
    let tokens = json_of(verify(&app, &e164, &format!(" {code} "), None).await, StatusCode::OK).await;
    let me = json_of(app.get("/me", tokens["access_token"].as_str().unwrap()).await, StatusCode::OK).await;
    assert_eq!((me["id"].as_str(), me["role"].as_str()), (Some(person_id.as_str()), Some("staff")));
    assert!(tokens["refresh_token"].as_str().is_some_and(|token| !token.is_empty()));
    let replayed = verify(&app, &e164, &code, None).await;
    assert_eq!(replayed.status(), StatusCode::UNAUTHORIZED);

    // She puts WhatsApp first: her next code comes that way.
    let access = tokens["access_token"].as_str().unwrap();
    let body = json!({ "channels": ["whatsapp", "sms"] });
    json_of(app.request(Method::PATCH, "/me", Some(access), Some(body)).await, StatusCode::OK).await;
    json_of(request_code(&app, &written).await, StatusCode::ACCEPTED).await;
    let sent = app.messages_to(&e164).await;
    assert_eq!((sent.len(), sent[1]["channel"].as_str()), (2, Some("whatsapp")), "{sent:?}");

    // A number that is nobody's: the same 202, and nothing sent.
    let (nobody, nobody_e164) = phone();
    let answer = json_of(request_code(&app, &nobody).await, StatusCode::ACCEPTED).await;
    assert_eq!(answer, json!({ "code_expires_in": 300 }));
    assert!(app.messages_to(&nobody_e164).await.is_empty());
    assert_eq!(verify(&app, &nobody_e164, "123456", None).await.status(), StatusCode::UNAUTHORIZED);

    // Not a number in international form: 422 naming the field.
    let refused = request_code(&app, "020 7946 0958").await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(json_of(refused, StatusCode::UNPROCESSABLE_ENTITY).await["errors"][0]["field"], "phone");
}

#[tokio::test]
async fn owners_and_admins_never_get_a_code_and_deactivated_staff_cannot_use_one() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    allow_phone_sign_in(&app, &owner).await;
    let (written, e164) = phone();
    let body = json!({ "phone": written });
    json_of(app.request(Method::PATCH, "/me", Some(&owner.access_token), Some(body)).await, StatusCode::OK).await;
    json_of(request_code(&app, &written).await, StatusCode::ACCEPTED).await;
    assert!(app.messages_to(&e164).await.is_empty(), "the owner signs in with password and second factor");

    let (written, e164) = phone();
    let person_id = staff_with_phone(&app, &owner, &written).await;
    json_of(request_code(&app, &written).await, StatusCode::ACCEPTED).await;
    let code = latest_code(&app, &e164).await;
    let path = format!("/people/{person_id}");
    let deactivated = app.request(Method::DELETE, &path, Some(&owner.access_token), None).await;
    assert!(deactivated.status().is_success(), "{}", deactivated.status());
    let refused = verify(&app, &e164, &code, None).await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let problem = json_of(refused, StatusCode::UNAUTHORIZED).await;
    assert!(problem["detail"].as_str().unwrap().contains("not open to this person"), "{problem}");
}

#[tokio::test]
async fn a_code_takes_exactly_five_guesses_even_at_once_and_requests_are_held_to_three() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    allow_phone_sign_in(&app, &owner).await;
    let (written, e164) = phone();
    staff_with_phone(&app, &owner, &written).await;

    // Four wrong guesses at once leave the fifth try to the right code.
    json_of(request_code(&app, &written).await, StatusCode::ACCEPTED).await;
    let code = latest_code(&app, &e164).await;
    let wrong = other_than(&code);
    let guesses = futures_util::future::join_all((0..4).map(|_| verify(&app, &e164, &wrong, None))).await;
    assert!(guesses.iter().all(|guess| guess.status() == StatusCode::UNAUTHORIZED));
    json_of(verify(&app, &e164, &code, None).await, StatusCode::OK).await;

    // Five wrong guesses at once use the code up: the right one no longer works.
    json_of(request_code(&app, &written).await, StatusCode::ACCEPTED).await;
    let code = latest_code(&app, &e164).await;
    let wrong = other_than(&code);
    let guesses = futures_util::future::join_all((0..5).map(|_| verify(&app, &e164, &wrong, None))).await;
    assert!(guesses.iter().all(|guess| guess.status() == StatusCode::UNAUTHORIZED));
    let locked = json_of(verify(&app, &e164, &code, None).await, StatusCode::UNAUTHORIZED).await;
    assert!(locked["detail"].as_str().unwrap().contains("ask for a new one"), "{locked}");

    // Requests: of 6 at once, exactly one more is sent (3 per phone in 15 minutes; 2 were).
    let before = app.messages_to(&e164).await.len();
    let burst = futures_util::future::join_all((0..6).map(|_| request_code(&app, &written))).await;
    let statuses: Vec<StatusCode> = burst.iter().map(reqwest::Response::status).collect();
    assert_eq!(statuses.iter().filter(|status| **status == StatusCode::ACCEPTED).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|status| **status == StatusCode::TOO_MANY_REQUESTS).count(), 5, "{statuses:?}");
    assert_eq!(app.messages_to(&e164).await.len(), before + 1);
}

#[tokio::test]
async fn a_phone_of_staff_in_two_organisations_chooses_which_to_sign_in_to() {
    let app = spawn_app().await;
    let (written, e164) = phone();
    let first = app.signup().await;
    let second = app.signup().await;
    let mut people = Vec::new();
    for owner in [&first, &second] {
        allow_phone_sign_in(&app, owner).await;
        people.push(staff_with_phone(&app, owner, &written).await);
    }
    json_of(request_code(&app, &written).await, StatusCode::ACCEPTED).await;
    let code = latest_code(&app, &e164).await;

    let choice = json_of(verify(&app, &e164, &code, None).await, StatusCode::OK).await;
    assert_eq!(choice["choose_organisation"], true, "{choice}");
    let mut offered: Vec<&str> =
        choice["organisations"].as_array().unwrap().iter().map(|org| org["tenant_id"].as_str().unwrap()).collect();
    offered.sort_unstable();
    let mut expected = vec![first.tenant_id.as_str(), second.tenant_id.as_str()];
    expected.sort_unstable();
    assert_eq!(offered, expected);

    // The same code, with the choice.
    let tokens = json_of(verify(&app, &e164, &code, Some(&second.tenant_id)).await, StatusCode::OK).await;
    let me = json_of(app.get("/me", tokens["access_token"].as_str().unwrap()).await, StatusCode::OK).await;
    assert_eq!(
        (me["id"].as_str(), me["tenant_id"].as_str()),
        (Some(people[1].as_str()), Some(second.tenant_id.as_str()))
    );
}
