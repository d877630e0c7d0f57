//! SCIM 2.0 provisioning as an IT administrator connects Okta or Entra ID: the owner makes the
//! token, the provider creates people (with the bodies Okta and Entra document), they sign in
//! through single sign-on, and the provider's deactivation signs them out everywhere at once.

use api_tests::oidc::Issuer;
use api_tests::{Account, TestApp, json_of, problem_of, spawn_app};
use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};

const SCIM_JSON: &str = "application/scim+json";

async fn scim(app: &TestApp, method: Method, path: &str, token: &str, body: Option<Value>) -> Response {
    let mut request = app.http.request(method, format!("{}/scim/v2{path}", app.address)).bearer_auth(token);
    if let Some(body) = body {
        request = request.header("content-type", SCIM_JSON).body(body.to_string());
    }
    request.send().await.unwrap()
}

/// Asserts a SCIM resource or message in `application/scim+json`, and returns it.
async fn scim_of(response: Response, status: StatusCode) -> Value {
    let content_type = response.headers().get("content-type").map(|value| value.to_str().unwrap().to_owned());
    let body = json_of(response, status).await;
    assert_eq!(content_type.as_deref(), Some(SCIM_JSON), "{body}");
    body
}

/// Asserts a SCIM error (RFC 7644 §3.12) with this status and `scimType`, and returns it.
async fn scim_error(response: Response, status: StatusCode, scim_type: Option<&str>) -> Value {
    let error = scim_of(response, status).await;
    assert_eq!(error["schemas"], json!(["urn:ietf:params:scim:api:messages:2.0:Error"]), "{error}");
    assert_eq!(error["status"], status.as_u16().to_string(), "{error}");
    assert_eq!(error["scimType"].as_str(), scim_type, "{error}");
    assert!(error["detail"].is_string(), "{error}");
    error
}

async fn new_token(app: &TestApp, owner: &Account) -> String {
    let created = json_of(app.post_empty("/tenant/scim/token", &owner.access_token).await, StatusCode::CREATED).await;
    created["token"].as_str().unwrap().to_owned()
}

async fn find(app: &TestApp, token: &str, user_name: &str) -> Value {
    let filter = format!("userName eq \"{user_name}\"");
    let path = format!("/Users?filter={}", urlencode(&filter));
    scim_of(scim(app, Method::GET, &path, token, None).await, StatusCode::OK).await
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (byte as char).to_string(),
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

/// Okta's documented create request (its SCIM 2.0 guide), for `email`.
fn okta_user(email: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": email,
        "name": { "givenName": "Test", "familyName": "User" },
        "emails": [{ "primary": true, "value": email, "type": "work" }],
        "displayName": "Test User", "locale": "en-US", "externalId": "00ujl29u0le5T6Aj10h7",
        "groups": [], "password": "1mz050nq", "active": true
    })
}

/// The organisation's own email domain, connected to a local OpenID Connect issuer.
async fn single_sign_on(app: &TestApp, owner: &Account, issuer: &Issuer) -> String {
    let domain = format!("{}.example", owner.tenant_id.to_lowercase());
    let body = json!({ "providers": [{ "kind": "okta", "issuer": issuer.url, "client_id": "rota-web",
        "allowed_domains": [domain] }], "password_login": "allowed" });
    json_of(app.request(Method::PUT, "/tenant/sso", Some(&owner.access_token), Some(body)).await, StatusCode::OK).await;
    app.prove_domain(&owner.access_token, &domain).await;
    domain
}

async fn sign_in(app: &TestApp, issuer: &Issuer, email: &str) -> Value {
    let started = json_of(app.post("/auth/oidc/start", None, json!({ "email": email })).await, StatusCode::OK).await;
    let id_token = issuer.sign(&issuer.claims("rota-web", email, started["nonce"].as_str().unwrap()), "rsa-1");
    let body = json!({ "provider_id": started["provider_id"], "nonce": started["nonce"], "id_token": id_token,
        "token_delivery": "body" });
    json_of(app.post("/auth/oidc/callback", None, body).await, StatusCode::OK).await
}

#[tokio::test]
async fn okta_provisions_a_person_who_signs_in_and_is_signed_out_by_deactivation() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let issuer = Issuer::start().await;
    let domain = single_sign_on(&app, &owner, &issuer).await;
    let settings = json_of(app.get("/tenant/scim", &owner.access_token).await, StatusCode::OK).await;
    assert_eq!(settings, json!({ "enabled": false, "token_created_at": null, "base_path": "/scim/v2" }));

    let token = new_token(&app, &owner).await;
    assert!(token.starts_with(&format!("rota_scim_{}_", owner.tenant_id)), "{token}");
    let settings = json_of(app.get("/tenant/scim", &owner.access_token).await, StatusCode::OK).await;
    assert_eq!((settings["enabled"].as_bool(), settings["token_created_at"].is_string()), (Some(true), true));
    let config = scim_of(scim(&app, Method::GET, "/ServiceProviderConfig", &token, None).await, StatusCode::OK).await;
    assert_eq!(
        (config["patch"]["supported"].as_bool(), config["bulk"]["supported"].as_bool()),
        (Some(true), Some(false))
    );

    // Okta looks the person up first, then creates them.
    let email = format!("test.user@{domain}");
    let found = find(&app, &token, &email).await;
    assert_eq!((found["totalResults"].as_u64(), found["Resources"].as_array().map(Vec::len)), (Some(0), Some(0)));
    let created =
        scim_of(scim(&app, Method::POST, "/Users", &token, Some(okta_user(&email))).await, StatusCode::CREATED).await;
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!((created["userName"].as_str(), created["active"].as_bool()), (Some(email.as_str()), Some(true)));
    assert_eq!(
        (created["displayName"].as_str(), created["externalId"].as_str()),
        (Some("Test User"), Some("00ujl29u0le5T6Aj10h7"))
    );
    assert_eq!(created["meta"]["location"], format!("/scim/v2/Users/{id}"));
    let found = find(&app, &token, &email.to_uppercase()).await;
    assert_eq!((found["totalResults"].as_u64(), found["Resources"][0]["id"].as_str()), (Some(1), Some(id.as_str())));
    let again = scim(&app, Method::POST, "/Users", &token, Some(okta_user(&email))).await;
    scim_error(again, StatusCode::CONFLICT, Some("uniqueness")).await;

    // In Rota they are an active staff member with the directory's names.
    let person = json_of(app.get(&format!("/people/{id}"), &owner.access_token).await, StatusCode::OK).await;
    assert_eq!((person["status"].as_str(), person["role"].as_str()), (Some("active"), Some("staff")));
    assert_eq!(person["scim"]["external_id"], "00ujl29u0le5T6Aj10h7");

    // They sign in through the organisation's provider: no password was ever set.
    let tokens = sign_in(&app, &issuer, &email).await;
    let refresh = tokens["refresh_token"].as_str().unwrap();

    // Okta renames them with a whole user (PUT), then deactivates with its path-less PATCH.
    let mut renamed = okta_user(&email);
    renamed["name"] = json!({ "givenName": "Tess", "familyName": "User" });
    renamed.as_object_mut().unwrap().remove("displayName");
    let replaced =
        scim_of(scim(&app, Method::PUT, &format!("/Users/{id}"), &token, Some(renamed)).await, StatusCode::OK).await;
    assert_eq!(replaced["displayName"], "Tess User");
    let deactivate = json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{ "op": "replace", "value": { "active": false } }] });
    let patched = scim(&app, Method::PATCH, &format!("/Users/{id}"), &token, Some(deactivate)).await;
    assert_eq!(scim_of(patched, StatusCode::OK).await["active"], false);
    problem_of(app.refresh(refresh).await, StatusCode::UNAUTHORIZED, "unauthorized").await;
    let person = json_of(app.get(&format!("/people/{id}"), &owner.access_token).await, StatusCode::OK).await;
    assert_eq!(person["status"], "inactive");
    let audit =
        json_of(app.get(&format!("/audit-logs?entity_id={id}"), &owner.access_token).await, StatusCode::OK).await;
    let actions: Vec<(&str, &str)> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| (entry["action"].as_str().unwrap(), entry["actor_id"].as_str().unwrap()))
        .collect();
    assert_eq!(actions.len(), 3, "{audit}");
    assert!(
        actions.contains(&("person.provisioned", "scim")) && actions.contains(&("person.deactivated", "scim")),
        "{actions:?}"
    );

    // Assigned again, they are active again and sign in.
    let back = json!({ "Operations": [{ "op": "replace", "path": "active", "value": true }] });
    let back = scim(&app, Method::PATCH, &format!("/Users/{id}"), &token, Some(back)).await;
    assert_eq!(scim_of(back, StatusCode::OK).await["active"], true);
    assert!(sign_in(&app, &issuer, &email).await["access_token"].is_string());
}

/// Entra's documented requests: a `userName` that is not the address, `"op": "Replace"`,
/// booleans as strings, attributes Rota does not keep.
#[tokio::test]
async fn entra_provisions_renames_and_deletes_in_its_own_dialect() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let token = new_token(&app, &owner).await;
    let user_name = "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1";
    let address = "Test_User_fd0ea19b-0777-472c-9f96-4f70d2226f2e@testuser.com";
    let entra = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef", "userName": user_name, "active": "True",
        "emails": [{ "primary": true, "type": "work", "value": address }],
        "meta": { "resourceType": "User" },
        "name": { "formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName" },
        "roles": [],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": { "department": "Events" }
    });
    let created = scim_of(scim(&app, Method::POST, "/Users", &token, Some(entra)).await, StatusCode::CREATED).await;
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["emails"][0]["value"], address.to_lowercase());
    assert_eq!(find(&app, &token, user_name).await["Resources"][0]["id"], id.as_str());

    let patch = json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
        { "op": "Replace", "path": "name.familyName", "value": "updatedFamilyName" },
        { "op": "Add", "path": "title", "value": "Steward" },
        { "op": "Replace", "path": "userName", "value": "renamed@testuser.com" },
    ] });
    let patched =
        scim_of(scim(&app, Method::PATCH, &format!("/Users/{id}"), &token, Some(patch)).await, StatusCode::OK).await;
    assert_eq!(
        (patched["userName"].as_str(), patched["name"]["familyName"].as_str()),
        (Some("renamed@testuser.com"), Some("updatedFamilyName"))
    );
    assert_eq!(find(&app, &token, user_name).await["totalResults"], 0, "the old name is given up");
    assert_eq!(find(&app, &token, "renamed@testuser.com").await["totalResults"], 1);

    // The address is how the person signs in: a change is refused, naming it, and nothing changes.
    let change = json!({ "Operations": [
        { "op": "Replace", "path": "emails[type eq \"work\"].value", "value": "updatedEmail@microsoft.com" } ] });
    let refused = scim(&app, Method::PATCH, &format!("/Users/{id}"), &token, Some(change)).await;
    let error = scim_error(refused, StatusCode::BAD_REQUEST, Some("invalidValue")).await;
    assert!(error["detail"].as_str().unwrap().contains("emails"), "{error}");

    let disable = json!({ "Operations": [{ "op": "Replace", "path": "active", "value": "False" }] });
    let disabled =
        scim_of(scim(&app, Method::PATCH, &format!("/Users/{id}"), &token, Some(disable)).await, StatusCode::OK).await;
    assert_eq!(disabled["active"], false);
    // Entra deletes a user 30 days after disabling them: Rota keeps the history, deactivated.
    for _ in 0..2 {
        assert_eq!(
            scim(&app, Method::DELETE, &format!("/Users/{id}"), &token, None).await.status(),
            StatusCode::NO_CONTENT
        );
    }
    let user = scim_of(scim(&app, Method::GET, &format!("/Users/{id}"), &token, None).await, StatusCode::OK).await;
    assert_eq!((user["active"].as_bool(), user["meta"]["version"].as_str()), (Some(false), Some("W/\"3\"")));

    // Pages are 1-based: the owner and this user, one at a time.
    let first =
        scim_of(scim(&app, Method::GET, "/Users?startIndex=1&count=1", &token, None).await, StatusCode::OK).await;
    let second =
        scim_of(scim(&app, Method::GET, "/Users?startIndex=2&count=1", &token, None).await, StatusCode::OK).await;
    assert_eq!(
        (first["totalResults"].as_u64(), first["itemsPerPage"].as_u64(), first["startIndex"].as_u64()),
        (Some(2), Some(1), Some(1))
    );
    assert_eq!(
        (first["Resources"][0]["id"].as_str(), second["Resources"][0]["id"].as_str()),
        (Some(owner.person_id.as_str()), Some(id.as_str()))
    );
    let past = scim_of(scim(&app, Method::GET, "/Users?startIndex=3", &token, None).await, StatusCode::OK).await;
    assert_eq!((past["totalResults"].as_u64(), past["itemsPerPage"].as_u64()), (Some(2), Some(0)));
}

#[tokio::test]
async fn a_token_reaches_its_own_organisation_only_and_stops_when_replaced() {
    let app = spawn_app().await;
    let (a, b) = (app.signup().await, app.signup().await);
    let (a_token, b_token) = (new_token(&app, &a).await, new_token(&app, &b).await);
    let created = scim(&app, Method::POST, "/Users", &a_token, Some(okta_user(&api_tests::unique_email("sam")))).await;
    let id = scim_of(created, StatusCode::CREATED).await["id"].as_str().unwrap().to_owned();

    // B's token on A's person: not found, changed nothing.
    scim_error(scim(&app, Method::GET, &format!("/Users/{id}"), &b_token, None).await, StatusCode::NOT_FOUND, None)
        .await;
    let deactivate = json!({ "Operations": [{ "op": "replace", "path": "active", "value": false }] });
    let refused = scim(&app, Method::PATCH, &format!("/Users/{id}"), &b_token, Some(deactivate.clone())).await;
    scim_error(refused, StatusCode::NOT_FOUND, None).await;
    scim_error(scim(&app, Method::DELETE, &format!("/Users/{id}"), &b_token, None).await, StatusCode::NOT_FOUND, None)
        .await;
    let user = scim_of(scim(&app, Method::GET, &format!("/Users/{id}"), &a_token, None).await, StatusCode::OK).await;
    assert_eq!(user["active"], true);
    let listed = scim_of(scim(&app, Method::GET, "/Users", &b_token, None).await, StatusCode::OK).await;
    assert_eq!(listed["totalResults"], 1, "B's owner only: {listed}");

    // A token made up for A's organisation, none, or one replaced: 401, in SCIM's form.
    let forged = format!("rota_scim_{}_{}", a.tenant_id, "x".repeat(43));
    for token in [forged.as_str(), "not-a-scim-token", a.access_token.as_str()] {
        scim_error(scim(&app, Method::GET, "/Users", token, None).await, StatusCode::UNAUTHORIZED, None).await;
    }
    let replaced = new_token(&app, &a).await;
    scim_error(scim(&app, Method::GET, "/Users", &a_token, None).await, StatusCode::UNAUTHORIZED, None).await;
    scim_of(scim(&app, Method::GET, "/Users", &replaced, None).await, StatusCode::OK).await;
    let removed = app.request(Method::DELETE, "/tenant/scim/token", Some(&a.access_token), None).await;
    assert_eq!(removed.status(), StatusCode::NO_CONTENT);
    scim_error(scim(&app, Method::GET, "/Users", &replaced, None).await, StatusCode::UNAUTHORIZED, None).await;

    // The provider cannot deactivate an owner (only another owner, in Rota).
    let owner_off = scim(&app, Method::PATCH, &format!("/Users/{}", b.person_id), &b_token, Some(deactivate)).await;
    scim_error(owner_off, StatusCode::FORBIDDEN, None).await;
}

#[tokio::test]
async fn bad_requests_are_named_in_scims_form_and_create_nobody() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let token = new_token(&app, &owner).await;

    let no_address = scim(&app, Method::POST, "/Users", &token, Some(json!({ "userName": "not-an-address" }))).await;
    let error = scim_error(no_address, StatusCode::BAD_REQUEST, Some("invalidValue")).await;
    assert!(error["detail"].as_str().unwrap().contains("emails"), "{error}");
    let typed = scim(&app, Method::POST, "/Users", &token, Some(json!({ "userName": 7 }))).await;
    let error = scim_error(typed, StatusCode::BAD_REQUEST, Some("invalidValue")).await;
    assert!(error["detail"].as_str().unwrap().contains("userName"), "{error}");
    let mut request = app.http.post(format!("{}/scim/v2/Users", app.address)).bearer_auth(&token);
    request = request.header("content-type", SCIM_JSON).body("{\"userName\":");
    scim_error(request.send().await.unwrap(), StatusCode::BAD_REQUEST, Some("invalidSyntax")).await;
    let filter = format!("/Users?filter={}", urlencode("emails co \"@\""));
    scim_error(scim(&app, Method::GET, &filter, &token, None).await, StatusCode::BAD_REQUEST, Some("invalidFilter"))
        .await;
    let patch = json!({ "Operations": [{ "op": "move", "path": "active", "value": false }] });
    let refused = scim(&app, Method::PATCH, &format!("/Users/{}", owner.person_id), &token, Some(patch)).await;
    scim_error(refused, StatusCode::BAD_REQUEST, Some("invalidValue")).await;

    let all = scim_of(scim(&app, Method::GET, "/Users", &token, None).await, StatusCode::OK).await;
    assert_eq!(all["totalResults"], 1, "only the owner: {all}");
}

/// A provider retrying a create it thinks timed out: the `userName` is one person's, however
/// many arrive at once.
#[tokio::test]
async fn a_burst_of_the_same_create_makes_one_person() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let token = new_token(&app, &owner).await;
    let user_name = "Burst_User_0001";
    let creates = (0..8).map(|attempt| {
        let body = json!({ "userName": user_name, "emails": [{ "value": format!("burst{attempt}@example.com") }] });
        scim(&app, Method::POST, "/Users", &token, Some(body))
    });
    let statuses: Vec<StatusCode> =
        futures_util::future::join_all(creates).await.iter().map(Response::status).collect();
    let created = statuses.iter().filter(|status| **status == StatusCode::CREATED).count();
    let refused = statuses.iter().filter(|status| **status == StatusCode::CONFLICT).count();
    assert_eq!((created, refused), (1, 7), "{statuses:?}");
    assert_eq!(find(&app, &token, user_name).await["totalResults"], 1);
    let all = scim_of(scim(&app, Method::GET, "/Users", &token, None).await, StatusCode::OK).await;
    assert_eq!(all["totalResults"], 2, "the owner and the one created: {all}");
}
