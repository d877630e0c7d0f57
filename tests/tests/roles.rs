//! Permissions, walked from the document: every operation names the permission it needs as its
//! bearer scope (`security: bearer: [schedule.write]`), and each built-in role whose set
//! (`GET /permission-sets`) lacks it — staff, coordinator, admin, owner — gets `403 forbidden`,
//! with a well-formed request naming the organisation's own records, so the refusal is the
//! permission's and not a bad body or an unknown id. A new route is covered the day it is
//! documented.

use api_tests::{OnSite, Organisation, json_of, spawn_app};
use reqwest::{Method, StatusCode};
use serde_json::Value;

/// The organisation's record for a path parameter.
fn fixture(org: &Organisation, site: &OnSite, tenant_id: &str, name: &str) -> String {
    match name {
        "tenant_id" => tenant_id.to_owned(),
        "location_id" => org.location_id.clone(),
        "position_id" => org.position_id.clone(),
        "unit_id" => org.unit_id.clone(),
        "person_id" => org.person_id.clone(),
        "event_id" => org.event_id.clone(),
        "shift_id" => org.shift_id.clone(),
        "assignment_id" => org.assignment_id.clone(),
        "request_id" => org.request_id.clone(),
        "attendance_id" => site.attendance_id.clone(),
        "start" => site.period_start.clone(),
        "stub_id" => site.stub_id.clone(),
        "import_id" => org.import_id.clone(),
        "job_id" => org.auto_fill_id.clone(),
        "kind" => "people".to_owned(),
        // Platform operations refuse staff before looking anything up.
        "plan_id" => "01JN0SUCHPLAN0000000000000".to_owned(),
        "pack_id" => "01JN0SUCHPACK0000000000000".to_owned(),
        "ticket_id" => "01JN0SUCHT1CKET00000000000".to_owned(),
        "lead_id" => "01JN0SUCHLEAD0000000000000".to_owned(),
        "deal_id" => "01JN0SUCHDEA10000000000000".to_owned(),
        // Webhook endpoints: the permission is judged before anything is looked up.
        "endpoint_id" => "01JN0SUCHENDP01NT000000000".to_owned(),
        "delivery_id" => "msg_01JN0SUCHDEL1VERY00000000".to_owned(),
        // Owners' operations refuse everyone else before looking anything up.
        "invoice_id" => "RT-2027-000001".to_owned(),
        // Coordinators' operations refuse staff before looking anything up.
        "broadcast_id" => "01JN0SUCHBR0ADCAST00000000".to_owned(),
        // Only owners change the organisation's permission sets: everyone else is refused first.
        "set_id" => "01JN0SUCHSET0000000000000".to_owned(),
        // No provider signs it in: a holder of the permission is told it is not found.
        "domain" => format!("{}.example", tenant_id.to_lowercase()),
        _ => panic!("add a fixture for `{name}` so the role check covers it"),
    }
}

/// The schema a `$ref` names (or the schema itself).
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(reference) => doc.pointer(reference.trim_start_matches('#')).expect("a local $ref"),
        None => schema,
    }
}

/// An operation that needs a permission, as a request naming the organisation's own records.
struct Guarded {
    method: Method,
    template: String,
    path: String,
    body: Option<Value>,
    permission: String,
}

/// Every operation the document marks with a permission (its one bearer scope), with a
/// well-formed request: the documented example body, or an empty object for a body of optional
/// fields.
fn guarded(doc: &Value, org: &Organisation, site: &OnSite, tenant_id: &str) -> Vec<Guarded> {
    let mut operations = Vec::new();
    for (template, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let scopes: Vec<&str> = operation["security"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|requirement| requirement["bearer"].as_array().into_iter().flatten())
                .filter_map(Value::as_str)
                .collect();
            if scopes.is_empty() {
                continue;
            }
            let method: Method = method.to_uppercase().parse().unwrap();
            assert_eq!(scopes.len(), 1, "{method} {template} names one permission: {scopes:?}");
            let path = template
                .split('/')
                .map(|part| match part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                    Some(name) => fixture(org, site, tenant_id, name),
                    None => part.to_owned(),
                })
                .collect::<Vec<_>>()
                .join("/");
            let schema = &operation["requestBody"]["content"]["application/json"]["schema"];
            let body = schema
                .as_object()
                .map(|_| resolve(doc, schema).get("example").cloned().unwrap_or_else(|| serde_json::json!({})));
            operations.push(Guarded {
                method,
                template: template.clone(),
                path,
                body,
                permission: scopes[0].to_owned(),
            });
        }
    }
    operations
}

async fn assert_forbidden(response: reqwest::Response, what: &str) {
    let status = response.status();
    let text = response.text().await.unwrap();
    let problem: Value = serde_json::from_str(&text).unwrap_or_default();
    assert_eq!((status, problem["code"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")), "{what}: {text}");
}

#[tokio::test]
async fn every_built_in_role_lacking_an_operations_permission_is_forbidden() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let org = app.organisation(&owner).await;
    let site = app.on_site(&owner.access_token, &org).await;
    let staff = app.staff_token(&org).await;
    let coordinator = api_tests::member(&app, &owner, "Cory Coordinator", "coordinator", &[]).await.access_token;
    // An admin of the organisation: everything but the owner's and the platform's.
    let email = api_tests::unique_email("admin");
    let invited = serde_json::json!({ "email": email, "name": "Alex Admin", "role": "admin" });
    json_of(app.post("/people", Some(&owner.access_token), invited).await, StatusCode::CREATED).await;
    let token = app.link_token(&email, "/accept-invitation").await;
    let body = serde_json::json!({ "token": token, "password": api_tests::PASSWORD, "token_delivery": "body" });
    let accepted = json_of(app.post("/auth/invitations/accept", None, body).await, StatusCode::CREATED).await;
    let admin = accepted["tokens"]["access_token"].as_str().unwrap().to_owned();
    let doc = serde_json::to_value(&app.doc).unwrap();
    let sets = json_of(app.get("/permission-sets", &staff).await, StatusCode::OK).await;
    let holds = |role: &str, permission: &str| {
        let set = sets["items"].as_array().unwrap().iter().find(|set| set["id"] == role).unwrap();
        set["permissions"].as_array().unwrap().iter().any(|held| held == permission)
    };
    let roles = [("staff", &staff), ("coordinator", &coordinator), ("admin", &admin), ("owner", &owner.access_token)];
    // Each session's own permissions (`GET /me`, for a frontend to show what may be done) are its
    // role's set, from staff's none to the owner's all but the platform's.
    for (role, token) in &roles {
        let me = json_of(app.get("/me", token).await, StatusCode::OK).await;
        let set = sets["items"].as_array().unwrap().iter().find(|set| set["id"] == *role).unwrap();
        assert_eq!(me["permissions"], set["permissions"], "{role}");
    }
    let held = |index: usize| sets["items"][index]["permissions"].as_array().unwrap().len();
    assert_eq!((held(0), held(3)), (0, sets["permissions"].as_array().unwrap().len()), "staff none, owners all");

    let mut checked = Vec::new();
    for operation in guarded(&doc, &org, &site, &owner.tenant_id) {
        let Guarded { method, template, path, body, permission } = &operation;
        for (role, token) in roles.iter().filter(|(role, _)| !holds(role, permission)) {
            let what = format!("{method} {path} ({permission}) as {role}");
            let response = app.request(method.clone(), path, Some(token.as_str()), body.clone()).await;
            assert_forbidden(response, &what).await;
            checked.push(format!("{method} {template} as {role}"));
        }
    }
    let refused_as =
        |role: &str| checked.iter().filter(|operation| operation.ends_with(&format!(" as {role}"))).count();
    assert!(refused_as("staff") >= 60, "only {} operations above staff: {checked:?}", refused_as("staff"));
    assert!(refused_as("coordinator") >= 40, "only {} above coordinators: {checked:?}", refused_as("coordinator"));
    assert!(refused_as("admin") >= 20, "only {} owner or platform operations: {checked:?}", refused_as("admin"));
    assert_eq!(refused_as("owner"), 36, "the platform's operations only: {checked:?}");
    // The refusals changed nothing: the organisation's shift is as it was made.
    let shift = json_of(app.get(&format!("/shifts/{}", org.shift_id), &owner.access_token).await, StatusCode::OK).await;
    assert_eq!((shift["status"].as_str(), shift["assigned_count"].as_u64()), (Some("published"), Some(1)));
}

/// The permission walk proper: for each permission, a staff member whose permission set holds
/// only it is not refused on its operations, and one whose set holds every other permission is.
/// (The organisation does not require 2FA of admins here, so a set is judged by its
/// permissions alone.)
#[tokio::test]
async fn a_set_of_exactly_an_operations_permission_opens_it_and_one_without_it_does_not() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let org = app.organisation(&owner).await;
    let site = app.on_site(&owner.access_token, &org).await;
    let settings = serde_json::json!({ "settings": { "require_admin_mfa": false } });
    let changed = app.request(Method::PATCH, "/tenant", Some(&owner.access_token), Some(settings)).await;
    json_of(changed, StatusCode::OK).await;
    let doc = serde_json::to_value(&app.doc).unwrap();
    let catalogue = json_of(app.get("/permission-sets", &owner.access_token).await, StatusCode::OK).await;
    let all: Vec<Value> = catalogue["permissions"].as_array().unwrap().iter().map(|p| p["name"].clone()).collect();
    let operations = guarded(&doc, &org, &site, &owner.tenant_id);

    let mut opened = 0;
    for permission in &all {
        let name = permission.as_str().unwrap();
        let others: Vec<&Value> = all.iter().filter(|other| *other != permission).collect();
        let only = holder(&app, &owner, serde_json::json!([permission])).await;
        let without = holder(&app, &owner, serde_json::json!(others)).await;
        let me = json_of(app.get("/me", &only).await, StatusCode::OK).await;
        assert_eq!(me["permissions"], serde_json::json!([permission]), "the session holds exactly the set");
        for operation in operations.iter().filter(|operation| operation.permission == name) {
            let what = format!("{} {} holding only {name}", operation.method, operation.path);
            let body = body_for_one_permission(operation, name);
            let response = app.request(operation.method.clone(), &operation.path, Some(&without), body.clone()).await;
            assert_forbidden(response, &format!("{} {} without {name}", operation.method, operation.path)).await;
            let response = app.request(operation.method.clone(), &operation.path, Some(&only), body).await;
            let status = response.status();
            let text = response.text().await.unwrap();
            let code = serde_json::from_str::<Value>(&text).unwrap_or_default()["code"].clone();
            assert!(!(status == StatusCode::FORBIDDEN && code == "forbidden"), "{what}: {status} {text}");
            opened += 1;
        }
    }
    // Every operation of an organisation's permission was walked (the platform's are no set's).
    let organisations = operations.iter().filter(|operation| operation.permission != "platform.manage").count();
    assert_eq!(opened, organisations);
    assert!(organisations >= 60, "only {organisations} operations need a permission");
}

/// A staff member of `owner`'s organisation given a new set of `permissions`, signed in again
/// (the change ended their sessions): their access token.
async fn holder(app: &api_tests::TestApp, owner: &api_tests::Account, permissions: Value) -> String {
    let body = serde_json::json!({ "name": "Walk", "permissions": permissions });
    let set = json_of(app.post("/permission-sets", Some(&owner.access_token), body).await, StatusCode::CREATED).await;
    let member = api_tests::member(app, owner, "Wally Walker", "staff", &[]).await;
    let path = format!("/people/{}", member.person_id);
    let given = serde_json::json!({ "permission_set_id": set["id"] });
    json_of(app.request(Method::PATCH, &path, Some(&owner.access_token), Some(given)).await, StatusCode::OK).await;
    let tokens = app.login_tokens(&member).await;
    tokens["access_token"].as_str().unwrap().to_owned()
}

/// The documented example, unless it gives more than `permission` (a role or a set holding
/// other permissions, which nobody gives without holding them): then a body that gives nothing.
fn body_for_one_permission(operation: &Guarded, permission: &str) -> Option<Value> {
    match (operation.method.as_str(), operation.template.as_str()) {
        ("PATCH", "/people/{person_id}") => Some(serde_json::json!({ "name": "Sam Renamed" })),
        ("POST", "/permission-sets") => Some(serde_json::json!({ "name": "Own", "permissions": [permission] })),
        ("PATCH", "/permission-sets/{set_id}") => Some(serde_json::json!({ "name": "Renamed" })),
        _ => operation.body.clone(),
    }
}
