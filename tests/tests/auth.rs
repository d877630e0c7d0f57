//! Identity and sessions, as a user lives them.

use api_tests::{PASSWORD, json_of, problem_of, spawn_app, unique_email};
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn an_owner_signs_up_logs_in_and_reads_their_profile() {
    let app = spawn_app().await;
    let owner = app.signup().await;

    // The password, then a code: the owner has two-factor authentication on.
    let waiting = json_of(app.login(&owner.email.to_uppercase(), PASSWORD).await, StatusCode::OK).await;
    assert_eq!((waiting["mfa_required"].as_bool(), waiting["expires_in"].as_i64()), (Some(true), Some(300)));
    assert!(waiting.get("access_token").is_none(), "no tokens before the second factor: {waiting}");
    let code = app.fresh_code(&owner).await;
    let tokens = json_of(app.login_mfa(waiting["mfa_token"].as_str().unwrap(), &code).await, StatusCode::OK).await;
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 900);

    let me = json_of(app.get("/me", tokens["access_token"].as_str().unwrap()).await, StatusCode::OK).await;
    assert_eq!(me["email"], owner.email);
    assert_eq!(me["role"], "owner");
    assert_eq!(me["status"], "active");
    assert_eq!(me["tenant_id"], owner.tenant_id);
    assert!(me.get("password_hash").is_none());
}

#[tokio::test]
async fn wrong_password_and_unknown_email_get_the_same_401() {
    let app = spawn_app().await;
    let owner = app.signup().await;

    let wrong_password =
        problem_of(app.login(&owner.email, "not the password").await, StatusCode::UNAUTHORIZED, "unauthorized").await;
    let unknown_email =
        problem_of(app.login(&unique_email("nobody"), PASSWORD).await, StatusCode::UNAUTHORIZED, "unauthorized").await;
    assert_eq!(wrong_password, unknown_email);
}

#[tokio::test]
async fn an_inactive_account_is_answered_like_a_wrong_password() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    app.set(&format!("EMAIL#{}", owner.email), "EMAIL", &[("status", json!("inactive"))]).await;

    let right = problem_of(app.login(&owner.email, PASSWORD).await, StatusCode::UNAUTHORIZED, "unauthorized").await;
    let wrong =
        problem_of(app.login(&owner.email, "not the password").await, StatusCode::UNAUTHORIZED, "unauthorized").await;
    assert_eq!(right, wrong, "the answer does not confirm the password");
    // Both counted: three more failures and the right password is refused for a while.
    for _ in 0..3 {
        problem_of(app.login(&owner.email, PASSWORD).await, StatusCode::UNAUTHORIZED, "unauthorized").await;
    }
    problem_of(app.login(&owner.email, PASSWORD).await, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
}

#[tokio::test]
async fn the_sixth_failed_login_is_rate_limited_even_with_the_right_password() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    for _ in 0..5 {
        problem_of(app.login(&owner.email, "wrong password!").await, StatusCode::UNAUTHORIZED, "unauthorized").await;
    }

    let response = app.login(&owner.email, PASSWORD).await;
    let retry_after: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=900).contains(&retry_after), "Retry-After {retry_after}");
    problem_of(response, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
}

#[tokio::test]
async fn a_browser_gets_the_refresh_token_only_as_a_cookie() {
    let app = spawn_app().await;
    // Without 2FA, so the password alone gets the tokens.
    let owner = app.signup_without_2fa().await;
    let body = json!({ "email": owner.email, "password": PASSWORD, "token_delivery": "cookie" });
    let response = app.post("/auth/login", None, body).await;
    let cookie = response.headers()["set-cookie"].to_str().unwrap().to_owned();
    for attribute in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/auth", "Max-Age=604800"] {
        assert!(cookie.contains(attribute), "{cookie} lacks {attribute}");
    }
    let tokens = json_of(response, StatusCode::OK).await;
    assert!(tokens.get("refresh_token").is_none(), "script on the page must not see it: {tokens}");
    let token = cookie.strip_prefix("__Secure-rota_refresh=").unwrap().split(';').next().unwrap().to_owned();

    // The browser sends the cookie back; the next token comes the same way.
    let send = |cookie: String| app.http.post(format!("{}/auth/refresh", app.address)).header("cookie", cookie).send();
    let refreshed = send(format!("theme=dark; __Secure-rota_refresh={token}")).await.unwrap();
    assert!(refreshed.headers()["set-cookie"].to_str().unwrap().starts_with("__Secure-rota_refresh="));
    let tokens = json_of(refreshed, StatusCode::OK).await;
    assert!(tokens.get("refresh_token").is_none() && tokens["access_token"].is_string(), "{tokens}");

    // A second cookie of the same name (planted by a sibling domain) is refused, not guessed at.
    let planted = send(format!("__Secure-rota_refresh=planted; __Secure-rota_refresh={token}")).await.unwrap();
    problem_of(planted, StatusCode::UNAUTHORIZED, "unauthorized").await;
}

#[tokio::test]
async fn other_clients_get_the_refresh_token_only_in_the_body() {
    let app = spawn_app().await;
    let owner = app.signup_without_2fa().await;
    let response = app.login(&owner.email, PASSWORD).await;
    assert!(!response.headers().contains_key("set-cookie"));
    let tokens = json_of(response, StatusCode::OK).await;
    let refreshed = app.refresh(tokens["refresh_token"].as_str().unwrap()).await;
    assert!(!refreshed.headers().contains_key("set-cookie"));
    assert!(json_of(refreshed, StatusCode::OK).await["refresh_token"].is_string());
}

#[tokio::test]
async fn refresh_without_or_with_a_garbled_token_is_401() {
    let app = spawn_app().await;
    problem_of(app.post("/auth/refresh", None, json!({})).await, StatusCode::UNAUTHORIZED, "unauthorized").await;
    problem_of(app.refresh("garbled").await, StatusCode::UNAUTHORIZED, "unauthorized").await;
}

#[tokio::test]
async fn logout_ends_only_that_session() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let laptop = app.login_tokens(&owner).await;

    let response = app.request(Method::POST, "/auth/logout", Some(&owner.access_token), None).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert!(response.headers()["set-cookie"].to_str().unwrap().contains("Max-Age=0"));

    problem_of(app.refresh(&owner.refresh_token).await, StatusCode::UNAUTHORIZED, "unauthorized").await;
    let sessions =
        json_of(app.get("/auth/sessions", laptop["access_token"].as_str().unwrap()).await, StatusCode::OK).await;
    let ids: Vec<_> = sessions["items"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [laptop["session_id"].as_str().unwrap()]);
    json_of(app.refresh(laptop["refresh_token"].as_str().unwrap()).await, StatusCode::OK).await;
}

#[tokio::test]
async fn logout_all_ends_every_session() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let phone = app.login_tokens(&owner).await;

    let response = app.request(Method::POST, "/auth/logout-all", Some(&owner.access_token), None).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);

    problem_of(app.refresh(&owner.refresh_token).await, StatusCode::UNAUTHORIZED, "unauthorized").await;
    problem_of(app.refresh(phone["refresh_token"].as_str().unwrap()).await, StatusCode::UNAUTHORIZED, "unauthorized")
        .await;
    let sessions = json_of(app.get("/auth/sessions", &owner.access_token).await, StatusCode::OK).await;
    assert_eq!(sessions["items"], json!([]));
}

#[tokio::test]
async fn a_user_lists_and_revokes_their_device_sessions() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let tablet = app.login_tokens(&owner).await;

    let sessions = json_of(app.get("/auth/sessions", &owner.access_token).await, StatusCode::OK).await;
    let items = sessions["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    let current: Vec<_> = items.iter().filter(|s| s["current"] == true).map(|s| s["id"].as_str().unwrap()).collect();
    assert_eq!(current, [owner.session_id.as_str()]);

    let path = format!("/auth/sessions/{}", tablet["session_id"].as_str().unwrap());
    let response = app.request(Method::DELETE, &path, Some(&owner.access_token), None).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    problem_of(app.refresh(tablet["refresh_token"].as_str().unwrap()).await, StatusCode::UNAUTHORIZED, "unauthorized")
        .await;
    problem_of(
        app.request(Method::DELETE, &path, Some(&owner.access_token), None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn another_tenant_cannot_touch_my_sessions() {
    let app = spawn_app().await;
    let alice = app.signup().await;
    let bob = app.signup().await;

    let path = format!("/auth/sessions/{}", alice.session_id);
    problem_of(
        app.request(Method::DELETE, &path, Some(&bob.access_token), None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    json_of(app.refresh(&alice.refresh_token).await, StatusCode::OK).await;
}

#[tokio::test]
async fn signing_up_with_a_taken_email_answers_the_same_and_warns_its_owner() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let fresh = unique_email("fresh");

    let taken = json_of(app.signup_response(&owner.email.to_uppercase()).await, StatusCode::ACCEPTED).await;
    let free = json_of(app.signup_response(&fresh).await, StatusCode::ACCEPTED).await;
    assert_eq!(taken["link_expires_in"], free["link_expires_in"]);
    assert_eq!((taken["email"].as_str(), free["email"].as_str()), (Some(owner.email.as_str()), Some(fresh.as_str())));
    assert_eq!(taken.as_object().unwrap().len(), free.as_object().unwrap().len(), "{taken} vs {free}");

    let mail = app.mail_to(&owner.email).await;
    let warning = mail.last().unwrap();
    assert_eq!(warning["subject"], "Someone tried to sign up with your email");
    assert!(!warning["body"].as_str().unwrap().contains("token="), "no link to create anything: {warning}");
    // The owner's account is untouched.
    json_of(app.login(&owner.email, PASSWORD).await, StatusCode::OK).await;
}

#[tokio::test]
async fn signup_names_every_invalid_field() {
    let app = spawn_app().await;
    let body = json!({ "organisation_name": " ", "name": "Olive", "email": "not-an-email", "password": "short" });
    let problem =
        problem_of(app.post("/auth/signup", None, body).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
            .await;
    let mut fields: Vec<_> =
        problem["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    fields.sort();
    assert_eq!(fields, ["email", "organisation_name", "password"]);
}

#[tokio::test]
async fn a_body_that_is_not_json_is_a_400_and_one_without_a_json_type_a_415() {
    let app = spawn_app().await;
    let send = |content_type: &'static str, body: &'static str| {
        app.http.post(format!("{}/auth/login", app.address)).header("content-type", content_type).body(body).send()
    };
    let truncated = send("application/json", r#"{"email": "a@b.c", "password": "#).await.unwrap();
    let problem = problem_of(truncated, StatusCode::BAD_REQUEST, "invalid_request").await;
    assert!(problem["detail"].as_str().unwrap().contains("EOF"), "{problem}");

    let as_text = send("text/plain", r#"{"email": "a@b.c", "password": "x"}"#).await.unwrap();
    problem_of(as_text, StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type").await;
}

#[tokio::test]
async fn unknown_and_wrongly_typed_fields_are_422_naming_the_field() {
    let app = spawn_app().await;
    let unknown_field =
        app.post("/auth/login", None, json!({ "email": "a@b.c", "password": "x", "admin": true })).await;
    let problem = problem_of(unknown_field, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(problem["errors"][0]["field"], "admin", "{problem}");
    assert!(problem["errors"][0]["message"].as_str().unwrap().starts_with("unknown field"), "{problem}");

    let wrong_type = app.post("/auth/refresh", None, json!({ "refresh_token": 42 })).await;
    let problem = problem_of(wrong_type, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(
        problem["errors"],
        json!([{ "field": "refresh_token", "message": "invalid type: integer `42`, expected a string" }])
    );

    let missing = app.post("/auth/login", None, json!({ "email": "a@b.c" })).await;
    let problem = problem_of(missing, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(problem["errors"], json!([{ "field": "password", "message": "is required" }]));
}

#[tokio::test]
async fn a_user_updates_their_contact_details() {
    let app = spawn_app().await;
    let owner = app.signup().await;

    let patch = |body| app.request(Method::PATCH, "/me", Some(&owner.access_token), Some(body));
    let me =
        json_of(patch(json!({ "name": "Olive Oyl", "phone": "+44 20 7946 0958", "version": 1 })).await, StatusCode::OK)
            .await;
    assert_eq!(
        (me["name"].as_str(), me["phone"].as_str(), me["version"].as_u64()),
        (Some("Olive Oyl"), Some("+442079460958"), Some(2))
    );

    problem_of(patch(json!({ "name": "Stale", "version": 1 })).await, StatusCode::CONFLICT, "conflict").await;
    // Not a phone, a national number (no country to read it in), a number never allocated.
    for refused in ["call me maybe", "020 7946 0958", "+44 7700 900123"] {
        let problem =
            problem_of(patch(json!({ "phone": refused })).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
                .await;
        assert_eq!(
            problem["errors"],
            json!([{ "field": "phone", "message": "must be a valid phone number in international form, such as +44 7911 123456" }]),
            "{refused}"
        );
    }
    let me = json_of(app.get("/me", &owner.access_token).await, StatusCode::OK).await;
    assert_eq!(me["name"], "Olive Oyl");
}

#[tokio::test]
async fn unknown_routes_answer_problem_json() {
    let app = spawn_app().await;
    problem_of(app.request(Method::GET, "/no/such/route", None, None).await, StatusCode::NOT_FOUND, "route_not_found")
        .await;
    problem_of(
        app.request(Method::PUT, "/auth/login", None, None).await,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    )
    .await;
}
