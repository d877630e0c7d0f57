//! Permission sets as an owner defines and gives them: a finance clerk's, from the organisation's
//! permissions, listed after the built-in roles' and changed with optimistic concurrency; given to
//! a person, it is what their next sessions hold (a change to it from their next refresh), under
//! the admins' 2FA rule; nobody gives or makes a set (or a role) beyond what they hold, and the
//! platform's permission is never an organisation's. (The walk over every operation with a set
//! of exactly its permission is in roles.rs.)

use api_tests::{json_of, problem_of, spawn_app};
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn an_owner_defines_a_finance_clerks_set_and_changes_it() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let body = json!({ "name": " Finance clerk ", "description": "Pay periods, stubs and exports; no scheduling",
        "permissions": ["payroll.read", "payroll.close", "costs.read", "payroll.read"] });
    let set = json_of(app.post("/permission-sets", Some(&owner.access_token), body).await, StatusCode::CREATED).await;
    assert_eq!((set["name"].as_str(), set["version"].as_u64()), (Some("Finance clerk"), Some(1)));
    assert_eq!(set["permissions"], json!(["costs.read", "payroll.read", "payroll.close"]), "each once, in order");

    let listed = json_of(app.get("/permission-sets", &owner.access_token).await, StatusCode::OK).await;
    let ids: Vec<&str> = listed["items"].as_array().unwrap().iter().map(|set| set["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["staff", "coordinator", "admin", "owner", set["id"].as_str().unwrap()]);
    assert_eq!(
        (listed["items"][4]["built_in"].as_bool(), listed["items"][4]["version"].as_u64()),
        (Some(false), Some(1))
    );
    assert!(
        listed["permissions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["name"] != "platform.manage" && p["description"].is_string())
    );

    let path = format!("/permission-sets/{}", set["id"].as_str().unwrap());
    let change = json!({ "permissions": ["payroll.read"], "description": null, "version": 1 });
    let changed = json_of(
        app.request(Method::PATCH, &path, Some(&owner.access_token), Some(change.clone())).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!((changed["permissions"].clone(), changed["version"].as_u64()), (json!(["payroll.read"]), Some(2)));
    assert!(changed.get("description").is_none());
    let stale = app.request(Method::PATCH, &path, Some(&owner.access_token), Some(change)).await;
    problem_of(stale, StatusCode::CONFLICT, "conflict").await;
    let audit = json_of(
        app.get(&format!("/audit-logs?entity_id={}", set["id"].as_str().unwrap()), &owner.access_token).await,
        StatusCode::OK,
    )
    .await;
    let actions: Vec<&str> =
        audit["items"].as_array().unwrap().iter().map(|entry| entry["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["permission_set.updated", "permission_set.created"]);
}

#[tokio::test]
async fn only_owners_define_sets_and_never_with_the_platforms_permission() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let admin = api_tests::member(&app, &owner, "Alex Admin", "admin", &[]).await;
    let body = json!({ "name": "Clerk", "permissions": ["payroll.read"] });
    problem_of(app.post("/permission-sets", Some(&admin.access_token), body).await, StatusCode::FORBIDDEN, "forbidden")
        .await;
    let platform = json!({ "name": "Operator", "permissions": ["audit.read", "platform.manage"] });
    let refused = problem_of(
        app.post("/permission-sets", Some(&owner.access_token), platform).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(refused["errors"][0]["field"], "permissions", "{refused}");
    let empty = json!({ "name": "Nothing", "permissions": [] });
    problem_of(
        app.post("/permission-sets", Some(&owner.access_token), empty).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let built_in = app
        .request(Method::PATCH, "/permission-sets/admin", Some(&owner.access_token), Some(json!({ "name": "Boss" })))
        .await;
    problem_of(built_in, StatusCode::NOT_FOUND, "not_found").await;
    let listed = json_of(app.get("/permission-sets", &admin.access_token).await, StatusCode::OK).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 4, "nothing was made");
}

/// An auditor's set given to a staff member: their sessions end, the next sign-in holds it,
/// a change to the set counts from their next refresh, and they must pass 2FA like an admin
/// where the organisation requires it.
#[tokio::test]
async fn a_set_given_to_a_person_is_what_their_next_sessions_hold() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let body = json!({ "name": "Auditor", "permissions": ["audit.read", "costs.read"] });
    let set = json_of(app.post("/permission-sets", Some(&owner.access_token), body).await, StatusCode::CREATED).await;
    let clerk = api_tests::member(&app, &owner, "Audrey Auditor", "staff", &[]).await;
    problem_of(app.get("/audit-logs", &clerk.access_token).await, StatusCode::FORBIDDEN, "forbidden").await;

    let path = format!("/people/{}", clerk.person_id);
    let given = json!({ "permission_set_id": set["id"] });
    let person =
        json_of(app.request(Method::PATCH, &path, Some(&owner.access_token), Some(given)).await, StatusCode::OK).await;
    assert_eq!(person["permission_set_id"], set["id"]);
    problem_of(app.refresh(&clerk.refresh_token).await, StatusCode::UNAUTHORIZED, "unauthorized").await;

    // The organisation requires 2FA of admins: a set's powers need it too.
    let tokens = app.login_tokens(&clerk).await;
    let access = tokens["access_token"].as_str().unwrap();
    let me = json_of(app.get("/me", access).await, StatusCode::OK).await;
    assert_eq!(me["permissions"], json!(["costs.read", "audit.read"]));
    problem_of(app.get("/audit-logs", access).await, StatusCode::FORBIDDEN, "mfa_required").await;
    let settings = json!({ "settings": { "require_admin_mfa": false } });
    json_of(app.request(Method::PATCH, "/tenant", Some(&owner.access_token), Some(settings)).await, StatusCode::OK)
        .await;
    let tokens = json_of(app.refresh(tokens["refresh_token"].as_str().unwrap()).await, StatusCode::OK).await;
    json_of(app.get("/audit-logs", tokens["access_token"].as_str().unwrap()).await, StatusCode::OK).await;

    // The set narrowed: the clerk's next refresh holds the new set, without signing in again.
    let set_path = format!("/permission-sets/{}", set["id"].as_str().unwrap());
    let narrowed = json!({ "permissions": ["costs.read"] });
    json_of(app.request(Method::PATCH, &set_path, Some(&owner.access_token), Some(narrowed)).await, StatusCode::OK)
        .await;
    let tokens = json_of(app.refresh(tokens["refresh_token"].as_str().unwrap()).await, StatusCode::OK).await;
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(json_of(app.get("/me", access).await, StatusCode::OK).await["permissions"], json!(["costs.read"]));
    problem_of(app.get("/audit-logs", access).await, StatusCode::FORBIDDEN, "forbidden").await;
}

/// Nobody gives what they do not hold: a people manager (a set of `people.write` and
/// `permissions.manage`) neither makes admins nor gives or makes a set with pay data.
#[tokio::test]
async fn a_set_holder_grants_nothing_beyond_their_own_permissions() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let settings = json!({ "settings": { "require_admin_mfa": false } });
    json_of(app.request(Method::PATCH, "/tenant", Some(&owner.access_token), Some(settings)).await, StatusCode::OK)
        .await;
    let make = |permissions: serde_json::Value| {
        let body = json!({ "name": "Set", "permissions": permissions });
        app.post("/permission-sets", Some(&owner.access_token), body)
    };
    let managers = json_of(make(json!(["people.write", "permissions.manage"])).await, StatusCode::CREATED).await;
    let payroll = json_of(make(json!(["payroll.read"])).await, StatusCode::CREATED).await;
    let manager = api_tests::member(&app, &owner, "Max Manager", "staff", &[]).await;
    let body = json!({ "permission_set_id": managers["id"] });
    let given = app
        .request(Method::PATCH, &format!("/people/{}", manager.person_id), Some(&owner.access_token), Some(body))
        .await;
    json_of(given, StatusCode::OK).await;
    let tokens = app.login_tokens(&manager).await;
    let token = tokens["access_token"].as_str().unwrap();

    let sam = api_tests::member(&app, &owner, "Sam Staff", "staff", &[]).await;
    let path = format!("/people/{}", sam.person_id);
    let promote = app.request(Method::PATCH, &path, Some(token), Some(json!({ "role": "admin" }))).await;
    problem_of(promote, StatusCode::FORBIDDEN, "forbidden").await;
    let pay = app.request(Method::PATCH, &path, Some(token), Some(json!({ "permission_set_id": payroll["id"] }))).await;
    problem_of(pay, StatusCode::FORBIDDEN, "forbidden").await;
    let own = json!({ "name": "Mine", "permissions": ["people.write", "payroll.read"] });
    problem_of(app.post("/permission-sets", Some(token), own).await, StatusCode::FORBIDDEN, "forbidden").await;
    // What they hold, they give.
    let theirs = json!({ "name": "Helpers", "permissions": ["people.write"] });
    let helpers = json_of(app.post("/permission-sets", Some(token), theirs).await, StatusCode::CREATED).await;
    let given =
        app.request(Method::PATCH, &path, Some(token), Some(json!({ "permission_set_id": helpers["id"] }))).await;
    assert_eq!(json_of(given, StatusCode::OK).await["permission_set_id"], helpers["id"]);
    let unknown = app
        .request(Method::PATCH, &path, Some(token), Some(json!({ "permission_set_id": "01JN0SUCHSET0000000000000" })))
        .await;
    problem_of(unknown, StatusCode::NOT_FOUND, "not_found").await;
}

/// Invited with a set: accepting the invitation signs the person in holding it; inviting with a
/// set beyond one's own permissions is refused like giving one.
#[tokio::test]
async fn a_person_invited_with_a_set_holds_it_from_their_first_sign_in() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let body = json!({ "name": "Auditor", "permissions": ["audit.read"] });
    let set = json_of(app.post("/permission-sets", Some(&owner.access_token), body).await, StatusCode::CREATED).await;
    let email = api_tests::unique_email("auditor");
    let invite = json!({ "email": email, "name": "Audrey Auditor", "role": "staff", "permission_set_id": set["id"] });
    let invited = json_of(app.post("/people", Some(&owner.access_token), invite).await, StatusCode::CREATED).await;
    assert_eq!(invited["permission_set_id"], set["id"]);
    let token = app.link_token(&email, "/accept-invitation").await;
    let accept = json!({ "token": token, "password": api_tests::PASSWORD, "token_delivery": "body" });
    let accepted = json_of(app.post("/auth/invitations/accept", None, accept).await, StatusCode::CREATED).await;
    let me = json_of(app.get("/me", accepted["tokens"]["access_token"].as_str().unwrap()).await, StatusCode::OK).await;
    assert_eq!(me["permissions"], json!(["audit.read"]));

    let coordinator = api_tests::member(&app, &owner, "Cory Coordinator", "coordinator", &[]).await;
    let unknown = json!({ "email": api_tests::unique_email("x"), "name": "X", "role": "staff",
        "permission_set_id": "01JN0SUCHSET0000000000000" });
    problem_of(app.post("/people", Some(&owner.access_token), unknown).await, StatusCode::NOT_FOUND, "not_found").await;
    let beyond =
        json!({ "email": api_tests::unique_email("y"), "name": "Y", "role": "staff", "permission_set_id": set["id"] });
    problem_of(app.post("/people", Some(&coordinator.access_token), beyond).await, StatusCode::FORBIDDEN, "forbidden")
        .await;
}
