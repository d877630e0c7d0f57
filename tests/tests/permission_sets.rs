//! Permission sets as an owner defines them: a finance clerk's, from the organisation's
//! permissions, listed after the built-in roles' and changed with optimistic concurrency; nobody
//! below owner defines one, and the platform's permission is never an organisation's.

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
