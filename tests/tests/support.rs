//! A support ticket from both sides: a coordinator's screenshot of a failing check-in reaches the
//! platform's queue and mailbox, the operator answers, the coordinator replies, the operator
//! solves and closes it — each side mailed, the thread whole on both sides, and nobody else in
//! the organisation reading it.

use api_tests::{TestApp, json_of, member, problem_of, spawn_app};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn email_of(app: &TestApp, token: &str) -> String {
    json_of(app.get("/me", token).await, StatusCode::OK).await["email"].as_str().unwrap().to_owned()
}

/// Subjects of the mail sent to `to` so far.
async fn subjects(app: &TestApp, to: &str) -> Vec<String> {
    app.mail_to(to).await.iter().map(|mail| mail["subject"].as_str().unwrap_or_default().to_owned()).collect()
}

#[tokio::test]
async fn a_ticket_from_screenshot_to_closed_both_sides_mailed() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let coordinator = member(&app, &owner, "Cleo", "coordinator", &[]).await;
    let colleague = member(&app, &owner, "Dan", "coordinator", &[]).await;
    let operator = app.platform_admin().await;
    let operator_email = email_of(&app, &operator).await;
    let token = Some(coordinator.access_token.as_str());

    // Cleo uploads a screenshot and opens a ticket with it.
    let png = b"\x89PNG\r\n\x1a\n screenshot".to_vec();
    let asked = json!({ "content_type": "image/png", "content_length": png.len() });
    let upload = json_of(app.post("/support/attachments", token, asked).await, StatusCode::CREATED).await;
    let put = app.http.put(upload["url"].as_str().unwrap()).header("content-type", "image/png").body(png.clone());
    assert!(put.send().await.unwrap().status().is_success());
    let ticket = json!({ "subject": "Check-in photos fail", "body": "Sam's phone cannot upload at the gate.",
        "priority": "high", "attachments": [{ "key": upload["key"], "file_name": "gate.png" }] });
    let ticket = json_of(app.post("/support/tickets", token, ticket).await, StatusCode::CREATED).await;
    let ticket_id = ticket["id"].as_str().unwrap().to_owned();
    assert_eq!((ticket["status"].as_str(), ticket["priority"].as_str()), (Some("open"), Some("high")));
    assert_eq!(ticket["requester_name"], "Cleo");
    assert_eq!(ticket["thread"].as_array().map(Vec::len), Some(1));

    // The platform hears of it and finds it in the queue, with the screenshot.
    let mail = subjects(&app, &operator_email).await;
    assert!(mail.iter().any(|subject| subject.ends_with("] Check-in photos fail")), "{mail:?}");
    let queue = json_of(app.get("/admin/support/tickets?limit=100", &operator).await, StatusCode::OK).await;
    assert!(queue["items"].as_array().unwrap().iter().any(|t| t["id"] == ticket_id.as_str()), "{queue}");
    let theirs = format!("/admin/support/tickets?tenant_id={}", owner.tenant_id);
    let theirs = json_of(app.get(&theirs, &operator).await, StatusCode::OK).await;
    assert_eq!(theirs["items"].as_array().map(Vec::len), Some(1));
    let on_platform = format!("/admin/tenants/{}/support/tickets/{ticket_id}", owner.tenant_id);
    let thread = json_of(app.get(&on_platform, &operator).await, StatusCode::OK).await;
    let attachment = &thread["thread"][0]["attachments"][0];
    assert_eq!(attachment["file_name"], "gate.png");
    let file = app.http.get(attachment["url"].as_str().unwrap()).send().await.unwrap().bytes().await.unwrap();
    assert_eq!(file.to_vec(), png);

    // The operator answers: the ticket waits on Cleo, who is mailed.
    let answer = json!({ "body": "Which app version is on the phone?" });
    let messages = format!("{on_platform}/messages");
    json_of(app.post(&messages, Some(&operator), answer).await, StatusCode::CREATED).await;
    let mail = subjects(&app, &coordinator.email).await;
    assert_eq!(mail.iter().filter(|subject| *subject == "[Rota support] Check-in photos fail").count(), 1, "{mail:?}");
    let mine = format!("/support/tickets/{ticket_id}");
    let read = json_of(app.get(&mine, &coordinator.access_token).await, StatusCode::OK).await;
    assert_eq!(read["status"], "pending");
    let sides: Vec<&str> = read["thread"].as_array().unwrap().iter().map(|m| m["side"].as_str().unwrap()).collect();
    assert_eq!(sides, ["organisation", "platform"]);

    // Cleo replies: the platform's turn again.
    let reply = json!({ "body": "Version 4.2." });
    json_of(app.post(&format!("{mine}/messages"), token, reply).await, StatusCode::CREATED).await;
    let read = json_of(app.get(&on_platform, &operator).await, StatusCode::OK).await;
    assert_eq!((read["status"].as_str(), read["messages"].as_u64()), (Some("open"), Some(3)));

    // Her colleague does not see it; the owner (an admin) does.
    problem_of(app.get(&mine, &colleague.access_token).await, StatusCode::NOT_FOUND, "not_found").await;
    let listed = json_of(app.get("/support/tickets", &colleague.access_token).await, StatusCode::OK).await;
    assert_eq!(listed["items"].as_array().map(Vec::len), Some(0));
    let listed = json_of(app.get("/support/tickets", &owner.access_token).await, StatusCode::OK).await;
    assert_eq!(listed["items"].as_array().map(Vec::len), Some(1));

    // The operator takes it, solves it (Cleo is mailed), then closes it: no more replies.
    let me = json_of(app.get("/me", &operator).await, StatusCode::OK).await;
    let take = json!({ "assignee_id": me["id"], "status": "solved", "version": read["version"] });
    let taken =
        json_of(app.request(Method::PATCH, &on_platform, Some(&operator), Some(take)).await, StatusCode::OK).await;
    assert_eq!((taken["status"].as_str(), taken["assignee_id"].as_str()), (Some("solved"), me["id"].as_str()));
    let stale = json!({ "status": "closed", "version": read["version"] });
    problem_of(
        app.request(Method::PATCH, &on_platform, Some(&operator), Some(stale)).await,
        StatusCode::CONFLICT,
        "conflict",
    )
    .await;
    let solved = app.mail_to(&coordinator.email).await;
    assert!(
        solved.iter().any(|mail| mail["body"].as_str().unwrap_or_default().contains("Rota support marked it solved.")),
        "{solved:?}"
    );
    let close = json!({ "status": "closed" });
    json_of(app.request(Method::PATCH, &on_platform, Some(&operator), Some(close)).await, StatusCode::OK).await;
    let late = json!({ "body": "One more thing" });
    problem_of(app.post(&format!("{mine}/messages"), token, late).await, StatusCode::CONFLICT, "conflict").await;
    let closed =
        json_of(app.get("/admin/support/tickets?status=closed&limit=100", &operator).await, StatusCode::OK).await;
    assert!(closed["items"].as_array().unwrap().iter().any(|t| t["id"] == ticket_id.as_str()));
}

#[tokio::test]
async fn tickets_refuse_what_is_not_theirs() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let other = app.signup().await;
    let token = Some(owner.access_token.as_str());
    // A file of someone else's folder cannot be attached.
    let asked = json!({ "content_type": "application/pdf", "content_length": 10 });
    let upload =
        json_of(app.post("/support/attachments", Some(&other.access_token), asked).await, StatusCode::CREATED).await;
    let ticket = json!({ "subject": "Help", "body": "See the file", "attachments": [{ "key": upload["key"], "file_name": "x.pdf" }] });
    let problem = problem_of(
        app.post("/support/tickets", token, ticket).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "attachments", "{problem}");
    let too_big = json!({ "content_type": "image/png", "content_length": 10 * 1024 * 1024 + 1 });
    problem_of(
        app.post("/support/attachments", token, too_big).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    // An organisation's owner is no platform admin.
    problem_of(app.get("/admin/support/tickets", &owner.access_token).await, StatusCode::FORBIDDEN, "forbidden").await;
    let ticket = json!({ "subject": "Help", "body": "Nothing works" });
    let ticket = json_of(app.post("/support/tickets", token, ticket).await, StatusCode::CREATED).await;
    let path = format!("/support/tickets/{}", ticket["id"].as_str().unwrap());
    problem_of(app.get(&path, &other.access_token).await, StatusCode::NOT_FOUND, "not_found").await;
    let value: Value = ticket["thread"][0]["attachments"].clone();
    assert_eq!(value, json!([]));
}

#[tokio::test]
async fn replies_at_once_each_land_and_are_counted() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let ticket = json!({ "subject": "Busy", "body": "First" });
    let ticket =
        json_of(app.post("/support/tickets", Some(&owner.access_token), ticket).await, StatusCode::CREATED).await;
    let path = format!("/support/tickets/{}", ticket["id"].as_str().unwrap());
    let messages = format!("{path}/messages");
    let replies =
        (0..6).map(|n| app.post(&messages, Some(&owner.access_token), json!({ "body": format!("Reply {n}") })));
    for reply in futures_util::future::join_all(replies).await {
        assert_eq!(reply.status(), StatusCode::CREATED);
    }
    let read = json_of(app.get(&path, &owner.access_token).await, StatusCode::OK).await;
    assert_eq!((read["messages"].as_u64(), read["thread"].as_array().map(Vec::len)), (Some(7), Some(7)));
}
