//! Roles, walked from the document: every operation it marks for a role above staff
//! (`security: bearer: [coordinator | admin | owner | platform_admin]`) answers a staff member's
//! token with `403 forbidden`, and every owner-only or platform operation an admin's too — with a
//! well-formed request naming the organisation's own records, so the refusal is the role's and
//! not a bad body or an unknown id. A new route is covered the day it is documented.

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
        "kind" => "people".to_owned(),
        // Platform operations refuse staff before looking anything up.
        "plan_id" => "01JN0SUCHPLAN0000000000000".to_owned(),
        "pack_id" => "01JN0SUCHPACK0000000000000".to_owned(),
        // Owners' operations refuse everyone else before looking anything up.
        "invoice_id" => "RT-2027-000001".to_owned(),
        // Coordinators' operations refuse staff before looking anything up.
        "broadcast_id" => "01JN0SUCHBR0ADCAST00000000".to_owned(),
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

#[tokio::test]
async fn staff_and_admin_tokens_on_every_operation_above_their_role_are_forbidden() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let org = app.organisation(&owner).await;
    let site = app.on_site(&owner.access_token, &org).await;
    let staff = app.staff_token(&org).await;
    // An admin of the organisation: everything but the owner's and the platform's.
    let email = api_tests::unique_email("admin");
    let invited = serde_json::json!({ "email": email, "name": "Alex Admin", "role": "admin" });
    json_of(app.post("/people", Some(&owner.access_token), invited).await, StatusCode::CREATED).await;
    let token = app.link_token(&email, "/accept-invitation").await;
    let body = serde_json::json!({ "token": token, "password": api_tests::PASSWORD, "token_delivery": "body" });
    let accepted = json_of(app.post("/auth/invitations/accept", None, body).await, StatusCode::CREATED).await;
    let admin = accepted["tokens"]["access_token"].as_str().unwrap().to_owned();
    let doc = serde_json::to_value(&app.doc).unwrap();

    let mut checked = Vec::new();
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
            let path = template
                .split('/')
                .map(|part| match part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                    Some(name) => fixture(&org, &site, &owner.tenant_id, name),
                    None => part.to_owned(),
                })
                .collect::<Vec<_>>()
                .join("/");
            // The documented example, or an empty object for a body of optional fields.
            let body = operation["requestBody"]["content"]["application/json"]["schema"].as_object().map(|_| {
                let schema = resolve(&doc, &operation["requestBody"]["content"]["application/json"]["schema"]);
                schema.get("example").cloned().unwrap_or_else(|| serde_json::json!({}))
            });
            let method: Method = method.to_uppercase().parse().unwrap();
            let above_admin = scopes.iter().any(|scope| ["owner", "platform_admin"].contains(scope));
            let refused = [("staff", &staff)].into_iter().chain(above_admin.then_some(("admin", &admin)));
            for (role, token) in refused {
                let what = format!("{method} {path} ({scopes:?}) as {role}");
                let response = app.request(method.clone(), &path, Some(token), body.clone()).await;
                let status = response.status();
                let text = response.text().await.unwrap();
                let problem: Value = serde_json::from_str(&text).unwrap_or_default();
                assert_eq!(
                    (status, problem["code"].as_str()),
                    (StatusCode::FORBIDDEN, Some("forbidden")),
                    "{what}: {text}"
                );
                checked.push(format!("{method} {template} as {role}"));
            }
        }
    }
    assert!(checked.len() >= 30, "only {} operations above staff: {checked:?}", checked.len());
    let as_admin = checked.iter().filter(|operation| operation.ends_with(" as admin")).count();
    assert!(as_admin >= 15, "only {as_admin} owner or platform operations: {checked:?}");
    // The refusals changed nothing: the organisation's shift is as it was made.
    let shift = json_of(app.get(&format!("/shifts/{}", org.shift_id), &owner.access_token).await, StatusCode::OK).await;
    assert_eq!((shift["status"].as_str(), shift["assigned_count"].as_u64()), (Some("published"), Some(1)));
}
