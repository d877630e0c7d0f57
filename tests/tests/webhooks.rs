//! Outgoing webhooks: an owner registers her payroll system's endpoint, pings it, and every
//! delivery checks out with the Standard Webhooks reference verifier (the `standardwebhooks`
//! package behind the local receiver, infra/fake_webhooks.py) — a 500 retried to success with the
//! same message id, both secrets valid through a rotation, a redelivery, a `410 Gone` that disables
//! the endpoint, and addresses it must never reach refused.

use api_tests::{TestApp, json_of, local_config, member, problem_of, spawn_app_with};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// An app whose retries are not waited for (the schedule scaled to nothing).
async fn app() -> TestApp {
    let mut config = local_config();
    config.webhook_retry_scale = 0.0;
    spawn_app_with(config).await
}

/// The local receiver's address for `name`.
fn receiver(name: &str) -> String {
    let base = std::env::var("ROTA_SMS_API").expect("run with `infra/stack run` (the receiver)");
    format!("{base}/hooks/{name}")
}

/// What `name` received, each verified (or not) with `secret` by the reference library.
async fn received(app: &TestApp, name: &str, secret: &str) -> Vec<Value> {
    app.deliver().await;
    let base = std::env::var("ROTA_SMS_API").unwrap();
    let url = format!("{base}/_fake/webhooks/{name}");
    let response = app.http.get(url).query(&[("secret", secret)]).send().await.unwrap();
    response.json().await.unwrap()
}

async fn fail_next(app: &TestApp, name: &str, status: u16) {
    let base = std::env::var("ROTA_SMS_API").unwrap();
    let url = format!("{base}/_fake/webhooks/{name}/fail");
    assert!(app.http.post(url).json(&json!({ "status": status })).send().await.unwrap().status().is_success());
}

#[tokio::test]
async fn deliveries_are_signed_retried_rotated_and_stopped_by_410() {
    let app = app().await;
    let owner = app.signup().await;
    let token = Some(owner.access_token.as_str());
    let name = ulid::Ulid::new().to_string();

    let created = json!({ "url": receiver(&name), "description": "Payroll sync" });
    let created = json_of(app.post("/webhooks/endpoints", token, created).await, StatusCode::CREATED).await;
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_") && secret.len() > 40, "{created}");
    let endpoint = format!("/webhooks/endpoints/{}", created["id"].as_str().unwrap());
    let listed = json_of(app.get("/webhooks/endpoints", &owner.access_token).await, StatusCode::OK).await;
    assert_eq!(listed.as_array().map(Vec::len), Some(1));
    assert!(listed[0].get("secret").is_none(), "the secret is shown once: {listed}");

    // A ping arrives signed; the reference verifier accepts it, and refuses another secret.
    let ping =
        json_of(app.post_empty(&format!("{endpoint}/ping"), &owner.access_token).await, StatusCode::ACCEPTED).await;
    let got = received(&app, &name, &secret).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!((got[0]["verified"].as_bool(), got[0]["id"].as_str()), (Some(true), ping["message_id"].as_str()));
    assert_eq!(got[0]["payload"]["type"], "webhook.ping");
    assert_eq!(got[0]["payload"]["data"]["endpoint_id"], created["id"]);
    let other = rota::webhooks::new_secret();
    assert_eq!(received(&app, &name, &other).await[0]["verified"], false);
    let deliveries =
        json_of(app.get(&format!("{endpoint}/deliveries"), &owner.access_token).await, StatusCode::OK).await;
    let first = &deliveries["items"][0];
    assert_eq!(
        (first["status"].as_str(), first["attempts"].as_u64(), first["last_status_code"].as_u64()),
        (Some("succeeded"), Some(1), Some(204))
    );

    // A 500, then the retry on the schedule succeeds with the same id.
    fail_next(&app, &name, 500).await;
    let ping =
        json_of(app.post_empty(&format!("{endpoint}/ping"), &owner.access_token).await, StatusCode::ACCEPTED).await;
    let got = received(&app, &name, &secret).await;
    let retried: Vec<&Value> = got.iter().filter(|d| d["id"] == ping["message_id"]).collect();
    assert_eq!(retried.len(), 2, "{got:?}");
    assert!(retried.iter().all(|d| d["verified"] == true), "{retried:?}");
    let deliveries =
        json_of(app.get(&format!("{endpoint}/deliveries"), &owner.access_token).await, StatusCode::OK).await;
    let latest = &deliveries["items"][0];
    assert_eq!(
        (latest["id"].as_str(), latest["status"].as_str(), latest["attempts"].as_u64()),
        (ping["message_id"].as_str(), Some("succeeded"), Some(2))
    );

    // A new secret: for a day both sign, so the receiver verifies with either.
    let rotated =
        json_of(app.post_empty(&format!("{endpoint}/rotate-secret"), &owner.access_token).await, StatusCode::OK).await;
    let new_secret = rotated["secret"].as_str().unwrap().to_owned();
    assert_ne!(new_secret, secret);
    json_of(app.post_empty(&format!("{endpoint}/ping"), &owner.access_token).await, StatusCode::ACCEPTED).await;
    assert_eq!(received(&app, &name, &new_secret).await.last().unwrap()["verified"], true);
    assert_eq!(received(&app, &name, &secret).await.last().unwrap()["verified"], true);

    // A redelivery sends the first message again, with its id.
    let first_id = first["id"].as_str().unwrap();
    let again = format!("{endpoint}/deliveries/{first_id}/redeliver");
    json_of(app.post_empty(&again, &owner.access_token).await, StatusCode::ACCEPTED).await;
    let got = received(&app, &name, &new_secret).await;
    assert_eq!(got.iter().filter(|d| d["id"] == first_id).count(), 2, "{got:?}");

    // 410 Gone: the endpoint is disabled, says why, and takes no ping until turned back on.
    fail_next(&app, &name, 410).await;
    json_of(app.post_empty(&format!("{endpoint}/ping"), &owner.access_token).await, StatusCode::ACCEPTED).await;
    app.deliver().await;
    let read = json_of(app.get(&endpoint, &owner.access_token).await, StatusCode::OK).await;
    assert_eq!(
        (read["enabled"].as_bool(), read["disabled_reason"].as_str()),
        (Some(false), Some("the endpoint answered 410 Gone"))
    );
    let mails = app.mail_to(&owner.email).await;
    let told: Vec<&Value> = mails.iter().filter(|mail| mail["subject"] == "A webhook endpoint was disabled").collect();
    assert_eq!(told.len(), 1, "{mails:?}");
    assert!(told[0]["body"].as_str().unwrap().contains("the endpoint answered 410 Gone"), "{told:?}");
    problem_of(
        app.post_empty(&format!("{endpoint}/ping"), &owner.access_token).await,
        StatusCode::CONFLICT,
        "conflict",
    )
    .await;
    let on = app.request(Method::PATCH, &endpoint, token, Some(json!({ "enabled": true }))).await;
    let on = json_of(on, StatusCode::OK).await;
    assert_eq!((on["enabled"].as_bool(), on["disabled_reason"].as_str()), (Some(true), None));
}

#[tokio::test]
async fn no_endpoint_may_point_inside_and_only_owners_manage_them() {
    let app = app().await;
    let owner = app.signup().await;
    let token = Some(owner.access_token.as_str());
    for inside in [
        "http://169.254.169.254/latest/meta-data",
        "https://10.0.0.5/hooks",
        "http://user:pw@127.0.0.1:9/x",
        "ftp://127.0.0.1/x",
    ] {
        let problem = problem_of(
            app.post("/webhooks/endpoints", token, json!({ "url": inside })).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
        assert_eq!(problem["errors"][0]["field"], "url", "{inside}: {problem}");
    }
    let ping_type = json!({ "url": receiver("x"), "event_types": ["webhook.ping"] });
    let problem = problem_of(
        app.post("/webhooks/endpoints", token, ping_type).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "event_types", "{problem}");
    // Twelve registered at once: exactly ten are kept; one removed makes room for one more.
    let burst =
        (0..12).map(|i| app.post("/webhooks/endpoints", token, json!({ "url": receiver(&format!("burst-{i}")) })));
    let statuses: Vec<StatusCode> = futures_util::future::join_all(burst).await.iter().map(|r| r.status()).collect();
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::CREATED).count(), 10, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::CONFLICT).count(), 2, "{statuses:?}");
    let listed = json_of(app.get("/webhooks/endpoints", &owner.access_token).await, StatusCode::OK).await;
    assert_eq!(listed.as_array().map(Vec::len), Some(10));
    let one = format!("/webhooks/endpoints/{}", listed[0]["id"].as_str().unwrap());
    assert_eq!(app.request(Method::DELETE, &one, token, None).await.status(), StatusCode::NO_CONTENT);
    problem_of(app.get(&one, &owner.access_token).await, StatusCode::NOT_FOUND, "not_found").await;
    json_of(app.post("/webhooks/endpoints", token, json!({ "url": receiver("after") })).await, StatusCode::CREATED)
        .await;
    let eleventh = app.post("/webhooks/endpoints", token, json!({ "url": receiver("over") })).await;
    problem_of(eleventh, StatusCode::CONFLICT, "conflict").await;

    // A coordinator neither registers nor reads them.
    let coordinator = member(&app, &owner, "Cleo", "coordinator", &[]).await;
    let refused =
        app.post("/webhooks/endpoints", Some(&coordinator.access_token), json!({ "url": receiver("y") })).await;
    problem_of(refused, StatusCode::FORBIDDEN, "forbidden").await;
    problem_of(app.get("/webhooks/endpoints", &coordinator.access_token).await, StatusCode::FORBIDDEN, "forbidden")
        .await;
}

#[tokio::test]
async fn each_endpoint_hears_only_the_events_it_asked_for() {
    let app = app().await;
    let owner = app.signup().await;
    let token = Some(owner.access_token.as_str());
    let (people, shifts) = (ulid::Ulid::new().to_string(), ulid::Ulid::new().to_string());
    let mut secrets = Vec::new();
    for (name, types) in
        [(&people, json!(["person.created", "person.deactivated"])), (&shifts, json!(["shift.published"]))]
    {
        let body = json!({ "url": receiver(name), "event_types": types });
        let created = json_of(app.post("/webhooks/endpoints", token, body).await, StatusCode::CREATED).await;
        secrets.push(created["secret"].as_str().unwrap().to_owned());
    }

    // A person joins and leaves; a shift is published.
    let org = app.organisation(&owner).await;
    let gone = app.request(Method::DELETE, &format!("/people/{}", org.person_id), token, None).await;
    assert_eq!(gone.status(), StatusCode::NO_CONTENT);

    // Messages carry no order (as the spec says): each is found by what it is about.
    let heard = received(&app, &people, &secrets[0]).await;
    assert!(heard.iter().all(|d| d["verified"] == true), "{heard:?}");
    let types: Vec<&str> = heard.iter().map(|d| d["payload"]["type"].as_str().unwrap()).collect();
    assert!(types.iter().all(|t| t.starts_with("person.")), "{types:?}");
    let about = |kind: &str| {
        heard.iter().filter(|d| d["payload"]["type"] == kind).map(|d| d["payload"]["data"].clone()).collect::<Vec<_>>()
    };
    assert!(about("person.created").iter().any(|data| data["person"]["id"] == org.person_id.as_str()), "{heard:?}");
    assert_eq!(about("person.deactivated"), [json!({ "person_id": org.person_id })]);

    let heard = received(&app, &shifts, &secrets[1]).await;
    let published: Vec<&Value> =
        heard.iter().filter(|d| d["payload"]["data"]["shift"]["id"] == org.shift_id.as_str()).collect();
    assert_eq!(published.len(), 1, "{heard:?}");
    assert_eq!(
        (published[0]["payload"]["type"].as_str(), published[0]["verified"].as_bool()),
        (Some("shift.published"), Some(true))
    );
    assert!(heard.iter().all(|d| d["payload"]["type"] == "shift.published"), "{heard:?}");
}

#[tokio::test]
async fn an_endpoint_for_everything_hears_a_whole_day_of_events() {
    let app = app().await;
    let owner = app.signup().await;
    let token = Some(owner.access_token.as_str());
    let name = ulid::Ulid::new().to_string();
    let created = app.post("/webhooks/endpoints", token, json!({ "url": receiver(&name) })).await;
    let secret = json_of(created, StatusCode::CREATED).await["secret"].as_str().unwrap().to_owned();

    // A day: shifts published and one changed, offers accepted (one by checking in) and one
    // declined, a check-in and check-out, a correction, a closed pay period, time off approved.
    let org = app.organisation(&owner).await;
    let site = app.on_site(&owner.access_token, &org).await;
    let notes = json!({ "notes": "Bring the float" });
    let path = format!("/shifts/{}", org.shift_id);
    json_of(app.request(Method::PATCH, &path, token, Some(notes)).await, StatusCode::OK).await;
    let answer = format!("/assignments/{}/status", org.assignment_id);
    json_of(app.post(&answer, token, json!({ "status": "declined" })).await, StatusCode::OK).await;
    let at_hall = json!({ "shift_id": site.now_shift_id, "lat": api_tests::HALL.0, "lng": api_tests::HALL.1, "accuracy_m": 10.0 });
    json_of(app.post("/attendance/check-in", token, at_hall.clone()).await, StatusCode::CREATED).await;
    json_of(app.post("/attendance/check-out", token, at_hall).await, StatusCode::OK).await;
    let staff = app.staff_token(&org).await;
    let away = json!({ "kind": "time_off", "from": "2031-03-02", "to": "2031-03-03" });
    let request = json_of(app.post("/requests", Some(&staff), away).await, StatusCode::CREATED).await;
    let approve = format!("/requests/{}/approve", request["id"].as_str().unwrap());
    json_of(app.post_empty(&approve, &owner.access_token).await, StatusCode::OK).await;

    let heard = received(&app, &name, &secret).await;
    assert!(heard.iter().all(|d| d["verified"] == true), "{heard:?}");
    let of = |kind: &str| -> Vec<Value> {
        heard.iter().filter(|d| d["payload"]["type"] == kind).map(|d| d["payload"]["data"].clone()).collect()
    };
    let changed = of("shift.changed");
    assert_eq!(changed.len(), 1, "{changed:?}");
    assert_eq!(
        (changed[0]["shift"]["id"].as_str(), changed[0]["shift"]["notes"].as_str()),
        (Some(org.shift_id.as_str()), Some("Bring the float"))
    );
    let declined = of("assignment.declined");
    assert_eq!(
        declined.iter().map(|d| d["assignment"]["id"].as_str().unwrap()).collect::<Vec<_>>(),
        [org.assignment_id.as_str()]
    );
    // Three shifts taken by answering, none yet by checking in.
    let accepted = of("assignment.accepted");
    assert_eq!(accepted.len(), 3, "{accepted:?}");
    assert!(accepted.iter().all(|d| d["assignment"]["status"] == "accepted"), "{accepted:?}");
    // The fixture's vague check-in and the one at the hall.
    let checked_in = of("attendance.checked_in");
    let shifts_in: Vec<&str> = checked_in.iter().map(|d| d["attendance"]["shift_id"].as_str().unwrap()).collect();
    assert_eq!(shifts_in.len(), 2, "{checked_in:?}");
    assert!(shifts_in.contains(&site.ended_shift_id.as_str()) && shifts_in.contains(&site.now_shift_id.as_str()));
    let checked_out = of("attendance.checked_out");
    assert_eq!(checked_out.len(), 1, "{checked_out:?}");
    assert_eq!(checked_out[0]["attendance"]["shift_id"], site.now_shift_id.as_str());
    assert!(checked_out[0]["attendance"]["check_out_at"].is_string(), "{checked_out:?}");
    let corrected = of("attendance.corrected");
    assert_eq!(corrected.len(), 1, "{corrected:?}");
    assert_eq!(corrected[0]["attendance"]["check_in_at"].as_str().map(|at| &at[11..16]), Some("08:00"));
    let closed = of("pay_period.closed");
    assert_eq!(closed.len(), 1, "{closed:?}");
    assert_eq!(
        (closed[0]["pay_period"]["start"].as_str(), closed[0]["pay_period"]["stub_count"].as_u64()),
        (Some(site.period_start.as_str()), Some(1))
    );
    let approved = of("time_off.approved");
    assert_eq!(approved.len(), 1, "{approved:?}");
    assert_eq!(
        (approved[0]["request"]["id"].as_str(), approved[0]["request"]["status"].as_str()),
        (request["id"].as_str(), Some("approved"))
    );
    // The organisation's shift and the three of the day on site.
    assert_eq!(of("shift.published").len(), 4, "{heard:?}");
}
