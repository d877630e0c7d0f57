//! Tenant B's token on tenant A's resources: never A's data, never a change to it. Every operation
//! comes from the OpenAPI document, so a new route is covered the day it is added:
//!
//! - only the operations in [`PUBLIC`] may be called without a token; every other one answers 401;
//! - per protected operation, B's call carries A's ids wherever the operation takes an id (path,
//!   query, and every `_id`/`_ids` field of the request body, filled from its schema) and must
//!   answer `404 not_found` (or `403 forbidden` where B's role decides first), or, when there is no
//!   id to carry, succeed on B's own data; then the same call with A's token must succeed, which
//!   proves the request was well-formed and that B's call left A's resource alone.
//!
//! Both accounts are owners with two-factor authentication on, logged in with a code. The
//! operations in [`OWN_FACTOR`] take a code only the caller's authenticator app knows: before
//! each call, [`prepare`] brings the caller's own 2FA into the state the operation acts on and
//! fills in the caller's own code (a code is no id: B sends B's).

use api_tests::{Account, OnSite, Organisation, TestApp, json_of, problem_of, spawn_app, totp_code};
use reqwest::{Method, StatusCode};
use serde_json::{Map, Value, json};

/// The operations anyone may call without a token: they act on no tenant's data.
const PUBLIC: &[(&str, &str)] = &[
    ("POST", "/auth/signup"),
    ("POST", "/auth/verify-email"),
    ("POST", "/auth/login"),
    ("POST", "/auth/login/mfa"),
    ("POST", "/auth/refresh"),
    ("POST", "/auth/invitations/accept"),
    ("POST", "/auth/forgot-password"),
    ("POST", "/auth/reset-password"),
    ("POST", "/auth/otp/request"),
    ("POST", "/auth/otp/verify"),
    ("POST", "/auth/oidc/start"),
    ("POST", "/auth/oidc/callback"),
    // The contact form: a message to the operator, from anyone.
    ("POST", "/contact"),
    ("GET", "/openapi.json"),
    // For uptime checks: says only that Rota answers.
    ("GET", "/health"),
    // The calendar feed: the secret in its path is the credential (a calendar app sends no token).
    ("GET", "/calendar/{token}"),
    // The payment provider's events: their signature is the credential.
    ("POST", "/billing/webhook"),
    // The messaging providers' delivery reports: their signature is the credential; the
    // handshake's verify token likewise.
    ("POST", "/webhooks/sms-status"),
    ("GET", "/webhooks/whatsapp"),
    ("POST", "/webhooks/whatsapp"),
];

/// The platform admin's operations: no organisation's member reaches them (403), a platform admin
/// does (the control).
const PLATFORM: &[(&str, &str)] = &[
    ("GET", "/admin/tenants"),
    ("POST", "/admin/tenants/{tenant_id}/suspend"),
    ("POST", "/admin/tenants/{tenant_id}/activate"),
    ("POST", "/admin/tenants/{tenant_id}/credits"),
    ("PUT", "/admin/tenants/{tenant_id}/tax-rate"),
    ("GET", "/admin/tenants/{tenant_id}"),
    ("GET", "/admin/tenants/{tenant_id}/people/{person_id}/sessions"),
    ("DELETE", "/admin/tenants/{tenant_id}/people/{person_id}/sessions"),
    ("POST", "/admin/tenants/{tenant_id}/people/{person_id}/reset-2fa"),
    ("GET", "/admin/platform/face-reviews"),
    ("POST", "/admin/platform/face-reviews/{tenant_id}/{attendance_id}"),
    ("GET", "/admin/stats"),
    ("GET", "/admin/plans"),
    ("POST", "/admin/plans"),
    ("PATCH", "/admin/plans/{plan_id}"),
    ("GET", "/admin/payments"),
    ("GET", "/admin/revenue"),
    ("GET", "/admin/credit-packs"),
    ("POST", "/admin/credit-packs"),
    ("PATCH", "/admin/credit-packs/{pack_id}"),
    ("GET", "/admin/support/tickets"),
    ("GET", "/admin/tenants/{tenant_id}/support/tickets/{ticket_id}"),
    ("PATCH", "/admin/tenants/{tenant_id}/support/tickets/{ticket_id}"),
    ("POST", "/admin/tenants/{tenant_id}/support/tickets/{ticket_id}/messages"),
    ("GET", "/admin/crm/leads"),
    ("POST", "/admin/crm/leads"),
    ("GET", "/admin/crm/leads/{lead_id}"),
    ("PATCH", "/admin/crm/leads/{lead_id}"),
    ("POST", "/admin/crm/leads/{lead_id}/activities"),
    ("GET", "/admin/crm/deals"),
    ("POST", "/admin/crm/deals"),
    ("GET", "/admin/crm/deals/{deal_id}"),
    ("PATCH", "/admin/crm/deals/{deal_id}"),
    ("POST", "/admin/crm/deals/{deal_id}/activities"),
    ("POST", "/admin/crm/deals/{deal_id}/convert"),
    ("GET", "/admin/crm/pipeline"),
];

/// A plan the platform admin made (plans are the platform's, not an organisation's): set by the
/// matrix before it walks the platform operations.
static PLAN_ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();
/// A credit pack the platform admin made, likewise.
static PACK_ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();
/// A lead and a deal of the platform's CRM (no organisation's), made afresh for each CRM
/// operation: the deal won for the one that converts it.
static CRM_RECORDS: std::sync::Mutex<(String, String)> = std::sync::Mutex::new((String::new(), String::new()));
/// A webhook endpoint of A's at the local receiver and a delivery to it, made afresh for each
/// operation on one (one of them removes it).
static WEBHOOK: std::sync::Mutex<(String, String)> = std::sync::Mutex::new((String::new(), String::new()));
/// The platform admin themself, whom a support ticket is given to.
static PLATFORM_ADMIN_ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// A person of A's that A's identity provider provisioned, for the SCIM operations; the matrix
/// makes it with A's SCIM token before it walks them.
static SCIM_USER: std::sync::OnceLock<(String, String)> = std::sync::OnceLock::new();

/// A permission set of A's, which the matrix makes before it walks the operations.
static PERMISSION_SET: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// Whether an operation is SCIM's: called with the organisation's SCIM token, answering errors
/// in SCIM's form.
fn is_scim(template: &str) -> bool {
    template.starts_with("/scim/")
}

/// The operations on the caller's own second factor, which [`prepare`] sets the scene for.
const OWN_FACTOR: &[(&str, &str)] =
    &[("POST", "/auth/2fa/setup"), ("POST", "/auth/2fa/enable"), ("POST", "/auth/2fa/disable")];

/// Tenant A's value for an id-like name (a path or query parameter, or a body field ending in
/// `_id`). A new kind of id needs an entry here: the matrix fails until it has one.
fn fixture(a: &Session, name: &str) -> String {
    match name {
        "tenant_id" => a.account.tenant_id.clone(),
        // A staff member of A's: the owner cannot change their own role or status.
        "person_id" | "lead_person_id" | "supervisor_id" => a.org.person_id.clone(),
        "session_id" => a.session_id.clone(),
        "location_id" => a.org.location_id.clone(),
        "position_id" => a.org.position_id.clone(),
        "unit_id" => a.org.unit_id.clone(),
        "event_id" => a.org.event_id.clone(),
        "shift_id" => a.org.shift_id.clone(),
        "assignment_id" => a.org.assignment_id.clone(),
        "request_id" => a.org.request_id.clone(),
        // The owner's own record, waiting for review.
        "attendance_id" => a.site().attendance_id.clone(),
        "stub_id" => a.site().stub_id.clone(),
        "import_id" => a.org.import_id.clone(),
        "job_id" => a.org.auto_fill_id.clone(),
        "invoice_id" => a.invoice_id.clone(),
        "broadcast_id" => a.broadcast_id.clone(),
        "ticket_id" => a.ticket_id.clone(),
        // Without a token nothing is looked up: any id does before the matrix made them.
        "lead_id" | "deal_id" => {
            let records = CRM_RECORDS.lock().unwrap();
            let made = if name == "lead_id" { &records.0 } else { &records.1 };
            if made.is_empty() { "01JN0SUCHCRMRECORD00000000".to_owned() } else { made.clone() }
        }
        "endpoint_id" | "delivery_id" => {
            let made = WEBHOOK.lock().unwrap();
            let id = if name == "endpoint_id" { &made.0 } else { &made.1 };
            if id.is_empty() { "01JN0SUCHENDP01NT000000000".to_owned() } else { id.clone() }
        }
        // A won deal is converted to A, as the platform admin does.
        "organisation_id" => a.account.tenant_id.clone(),
        // A platform admin's id, not A's: the platform's operation gives A's ticket to them.
        "assignee_id" => PLATFORM_ADMIN_ID.get().cloned().unwrap_or_else(|| "01JN0SUCHADM1N000000000000".to_owned()),
        // Without a token nothing is looked up: any id does then.
        "plan_id" => PLAN_ID.get().cloned().unwrap_or_else(|| "01JN0SUCHPLAN0000000000000".to_owned()),
        // Set per call: the matrix asks A's event for a quote first.
        "quote_id" => "01JN0SUCHQUOTE000000000000".to_owned(),
        "pack_id" => PACK_ID.get().cloned().unwrap_or_else(|| "01JN0SUCHPACK0000000000000".to_owned()),
        // A card is no record of A's: the matrix gives each subscription call a fresh one.
        "payment_method_id" => "pm_given_per_call".to_owned(),
        // A closed pay period of A's (by its first day).
        "start" => a.site().period_start.clone(),
        // The colleague a swap of the staff member's assignment goes to.
        "to_person_id" => a.account.person_id.clone(),
        // The audit log's filters: the owner made A's records, the staff member is one of them.
        "actor_id" => a.account.person_id.clone(),
        "entity_id" => a.org.person_id.clone(),
        "set_id" | "permission_set_id" => {
            PERMISSION_SET.get().cloned().unwrap_or_else(|| "01JN0SUCHSET0000000000000".to_owned())
        }
        // A's own email domain (B's settings never name it).
        "domain" => format!("{}.example", a.account.tenant_id.to_lowercase()),
        // A number in the payroll system, not a record's id.
        "payroll_id" => "004217".to_owned(),
        "user_id" => SCIM_USER.get().map_or_else(|| "01JN0SUCHUSER0000000000000".to_owned(), |(id, _)| id.clone()),
        _ => panic!("add a fixture for `{name}` (one of tenant A's ids) so the tenant matrix covers it"),
    }
}

/// Puts the organisation on a plan that charges 2.00 per place per day for its events (so its
/// events can be quoted and unlocked); answers its subscription before, to be put back.
async fn per_event(app: &TestApp, tenant_id: &str) -> Value {
    let tenant = app.state.store.tenant(tenant_id).await.unwrap().expect("the organisation");
    let before = serde_json::to_value(&tenant.subscription).unwrap();
    let mut charged = if before.is_null() {
        json!({ "plan_id": "01JN0PEREVENTPLAN000000000", "plan_name": "Per event", "status": "active",
            "current_period_start": "2026-12-01T00:00:00Z", "current_period_end": "2027-01-01T00:00:00Z",
            "cancel_at_period_end": false, "limits": {}, "started_at": "2026-12-01T00:00:00Z" })
    } else {
        before.clone()
    };
    charged["event_unlock"] = json!({ "staff_day_minor": 200, "currency": "EUR" });
    app.set(&format!("T#{tenant_id}"), "TENANT", &[("subscription", charged)]).await;
    before
}

/// A logged-in device session of an account: its token, and the session that token belongs to.
struct Session {
    account: Account,
    session_id: String,
    access_token: String,
    /// Fresh records of the account's organisation (an operation may archive or change them).
    org: Organisation,
    /// Its shifts on now, record and closed pay period, for the operations that need them.
    site: Option<OnSite>,
    /// An invoice of the organisation's.
    invoice_id: String,
    /// A broadcast the owner sent to the organisation's event.
    broadcast_id: String,
    /// A support ticket the owner opened.
    ticket_id: String,
}

impl Session {
    fn site(&self) -> &OnSite {
        self.site.as_ref().expect("an attendance or payroll operation gets the organisation's site")
    }
}

/// Whether an operation acts on attendance or pay (it needs [`OnSite`] records).
fn on_site(template: &str) -> bool {
    [
        "/attendance",
        "/me/attendance",
        "/me/hours",
        "/admin/face-reviews",
        "/admin/verify-face",
        "/admin/platform/face-reviews",
        "/pay-",
    ]
    .iter()
    .any(|prefix| template.starts_with(prefix))
}

/// Logs `account` in, with 2FA (turned back on if an operation turned it off: owners need it
/// for anything beyond their own profile), and makes fresh records of its organisation (with its
/// site when `site` is asked for).
async fn login(app: &TestApp, account: &mut Account, (site, ticket): (bool, bool)) -> Session {
    let mut tokens = app.login_tokens(account).await;
    if account.totp_secret.is_none() {
        app.enable_2fa(account, tokens["access_token"].as_str().unwrap()).await;
        tokens = json_of(app.refresh(tokens["refresh_token"].as_str().unwrap()).await, StatusCode::OK).await;
    }
    let access_token = tokens["access_token"].as_str().unwrap().to_owned();
    let org = app.organisation_of(&access_token).await;
    let site = if site { Some(app.on_site(&access_token, &org).await) } else { None };
    let invoice_id = app.stored_invoice(&account.tenant_id).await;
    let sent = app
        .post("/broadcasts", Some(&access_token), json!({ "event_id": org.event_id, "message": "Fire drill" }))
        .await;
    let broadcast_id = json_of(sent, StatusCode::ACCEPTED).await["id"].as_str().unwrap().to_owned();
    // Only for the operations on a ticket: opening one mails every platform admin.
    let ticket_id = if ticket {
        let ticket = json!({ "subject": "Help", "body": "The rota looks empty" });
        let ticket = app.post("/support/tickets", Some(&access_token), ticket).await;
        json_of(ticket, StatusCode::CREATED).await["id"].as_str().unwrap().to_owned()
    } else {
        "01JN0SUCHT1CKET00000000000".to_owned()
    };
    Session {
        account: account.clone(),
        session_id: tokens["session_id"].as_str().unwrap().to_owned(),
        access_token,
        org,
        site,
        invoice_id,
        broadcast_id,
        ticket_id,
    }
}

struct Operation {
    method: Method,
    template: String,
    spec: Value,
}

impl Operation {
    fn is_public(&self) -> bool {
        PUBLIC.iter().any(|(method, path)| *method == self.method.as_str() && *path == self.template)
    }

    fn is_platform(&self) -> bool {
        PLATFORM.iter().any(|(method, path)| *method == self.method.as_str() && *path == self.template)
    }

    fn is_own_factor(&self) -> bool {
        OWN_FACTOR.iter().any(|(method, path)| *method == self.method.as_str() && *path == self.template)
    }
}

/// What [`prepare`] set up for a call: its body, and the account's TOTP secret once it succeeded.
struct Prepared {
    body: Option<Value>,
    secret_after: Option<String>,
}

/// For an operation of [`OWN_FACTOR`]: brings `account`'s 2FA (in the session of `token`) into
/// the state the operation acts on, and answers the call's body with the account's own code.
async fn prepare(app: &TestApp, operation: &Operation, account: &mut Account, token: &str) -> Prepared {
    let on = account.totp_secret.is_some();
    if on && operation.template != "/auth/2fa/disable" {
        let code = app.fresh_code(account).await;
        let disable = app.post("/auth/2fa/disable", Some(token), json!({ "code": code })).await;
        assert_eq!(disable.status(), StatusCode::NO_CONTENT, "turning 2FA off to set the scene");
        account.totp_secret = None;
    }
    match operation.template.as_str() {
        "/auth/2fa/setup" => Prepared { body: None, secret_after: None },
        "/auth/2fa/enable" => {
            let setup = json_of(app.post_empty("/auth/2fa/setup", token).await, StatusCode::OK).await;
            let secret = setup["secret"].as_str().unwrap().to_owned();
            let code = totp_code(&secret, chrono::Utc::now().timestamp());
            Prepared { body: Some(json!({ "code": code })), secret_after: Some(secret) }
        }
        "/auth/2fa/disable" => {
            if !on {
                app.enable_2fa(account, token).await;
            }
            let code = app.fresh_code(account).await;
            Prepared { body: Some(json!({ "code": code })), secret_after: None }
        }
        other => panic!("{other} is listed in OWN_FACTOR but prepare() does not know it"),
    }
}

fn operations(doc: &Value) -> Vec<Operation> {
    let mut operations = Vec::new();
    for (template, item) in doc["paths"].as_object().unwrap() {
        for (method, spec) in item.as_object().unwrap() {
            let Ok(method) = method.to_uppercase().parse::<Method>() else { continue };
            operations.push(Operation { method, template: template.clone(), spec: spec.clone() });
        }
    }
    operations
}

/// A request for `operation` filled with A's ids: the path, the query and the JSON body, and
/// whether any of A's ids went into it.
struct Filled {
    path: String,
    body: Option<Value>,
    carries_ids: bool,
}

fn fill(doc: &Value, operation: &Operation, a: &Session) -> Filled {
    let mut carries_ids = false;
    let mut path = operation
        .template
        .split('/')
        .map(|part| match part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
            // Closing a period by its date acts on the caller's own organisation: B closes B's.
            Some("start") if operation.template == "/pay-periods/{start}/close" => a.site().period_start.clone(),
            // An import template is the same for every organisation: not one of A's records.
            Some("kind") => "people".to_owned(),
            Some(name) => {
                carries_ids = true;
                match (operation.template.as_str(), name) {
                    // Only a swap offered to the caller can be taken.
                    ("/requests/{request_id}/accept", "request_id") => a.org.swap_id.clone(),
                    _ => fixture(a, name),
                }
            }
            None => part.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("/");
    let mut query = Vec::new();
    for parameter in operation.spec["parameters"].as_array().into_iter().flatten() {
        let parameter = resolve(doc, parameter);
        let name = parameter["name"].as_str().unwrap();
        if parameter["in"] != "query" {
            continue;
        }
        if let Some(ids) = id_value(a, name) {
            carries_ids = true;
            let ids = match ids {
                Value::Array(ids) => ids.iter().map(|id| id.as_str().unwrap().to_owned()).collect::<Vec<_>>().join(","),
                id => id.as_str().unwrap().to_owned(),
            };
            query.push(format!("{name}={ids}"));
        } else if parameter["required"] == true {
            let value = match &parameter["example"] {
                Value::Null => sample(doc, &parameter["schema"], a, &mut carries_ids),
                example => example.clone(),
            };
            query.push(format!("{name}={}", value.as_str().map_or_else(|| value.to_string(), str::to_owned)));
        }
    }
    if !query.is_empty() {
        path = format!("{path}?{}", query.join("&"));
    }
    let mut body = operation.spec["requestBody"]["content"]["application/json"]["schema"].as_object().map(|_| {
        sample(doc, &operation.spec["requestBody"]["content"]["application/json"]["schema"], a, &mut carries_ids)
    });
    // Checking in and out takes a shift the owner is on and can check in to (or out of) now.
    let shift = match operation.template.as_str() {
        "/attendance/check-in" | "/attendance/photo-url" => Some(&a.site().now_shift_id),
        "/attendance/check-out" => Some(&a.site().ended_shift_id),
        _ => None,
    };
    if let (Some(shift), Some(body)) = (shift, body.as_mut()) {
        body["shift_id"] = json!(shift);
    }
    Filled { path, body, carries_ids }
}

/// A's id (or ids) for an id-like name: `…_id` → the id, `…_ids` → a list of it.
fn id_value(a: &Session, name: &str) -> Option<Value> {
    if let Some(base) = name.strip_suffix("_ids") {
        Some(json!([fixture(a, &format!("{base}_id"))]))
    } else if name.ends_with("_id") {
        Some(json!(fixture(a, name)))
    } else {
        None
    }
}

fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(reference) => {
            let pointer = reference.strip_prefix('#').expect("a local $ref");
            resolve(doc, doc.pointer(pointer).unwrap_or_else(|| panic!("{reference} is not in the document")))
        }
        None => schema,
    }
}

/// A valid value for `schema`: its example if it has one, else the least the schema requires;
/// then every id-like property, at any depth, gets A's id.
fn sample(doc: &Value, schema: &Value, a: &Session, carries_ids: &mut bool) -> Value {
    let schema = resolve(doc, schema);
    for alternatives in ["oneOf", "anyOf"] {
        if let Some(alternatives) = schema[alternatives].as_array() {
            let chosen =
                alternatives.iter().find(|s| resolve(doc, s)["type"] != "null").expect("a non-null alternative");
            return sample(doc, chosen, a, carries_ids);
        }
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).filter(|t| *t != "null").collect(),
        _ => vec![if schema["properties"].is_object() { "object" } else { "string" }],
    };
    if types.first() == Some(&"object") {
        let mut object = match &schema["example"] {
            Value::Object(example) => example.clone(),
            _ => Map::new(),
        };
        let required: Vec<&str> =
            schema["required"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
        for (name, property) in schema["properties"].as_object().into_iter().flatten() {
            if let Some(ids) = id_value(a, name) {
                *carries_ids = true;
                object.insert(name.clone(), ids);
            } else if let Some(value) = object.get_mut(name) {
                if resolve(doc, property)["properties"].is_object() {
                    *value = merge_ids(doc, property, value.clone(), a, carries_ids);
                }
            } else if required.contains(&name.as_str()) {
                object.insert(name.clone(), sample(doc, property, a, carries_ids));
            }
        }
        return Value::Object(object);
    }
    if !schema["example"].is_null() {
        return schema["example"].clone();
    }
    if let Some(first) = schema["enum"].as_array().and_then(|values| values.first()) {
        return first.clone();
    }
    match types.first().copied() {
        Some("integer" | "number") => schema["minimum"].as_i64().map_or(json!(1), |min| json!(min.max(1))),
        Some("boolean") => json!(false),
        Some("array") => match schema["minItems"].as_u64() {
            Some(1..) => json!([sample(doc, &schema["items"], a, carries_ids)]),
            _ => json!([]),
        },
        _ if schema["format"] == "email" => json!(api_tests::unique_email("matrix")),
        _ => json!("x".repeat(schema["minLength"].as_u64().unwrap_or(1).max(1) as usize)),
    }
}

/// An example object with A's ids put into its id-like properties, at any depth.
fn merge_ids(doc: &Value, schema: &Value, example: Value, a: &Session, carries_ids: &mut bool) -> Value {
    let schema = resolve(doc, schema);
    let mut object = match example {
        Value::Object(object) => object,
        other => return other,
    };
    for (name, property) in schema["properties"].as_object().into_iter().flatten() {
        if let Some(ids) = id_value(a, name) {
            *carries_ids = true;
            object.insert(name.clone(), ids);
        } else if let Some(value) = object.get_mut(name) {
            *value = merge_ids(doc, property, value.clone(), a, carries_ids);
        }
    }
    Value::Object(object)
}

/// What of A's must never appear in an answer to B.
fn secrets_of(a: &Session) -> [&str; 9] {
    [
        &a.account.tenant_id,
        &a.account.person_id,
        &a.account.session_id,
        &a.session_id,
        &a.account.email,
        &a.org.location_id,
        &a.org.position_id,
        &a.org.unit_id,
        &a.org.person_id,
    ]
}

#[tokio::test]
async fn only_the_public_operations_answer_without_a_token() {
    let app = spawn_app().await;
    let mut a = app.signup().await;
    let a = login(&app, &mut a, (true, false)).await;
    let doc = serde_json::to_value(&app.doc).unwrap();
    let operations = operations(&doc);

    for (method, path) in PUBLIC {
        let operation = operations.iter().find(|op| op.method.as_str() == *method && op.template == *path);
        let operation =
            operation.unwrap_or_else(|| panic!("{method} {path} is listed as public but not in the document"));
        assert!(
            operation.spec["security"].is_null(),
            "{method} {path} is listed as public but documented with security"
        );
    }
    let mut protected = 0;
    for operation in operations.iter().filter(|op| !op.is_public()) {
        let Filled { path, body, .. } = fill(&doc, operation, &a);
        let response = app.request(operation.method.clone(), &path, None, body).await;
        let what = format!("{} {} without a token", operation.method, operation.template);
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{what}: add it to PUBLIC if it is meant to be");
        if is_scim(&operation.template) {
            let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
            assert_eq!(content_type, "application/scim+json", "{what}");
        } else {
            problem_of(response, StatusCode::UNAUTHORIZED, "unauthorized").await;
        }
        assert!(operation.spec["security"].is_array(), "{what}: the document should name its bearer security");
        protected += 1;
    }
    assert!(protected >= 6, "only {protected} protected operations in the document");
}

/// An address at the local webhook receiver.
fn receiver_url() -> String {
    format!("{}/hooks/{}", std::env::var("ROTA_SMS_API").expect("the local receiver"), ulid::Ulid::new())
}

/// A fresh endpoint of the owner's (`token`, of `tenant_id`) and a delivery of a ping to it:
/// their ids. The delivery is stored as the notifier stores one, not sent: running the notifier
/// here would first deliver everything the matrix queued before.
async fn webhook_of(app: &TestApp, token: &str, tenant_id: &str) -> (String, String) {
    use rota::store::webhooks::{Delivery, EventType, WebhookDeliveryStatus};
    let created = app.post("/webhooks/endpoints", Some(token), json!({ "url": receiver_url() })).await;
    let endpoint_id = json_of(created, StatusCode::CREATED).await["id"].as_str().unwrap().to_owned();
    let at = rota::clock::iso(chrono::Utc::now());
    let job = rota::webhooks::Job::event(tenant_id, EventType::Ping, json!({ "endpoint_id": endpoint_id }), &at);
    let delivery = Delivery {
        id: job.message_id.clone(),
        endpoint_id: endpoint_id.clone(),
        event_type: EventType::Ping,
        status: WebhookDeliveryStatus::Succeeded,
        attempts: 1,
        last_status_code: Some(204),
        last_error: None,
        next_attempt_at: None,
        payload: job.payload,
        created_at: at.clone(),
        updated_at: at,
    };
    app.store.put_delivery(tenant_id, &delivery).await.unwrap();
    (endpoint_id, delivery.id)
}

/// A fresh lead and a deal opened from it (and won), as the platform admin makes them.
async fn crm_records(app: &TestApp, platform_admin: &str, won: bool) -> (String, String) {
    let token = Some(platform_admin);
    let lead = json!({ "name": "Matrix", "email": api_tests::unique_email("lead") });
    let lead = json_of(app.post("/admin/crm/leads", token, lead).await, StatusCode::CREATED).await;
    let lead_id = lead["id"].as_str().unwrap().to_owned();
    let deal = json!({ "title": "Matrix", "contact_name": "M", "contact_email": api_tests::unique_email("deal"),
        "organisation": "Matrix", "value_minor": 100, "currency": "EUR" });
    let deal = json_of(app.post("/admin/crm/deals", token, deal).await, StatusCode::CREATED).await;
    let deal_id = deal["id"].as_str().unwrap().to_owned();
    if won {
        let path = format!("/admin/crm/deals/{deal_id}");
        json_of(app.request(Method::PATCH, &path, token, Some(json!({ "stage": "won" }))).await, StatusCode::OK).await;
    }
    (lead_id, deal_id)
}

#[tokio::test]
async fn tenant_b_never_reaches_tenant_a() {
    let app = spawn_app().await;
    let (mut a_account, mut b_account) = (app.signup().await, app.signup().await);
    let doc = serde_json::to_value(&app.doc).unwrap();

    let platform_admin = app.platform_admin().await;
    let plan = api_tests::plan(&app, &platform_admin, json!({})).await;
    PLAN_ID.set(plan["id"].as_str().unwrap().to_owned()).unwrap();
    let pack = api_tests::credit_pack(&app, &platform_admin, json!({})).await;
    PACK_ID.set(pack["id"].as_str().unwrap().to_owned()).unwrap();
    let me = json_of(app.get("/me", &platform_admin).await, StatusCode::OK).await;
    PLATFORM_ADMIN_ID.set(me["id"].as_str().unwrap().to_owned()).unwrap();

    // Each organisation's SCIM token, and a person A's identity provider provisioned.
    let scim_tokens = {
        let (a, b) =
            (login(&app, &mut a_account, (false, false)).await, login(&app, &mut b_account, (false, false)).await);
        let mut tokens = Vec::new();
        for owner in [&a, &b] {
            let created = app.post_empty("/tenant/scim/token", &owner.access_token).await;
            tokens.push(json_of(created, StatusCode::CREATED).await["token"].as_str().unwrap().to_owned());
        }
        (tokens.remove(0), tokens.remove(0))
    };
    let email = api_tests::unique_email("provisioned");
    let user = app
        .http
        .post(format!("{}/scim/v2/Users", app.address))
        .bearer_auth(&scim_tokens.0)
        .json(&json!({ "userName": email }))
        .send()
        .await
        .unwrap();
    SCIM_USER.set((json_of(user, StatusCode::CREATED).await["id"].as_str().unwrap().to_owned(), email)).unwrap();
    let a = login(&app, &mut a_account, (false, false)).await;
    let body = json!({ "name": "Finance clerk", "permissions": ["payroll.read"] });
    let set = json_of(app.post("/permission-sets", Some(&a.access_token), body).await, StatusCode::CREATED).await;
    PERMISSION_SET.set(set["id"].as_str().unwrap().to_owned()).unwrap();

    let mut checked = 0;
    let mut subscribed = false;
    for operation in operations(&doc).iter().filter(|op| !op.is_public()) {
        // Fresh sessions for both per operation: an operation may end the session it runs in.
        let needs = (on_site(&operation.template), operation.template.contains("{ticket_id}"));
        let (a, b) = (login(&app, &mut a_account, needs).await, login(&app, &mut b_account, needs).await);
        if operation.template == "/billing/subscription" && !subscribed {
            // Both organisations pay for the plan: each has a subscription of its own to cancel.
            for owner in [&a, &b] {
                let card = api_tests::card(api_tests::GOOD_CARD).await;
                let body = json!({ "plan_id": plan["id"], "payment_method_id": card });
                json_of(app.post("/billing/subscription", Some(&owner.access_token), body).await, StatusCode::OK).await;
            }
            subscribed = true;
        }
        if operation.template.starts_with("/webhooks/endpoints/{endpoint_id}") {
            *WEBHOOK.lock().unwrap() = webhook_of(&app, &a.access_token, &a.account.tenant_id).await;
        }
        if operation.template.starts_with("/admin/crm/") {
            let won = operation.template.ends_with("/convert");
            *CRM_RECORDS.lock().unwrap() = crm_records(&app, &platform_admin, won).await;
        }
        let Filled { path, mut body, mut carries_ids } = fill(&doc, operation, &a);
        if operation.template == "/webhooks/endpoints" && operation.method == Method::POST {
            // Each registers an endpoint of its own, at the local receiver.
            body = Some(json!({ "url": receiver_url() }));
        }
        if operation.method == Method::POST && operation.template == "/billing/subscription" {
            // A plan is the platform's, not A's: each organisation subscribes itself, with a card.
            let card = api_tests::card(api_tests::GOOD_CARD).await;
            (body, carries_ids) =
                (Some(json!({ "plan_id": PLAN_ID.get().unwrap(), "payment_method_id": card })), false);
        }
        if operation.method == Method::POST && operation.template == "/billing/credits" {
            // A pack is the platform's, not A's: each organisation buys one, with a card.
            let card = api_tests::card(api_tests::GOOD_CARD).await;
            (body, carries_ids) =
                (Some(json!({ "pack_id": PACK_ID.get().unwrap(), "payment_method_id": card })), false);
        }
        if operation.method == Method::PUT && operation.template == "/tenant/sso" {
            // An email domain signs in to one organisation, so B's call (its own settings) would
            // take the example's from A: no providers, for both.
            body = Some(json!({ "providers": [], "password_login": "allowed" }));
        }
        if operation.template == "/tenant/sso/domains/{domain}/verify" {
            // A's provider names A's domain, whose record A published; B's settings name no domain.
            let domain = fixture(&a, "domain");
            let body = json!({ "providers": [{ "kind": "google", "issuer": "https://accounts.google.com",
                "client_id": "a.apps.googleusercontent.com", "allowed_domains": [domain] }] });
            let put = app.request(Method::PUT, "/tenant/sso", Some(&a.access_token), Some(body)).await;
            let record = json_of(put, StatusCode::OK).await["domain_verification"].as_str().unwrap().to_owned();
            api_tests::publish_txt(&format!("_rota-challenge.{domain}"), &[&record]).await;
        }
        let scim = is_scim(&operation.template);
        if scim && operation.method == Method::PUT {
            // The address cannot change: A's provisioned person's own.
            body = Some(json!({ "userName": SCIM_USER.get().unwrap().1, "displayName": "Sam Provisioned" }));
        } else if scim && operation.method == Method::PATCH {
            body = Some(json!({ "Operations": [{ "op": "replace", "path": "displayName", "value": "Sam P." }] }));
        } else if scim && operation.method == Method::POST {
            // Each creates a person of its caller's own; an address is one person's.
            body = Some(json!({ "userName": api_tests::unique_email("created") }));
        }
        let (a_token, b_token) = if scim {
            (scim_tokens.0.clone(), scim_tokens.1.clone())
        } else {
            (a.access_token.clone(), b.access_token.clone())
        };
        let charged_per_event = operation.template.starts_with("/events/{event_id}/")
            && operation.method == Method::POST
            && ["/quote", "/unlock"].iter().any(|action| operation.template.ends_with(action));
        let before_per_event = if charged_per_event { Some(per_event(&app, &a.account.tenant_id).await) } else { None };
        if charged_per_event && operation.template.ends_with("/unlock") {
            // A's own event's quote, paid with a card.
            let quote = app.post_empty(&format!("/events/{}/quote", a.org.event_id), &a.access_token).await;
            let quote = json_of(quote, StatusCode::CREATED).await;
            let card = api_tests::card(api_tests::GOOD_CARD).await;
            body = Some(json!({ "quote_id": quote["id"], "payment_method_id": card }));
        }
        if operation.is_platform() {
            let path = if operation.template.ends_with("/reset-2fa") {
                // Only someone with 2FA on has it reset: A's owner, whose next login turns it on again.
                a_account.totp_secret = None;
                format!("/admin/tenants/{}/people/{}/reset-2fa", a.account.tenant_id, a.account.person_id)
            } else {
                path
            };
            let what = format!("{} {path}", operation.method);
            let refused = app.request(operation.method.clone(), &path, Some(&b.access_token), body.clone()).await;
            assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{what} as an organisation's owner");
            problem_of(refused, StatusCode::FORBIDDEN, "forbidden").await;
            let response = app.request(operation.method.clone(), &path, Some(&platform_admin), body).await;
            assert!(response.status().is_success(), "{what} as the platform admin: {}", response.status());
            if path.ends_with("/suspend") {
                // A must keep working for the operations still to come.
                let activate = path.replace("/suspend", "/activate");
                assert!(app.request(Method::POST, &activate, Some(&platform_admin), None).await.status().is_success());
            }
            checked += 1;
            continue;
        }
        let mut b_body = body.clone();
        let mut after = None;
        if operation.is_own_factor() {
            let prepared = prepare(&app, operation, &mut b_account, &b.access_token).await;
            (b_body, after) = (prepared.body, Some(prepared.secret_after));
        }
        let what = format!("{} {path} (body {b_body:?})", operation.method);

        let b_body = if scim && operation.method == Method::POST {
            Some(json!({ "userName": api_tests::unique_email("created") }))
        } else {
            b_body
        };
        let response = app.request(operation.method.clone(), &path, Some(&b_token), b_body).await;
        let status = response.status();
        let text = response.text().await.unwrap();
        for secret in secrets_of(&a) {
            assert!(!text.contains(secret), "{what} with B's token showed A's data: {text}");
        }
        let answer = serde_json::from_str::<Value>(&text).unwrap_or_default();
        // A list filtered by A's ids finds nothing of B's: an empty page is the honest answer.
        let empty_page = status == StatusCode::OK && answer["items"].as_array().is_some_and(Vec::is_empty);
        if carries_ids && !(operation.method == Method::GET && empty_page) {
            // SCIM's errors carry their status, not a code.
            let code = if scim {
                json!(if answer["status"] == "404" { "not_found" } else { "" })
            } else {
                answer["code"].clone()
            };
            let refused = (status, code.as_str());
            assert!(
                matches!(
                    refused,
                    (StatusCode::NOT_FOUND, Some("not_found")) | (StatusCode::FORBIDDEN, Some("forbidden"))
                ),
                "{what} with B's token on A's ids: expected 404 not_found (or 403 forbidden), got {status}: {text}"
            );
        } else {
            assert!(
                status.is_success(),
                "{what} with B's token (no ids to carry) should act on B's own data: {status} {text}"
            );
        }

        if let Some(secret_after) = after.take() {
            b_account.totp_secret = secret_after;
        }

        // The control: the same request with A's own token works, so B's refusal meant something
        // and B's call changed nothing of A's.
        if operation.is_own_factor() {
            let prepared = prepare(&app, operation, &mut a_account, &a.access_token).await;
            (body, after) = (prepared.body, Some(prepared.secret_after));
        }
        let response = app.request(operation.method.clone(), &path, Some(&a_token), body).await;
        let status = response.status();
        assert!(status.is_success(), "{what} with A's own token: {status} {}", response.text().await.unwrap());
        if let Some(secret_after) = after {
            a_account.totp_secret = secret_after;
        }
        if let Some(subscription) = before_per_event {
            app.set(&format!("T#{}", a.account.tenant_id), "TENANT", &[("subscription", subscription)]).await;
        }
        checked += 1;
    }
    assert!(checked >= 6, "only {checked} operations checked");
}
