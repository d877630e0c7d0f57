//! DynamoDB round-trip budgets per endpoint. Each request's own count is read back by its
//! `x-request-id` (what its log line reports as `ddb_round_trips`); every measurement checks the
//! expected status first and a range that starts at 1, so a request that failed or made no call at
//! all cannot pass. A new operation fails `every_operation_has_a_budget` until it has one, and
//! `every_endpoint_stays_within_its_budget` until it is measured.

use std::collections::BTreeSet;
use std::ops::RangeInclusive;
use std::sync::Mutex;

use api_tests::{PASSWORD, TestApp, json_of, spawn_app, totp_code, unique_email};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};

/// Every operation's budget of sequential round trips (DESIGN: at most 2 on any HTTP endpoint; the
/// exceptions say why where they are).
/// Only the document, served from memory, makes none.
const BUDGETS: &[(&str, &str, RangeInclusive<usize>)] = &[
    ("POST", "/auth/signup", 1..=2),
    ("POST", "/auth/verify-email", 1..=2),
    ("POST", "/auth/login", 1..=2),
    ("POST", "/auth/login/mfa", 1..=2),
    ("POST", "/auth/2fa/setup", 1..=2),
    ("POST", "/auth/2fa/enable", 1..=2),
    ("POST", "/auth/2fa/disable", 1..=2),
    ("POST", "/auth/refresh", 1..=2),
    ("POST", "/auth/invitations/accept", 2..=2),
    ("POST", "/auth/forgot-password", 2..=2),
    ("POST", "/auth/reset-password", 2..=2),
    // The people with the phone and the request counted; then the code with the organisations.
    ("POST", "/auth/otp/request", 2..=2),
    // A try of the code taken and counted; then the code used up with the session (or the
    // organisations' names to choose from).
    ("POST", "/auth/otp/verify", 2..=2),
    // The kept answer, the event (or location) and the sender in parallel; then the broadcast,
    // its audit entry and the answer kept, in one transaction.
    ("POST", "/broadcasts", 2..=2),
    // One Query of the broadcast's partition (itself and its lines).
    ("GET", "/broadcasts/{broadcast_id}", 1..=1),
    // Whether the locations, positions and event named are the organisation's, and with an
    // Idempotency-Key what a first request under it made (in parallel; none of it when nothing
    // is named); then the job, once.
    ("POST", "/auto-fill", 1..=2),
    // The job, with its proposal read from the bucket beside it.
    ("GET", "/auto-fill/{job_id}", 1..=1),
    // Three: the job (with its proposal); the period's shifts and the people's schedules as they
    // are now, judged again; then each person's places in a transaction of their own, all at
    // once, beside the job marked applied with its audit entry.
    ("POST", "/auto-fill/{job_id}/apply", 3..=3),
    // The settings as they are; then the settings, domains, password rule and audit entry in one
    // transaction.
    ("PUT", "/tenant/sso", 2..=2),
    ("GET", "/tenant/sso", 1..=1),
    ("POST", "/tenant/sso/domains/{domain}/verify", 2..=2),
    // The domain's provider; then the sign-in under way.
    ("POST", "/auth/oidc/start", 2..=2),
    // The sign-in under way taken with the address's account read; then the session with the
    // organisation's rule (the provider's keys are kept per warm Lambda, not read from the table).
    ("POST", "/auth/oidc/callback", 2..=2),
    // One Query of the organisation's broadcasts (gsi1).
    ("GET", "/broadcasts", 1..=1),
    // The token's hash on the organisation with its audit entry, in one transaction; the gate
    // that holds it.
    ("POST", "/tenant/scim/token", 1..=1),
    ("DELETE", "/tenant/scim/token", 1..=1),
    ("GET", "/tenant/scim", 1..=1),
    // The organisation's own sets (the built-in ones are the code's); a new set with its audit
    // entry; a change: the set, then the change with its audit entry.
    ("GET", "/permission-sets", 1..=1),
    ("POST", "/permission-sets", 1..=1),
    ("PATCH", "/permission-sets/{set_id}", 2..=2),
    // Every SCIM call reads the organisation's token with its own first read. A filter: whom the
    // name names, then that person; a list: the people (under 1 MB here).
    ("GET", "/scim/v2/ServiceProviderConfig", 1..=1),
    ("GET", "/scim/v2/Users", 1..=2),
    ("POST", "/scim/v2/Users", 2..=2),
    ("GET", "/scim/v2/Users/{user_id}", 1..=1),
    ("PUT", "/scim/v2/Users/{user_id}", 2..=2),
    ("PATCH", "/scim/v2/Users/{user_id}", 2..=2),
    ("DELETE", "/scim/v2/Users/{user_id}", 2..=2),
    ("POST", "/auth/logout", 1..=2),
    ("POST", "/auth/logout-all", 1..=2),
    ("GET", "/auth/sessions", 1..=2),
    ("DELETE", "/auth/sessions/{session_id}", 1..=2),
    ("GET", "/me", 1..=1),
    ("PATCH", "/me", 1..=2),
    ("GET", "/openapi.json", 0..=0),
    // A GetItem of a key that holds nothing.
    ("GET", "/health", 1..=1),
    ("GET", "/tenant", 1..=1),
    ("PATCH", "/tenant", 2..=2),
    ("GET", "/locations", 1..=1),
    ("POST", "/locations", 1..=2),
    ("GET", "/locations/{location_id}", 1..=1),
    ("PATCH", "/locations/{location_id}", 2..=2),
    ("DELETE", "/locations/{location_id}", 2..=2),
    ("GET", "/positions", 1..=1),
    ("POST", "/positions", 1..=1),
    ("PATCH", "/positions/{position_id}", 2..=2),
    ("DELETE", "/positions/{position_id}", 2..=2),
    ("GET", "/units", 1..=1),
    ("POST", "/units", 1..=2),
    ("PATCH", "/units/{unit_id}", 2..=2),
    ("GET", "/people", 1..=1),
    ("POST", "/people", 2..=2),
    ("GET", "/people/{person_id}", 1..=1),
    ("PATCH", "/people/{person_id}", 2..=2),
    ("DELETE", "/people/{person_id}", 2..=2),
    ("POST", "/people/{person_id}/invite", 2..=2),
    ("POST", "/people/{person_id}/photo", 1..=1),
    ("POST", "/people/{person_id}/feedback", 2..=2),
    ("GET", "/people/{person_id}/feedback", 1..=1),
    ("GET", "/audit-logs", 1..=1),
    ("GET", "/notifications", 1..=1),
    // The way back from the provider's id, then the log line's conditional update (in parallel
    // for the statuses of one WhatsApp delivery); the handshake reads nothing.
    ("POST", "/webhooks/sms-status", 2..=2),
    ("GET", "/webhooks/whatsapp", 0..=0),
    ("POST", "/webhooks/whatsapp", 2..=2),
    ("POST", "/imports", 1..=1),
    ("POST", "/imports/{import_id}/start", 2..=2),
    ("GET", "/imports/{import_id}", 1..=1),
    ("GET", "/imports", 1..=2),
    ("GET", "/imports/templates/{kind}", 0..=0),
    ("GET", "/admin/tenants", 1..=1),
    ("POST", "/admin/tenants/{tenant_id}/suspend", 2..=2),
    ("POST", "/admin/tenants/{tenant_id}/activate", 2..=2),
    // The grant with its ledger entry in one transaction; then the balance.
    ("POST", "/admin/tenants/{tenant_id}/credits", 2..=2),
    // The rate and its audit entry in one transaction.
    ("PUT", "/admin/tenants/{tenant_id}/tax-rate", 1..=1),
    // The organisation, its owners and the month's counts, in parallel.
    ("GET", "/admin/tenants/{tenant_id}", 1..=1),
    // The person and their sessions; then the sessions ended, deleted and audited in parallel
    // (2FA's reset in one transaction with its audit entry, beside them).
    ("GET", "/admin/tenants/{tenant_id}/people/{person_id}/sessions", 1..=1),
    ("DELETE", "/admin/tenants/{tenant_id}/people/{person_id}/sessions", 2..=2),
    ("POST", "/admin/tenants/{tenant_id}/people/{person_id}/reset-2fa", 2..=2),
    ("GET", "/admin/platform/face-reviews", 1..=1),
    ("POST", "/admin/platform/face-reviews/{tenant_id}/{attendance_id}", 2..=2),
    ("GET", "/events", 1..=1),
    ("POST", "/events", 1..=2),
    ("GET", "/events/{event_id}", 1..=1),
    ("PATCH", "/events/{event_id}", 2..=2),
    ("DELETE", "/events/{event_id}", 2..=2),
    ("GET", "/shifts", 1..=1),
    ("POST", "/shifts", 2..=2),
    ("POST", "/shifts/recurring", 2..=2),
    ("GET", "/shifts/{shift_id}", 1..=1),
    // The shift with its assignments and the rules; when the times change and people hold
    // places, their schedules (only the shift names them), to judge them again; then one
    // transaction. Publishing judges them again the same way.
    ("PATCH", "/shifts/{shift_id}", 2..=3),
    ("POST", "/shifts/{shift_id}/publish", 2..=3),
    ("POST", "/shifts/{shift_id}/cancel", 2..=2),
    // Reads (shift, rules, people and schedules) in parallel, then one transaction.
    ("POST", "/shifts/{shift_id}/assignments", 2..=2),
    ("DELETE", "/assignments/{assignment_id}", 2..=2),
    ("POST", "/shifts/{shift_id}/claim", 2..=2),
    // The shift, the rules and everyone; then everyone's schedule and availability, in parallel.
    ("GET", "/shifts/{shift_id}/eligible", 2..=2),
    ("POST", "/assignments/{assignment_id}/status", 2..=2),
    // The shift with its assignments, the rules and the new person with their schedule, in
    // parallel; then one transaction.
    ("POST", "/assignments/{assignment_id}/reassign", 2..=2),
    ("GET", "/availability/me", 1..=1),
    ("PUT", "/availability/me", 1..=1),
    ("GET", "/people/{person_id}/availability", 1..=1),
    ("GET", "/me/shifts", 1..=1),
    // The organisation's calendar (which week the day is in), then the week's warnings.
    ("GET", "/hours-warnings", 2..=2),
    // The feed, and only when there is none yet a conditional put.
    ("GET", "/me/calendar-url", 1..=2),
    ("DELETE", "/me/calendar-url", 1..=1),
    // The feed's secret and the shifts, in parallel.
    ("GET", "/calendar/{token}", 1..=1),
    ("GET", "/requests", 1..=1),
    ("POST", "/requests", 2..=2),
    ("GET", "/requests/{request_id}", 1..=1),
    ("POST", "/requests/{request_id}/accept", 2..=2),
    // Over two: only the request names the person whose schedule the rules
    // judge (the requester's for time off, the colleague's for a swap), so it is read first.
    ("POST", "/requests/{request_id}/approve", 3..=3),
    ("POST", "/requests/{request_id}/reject", 2..=2),
    ("POST", "/requests/{request_id}/cancel", 2..=2),
    // The desk (person, assignment, shift, rules, record, kept answer), the rate counter and the
    // photo (S3) in parallel; then one transaction.
    ("POST", "/attendance/check-in", 2..=2),
    ("POST", "/attendance/check-out", 2..=2),
    ("POST", "/attendance/photo-url", 1..=1),
    ("GET", "/attendance", 1..=1),
    ("GET", "/attendance/{attendance_id}", 1..=1),
    ("POST", "/attendance/{attendance_id}/override", 2..=2),
    ("GET", "/me/attendance", 1..=1),
    // The organisation and the records in parallel (more pages only past 100 records).
    ("GET", "/me/hours", 1..=2),
    ("POST", "/attendance/exports", 2..=2),
    ("GET", "/admin/face-reviews", 1..=1),
    // The event, its shifts' tallies (one small item each: one page for 2,000 shifts), the
    // organisation and the event's unlock, in parallel.
    ("GET", "/events/{event_id}/dashboard", 1..=1),
    // The location and its on-site markers, in parallel.
    ("GET", "/locations/{location_id}/on-site", 1..=1),
    // The organisation, its people and positions, the range's shifts with their assignments and
    // its attendance, in parallel (page after page: a 200-person month is a few pages each);
    // grouped by event, then the events' titles.
    ("GET", "/reports/hours", 1..=2),
    ("POST", "/admin/verify-face/{attendance_id}", 2..=2),
    // Closing a period: the reads in parallel, the stubs (batches in parallel), then the closing
    // transaction, so a crash between leaves no closed period without its stubs. Closed already:
    // the reads alone.
    ("POST", "/pay-periods/{start}/close", 1..=3),
    ("POST", "/pay-periods/{start}/reopen", 2..=2),
    ("GET", "/pay-stubs", 1..=1),
    ("GET", "/pay-stubs/{stub_id}", 1..=1),
    // The stub, the organisation (the employer) and the person (their payroll number) in parallel.
    ("GET", "/pay-stubs/{stub_id}/pdf", 1..=1),
    // The period's stubs; for a provider's file, then their people's payroll numbers.
    ("POST", "/pay-stubs/exports", 1..=2),
    // The event, its shifts with their assignments (its own index) and the organisation in
    // parallel; then the people's and positions' rates, in parallel.
    ("GET", "/events/{event_id}/cost-estimate", 2..=2),
    // The event, its shifts, the organisation and the event's unlock in parallel; then the quote.
    ("POST", "/events/{event_id}/quote", 2..=2),
    // The event, the organisation, its unlock and the owner in parallel; then (paid) the unlock
    // with the payment's record and the audit entry in one transaction (the provider between).
    ("POST", "/events/{event_id}/unlock", 2..=2),
    // Reads every organisation's counters: pages of the tenant index (platform admins only).
    ("GET", "/admin/stats", 1..=2),
    // The plans: one Query of the platform's partition. A new default reads the plans first.
    ("GET", "/admin/plans", 1..=1),
    ("POST", "/admin/plans", 1..=2),
    ("PATCH", "/admin/plans/{plan_id}", 2..=2),
    // The organisation and the plans, in parallel.
    ("GET", "/billing", 1..=1),
    // The organisation, the plans and the owner in parallel; then the subscription, the
    // customer link and the audit entry in one transaction (the provider is called between).
    ("POST", "/billing/subscription", 2..=2),
    ("DELETE", "/billing/subscription", 2..=2),
    // The customer's organisation and the plans in parallel; then the change with the event's id.
    ("POST", "/billing/webhook", 2..=2),
    // One Query of the organisation's payments; one of the platform's by status (gsi1).
    ("GET", "/billing/payments", 1..=1),
    ("GET", "/admin/payments", 1..=1),
    // One BatchGetItem of the revenue counters' shards.
    ("GET", "/admin/revenue", 1..=1),
    // A support attachment's upload is signed, not stored: nothing is read or written.
    ("POST", "/support/attachments", 0..=0),
    // The organisation, the author and the platform's admins (to mail) in parallel; then the
    // ticket with its first message, or the message with the ticket's count and status, in one
    // transaction.
    ("POST", "/support/tickets", 2..=2),
    ("POST", "/support/tickets/{ticket_id}/messages", 2..=2),
    ("POST", "/admin/tenants/{tenant_id}/support/tickets/{ticket_id}/messages", 2..=2),
    // One Query of an index partition; the ticket and its messages in parallel.
    ("GET", "/support/tickets", 1..=1),
    ("GET", "/support/tickets/{ticket_id}", 1..=1),
    ("GET", "/admin/support/tickets", 1..=1),
    ("GET", "/admin/tenants/{tenant_id}/support/tickets/{ticket_id}", 1..=1),
    // The ticket (and the admin it is given to); then the ticket at the version read.
    ("PATCH", "/admin/tenants/{tenant_id}/support/tickets/{ticket_id}", 2..=2),
    // One Query of the organisation's invoices; one GetItem of one.
    ("GET", "/billing/invoices", 1..=1),
    ("GET", "/billing/invoices/{invoice_id}", 1..=1),
    // The invoice (then S3); the details with their audit entry in one transaction.
    ("GET", "/billing/invoices/{invoice_id}/pdf", 1..=1),
    ("PUT", "/billing/details", 1..=1),
    // One Query of the organisation's ledger.
    ("GET", "/billing/credits/transactions", 1..=1),
    // The packs: one Query of the platform's partition; a new one with its audit entry; a change
    // reads the pack first.
    ("GET", "/admin/credit-packs", 1..=1),
    ("POST", "/admin/credit-packs", 1..=1),
    ("PATCH", "/admin/credit-packs/{pack_id}", 2..=2),
    // The organisation, the packs and the owner in parallel; then (paid) the payment, the credits
    // and their ledger entry in one transaction (the provider is called between).
    ("POST", "/billing/credits", 2..=2),
    // The message counted; then the lead.
    ("POST", "/contact", 2..=2),
    // Webhook endpoints: one Query of the organisation's partition, or one GetItem; a new one
    // with its audit entry and the organisation's count in one transaction; a change or removal
    // reads it first. A ping and a redelivery read what they send (then SQS); deliveries are
    // read with the endpoint in parallel.
    ("GET", "/webhooks/endpoints", 1..=1),
    ("POST", "/webhooks/endpoints", 1..=1),
    ("GET", "/webhooks/endpoints/{endpoint_id}", 1..=1),
    ("PATCH", "/webhooks/endpoints/{endpoint_id}", 2..=2),
    ("DELETE", "/webhooks/endpoints/{endpoint_id}", 2..=2),
    ("POST", "/webhooks/endpoints/{endpoint_id}/rotate-secret", 2..=2),
    ("POST", "/webhooks/endpoints/{endpoint_id}/ping", 1..=1),
    ("GET", "/webhooks/endpoints/{endpoint_id}/deliveries", 1..=1),
    ("POST", "/webhooks/endpoints/{endpoint_id}/deliveries/{delivery_id}/redeliver", 1..=1),
    // The CRM: one Query of the leads' or deals' index; a lead or deal with its activities in
    // parallel (a deal then the contact's account); a new lead with its audit entry.
    ("GET", "/admin/crm/leads", 1..=1),
    ("POST", "/admin/crm/leads", 1..=1),
    ("GET", "/admin/crm/leads/{lead_id}", 1..=1),
    ("GET", "/admin/crm/deals", 1..=1),
    ("GET", "/admin/crm/deals/{deal_id}", 2..=2),
    ("GET", "/admin/crm/pipeline", 1..=1),
    // The record (with the admin's name, the lead or the organisation) in parallel; then the
    // change with its audit entry, activity and the pipeline's move, in one transaction.
    ("PATCH", "/admin/crm/leads/{lead_id}", 2..=2),
    ("POST", "/admin/crm/leads/{lead_id}/activities", 2..=2),
    ("POST", "/admin/crm/deals", 2..=2),
    ("PATCH", "/admin/crm/deals/{deal_id}", 2..=2),
    ("POST", "/admin/crm/deals/{deal_id}/activities", 2..=2),
    ("POST", "/admin/crm/deals/{deal_id}/convert", 2..=2),
];

fn budget(method: &str, path: &str) -> RangeInclusive<usize> {
    let (_, _, budget) = BUDGETS
        .iter()
        .find(|(m, p, _)| *m == method && *p == path)
        .unwrap_or_else(|| panic!("no budget for {method} {path}"));
    budget.clone()
}

/// The operations measured so far in this test binary.
static MEASURED: Mutex<BTreeSet<(String, String)>> = Mutex::new(BTreeSet::new());

/// Asserts the status and the round trips of `response` to `method path`; returns the JSON body.
async fn measured(app: &TestApp, method: &str, path: &str, response: Response, status: StatusCode) -> Value {
    MEASURED.lock().unwrap().insert((method.to_owned(), path.to_owned()));
    let trips = app.round_trips_of(response.headers());
    if response.status() != status {
        panic!("{method} {path}: {} {}", response.status(), response.text().await.unwrap_or_default());
    }
    let body = json_of(response, status).await;
    let budget = budget(method, path);
    assert!(budget.contains(&trips), "{method} {path} ({status}) took {trips} round trips, budget {budget:?}");
    body
}

#[test]
fn every_operation_has_a_budget() {
    let doc = serde_json::to_value(dev_server::document()).unwrap();
    let mut documented = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            documented.push((method.to_uppercase(), path.clone()));
        }
    }
    documented.sort();
    let mut budgeted: Vec<_> = BUDGETS.iter().map(|(m, p, _)| (m.to_string(), p.to_string())).collect();
    budgeted.sort();
    assert_eq!(documented, budgeted, "give every documented operation a budget here (and a measurement below)");
}

#[tokio::test]
async fn every_endpoint_stays_within_its_budget() {
    let app = spawn_app().await;
    let email = unique_email("budget");
    measured(&app, "POST", "/auth/signup", app.signup_response(&email).await, StatusCode::ACCEPTED).await;
    let token = app.link_token(&email, "/verify-email").await;
    let verify = app.post("/auth/verify-email", None, serde_json::json!({ "token": token })).await;
    measured(&app, "POST", "/auth/verify-email", verify, StatusCode::CREATED).await;
    let owner = app.signup().await;
    let token = owner.access_token.as_str();

    // With 2FA on: the password, then the code.
    let waiting = measured(&app, "POST", "/auth/login", app.login(&owner.email, PASSWORD).await, StatusCode::OK).await;
    let code = app.fresh_code(&owner).await;
    let login_mfa = app.login_mfa(waiting["mfa_token"].as_str().unwrap(), &code).await;
    let laptop = measured(&app, "POST", "/auth/login/mfa", login_mfa, StatusCode::OK).await;
    // 2FA off (with a recovery code), a login with the password alone, and 2FA on again.
    let disable = app.post("/auth/2fa/disable", Some(token), json!({ "code": owner.recovery_codes[0] })).await;
    measured(&app, "POST", "/auth/2fa/disable", disable, StatusCode::NO_CONTENT).await;
    measured(&app, "POST", "/auth/login", app.login(&owner.email, PASSWORD).await, StatusCode::OK).await;
    let setup =
        measured(&app, "POST", "/auth/2fa/setup", app.post_empty("/auth/2fa/setup", token).await, StatusCode::OK).await;
    let code = totp_code(setup["secret"].as_str().unwrap(), chrono::Utc::now().timestamp());
    let enable = app.post("/auth/2fa/enable", Some(token), json!({ "code": code })).await;
    measured(&app, "POST", "/auth/2fa/enable", enable, StatusCode::OK).await;

    measured(&app, "GET", "/me", app.get("/me", token).await, StatusCode::OK).await;
    let patch = app.request(Method::PATCH, "/me", Some(token), Some(serde_json::json!({ "name": "Budget" }))).await;
    measured(&app, "PATCH", "/me", patch, StatusCode::OK).await;
    measured(&app, "GET", "/auth/sessions", app.get("/auth/sessions", token).await, StatusCode::OK).await;
    let tokens = measured(&app, "POST", "/auth/refresh", app.refresh(&owner.refresh_token).await, StatusCode::OK).await;

    let path = format!("/auth/sessions/{}", laptop["session_id"].as_str().unwrap());
    let revoke = app.request(Method::DELETE, &path, Some(token), None).await;
    measured(&app, "DELETE", "/auth/sessions/{session_id}", revoke, StatusCode::NO_CONTENT).await;
    app.login(&owner.email, PASSWORD).await; // a second session for logout-all to end
    let token = tokens["access_token"].as_str().unwrap();
    let logout_all = app.request(Method::POST, "/auth/logout-all", Some(token), None).await;
    measured(&app, "POST", "/auth/logout-all", logout_all, StatusCode::NO_CONTENT).await;

    let document = app.request(Method::GET, "/openapi.json", None, None).await;
    measured(&app, "GET", "/openapi.json", document, StatusCode::OK).await;
    let health =
        measured(&app, "GET", "/health", app.request(Method::GET, "/health", None, None).await, StatusCode::OK).await;
    assert_eq!(health, json!({ "status": "ok" }));

    let other = app.signup().await;
    let logout = app.request(Method::POST, "/auth/logout", Some(&other.access_token), None).await;
    measured(&app, "POST", "/auth/logout", logout, StatusCode::NO_CONTENT).await;

    organisation_endpoints(&app).await;
    schedule_endpoints(&app).await;
    attendance_endpoints(&app).await;
    platform_endpoints(&app).await;
    platform_help_endpoints(&app).await;
    crm_endpoints(&app).await;
    webhook_endpoints(&app).await;
    unlock_endpoints(&app).await;
    delivery_report_endpoints(&app).await;
    phone_sign_in_endpoints(&app).await;
    sso_endpoints(&app).await;
    scim_endpoints(&app).await;
    broadcast_endpoints(&app).await;
    auto_fill_endpoints(&app).await;

    let measured = MEASURED.lock().unwrap().clone();
    let unmeasured: Vec<_> =
        BUDGETS.iter().filter(|(m, p, _)| !measured.contains(&(m.to_string(), p.to_string()))).collect();
    assert!(unmeasured.is_empty(), "measure these here too: {unmeasured:?}");
}

/// A coordinator's broadcast to an event, and its report.
async fn broadcast_endpoints(app: &TestApp) {
    let owner = app.signup().await;
    let org = app.organisation(&owner).await;
    let body = json!({ "event_id": org.event_id, "message": "Doors open late" });
    let sent = app
        .http
        .post(format!("{}/broadcasts", app.address))
        .bearer_auth(&owner.access_token)
        .header("idempotency-key", "budget-1")
        .json(&body)
        .send()
        .await
        .unwrap();
    let sent = measured(app, "POST", "/broadcasts", sent, StatusCode::ACCEPTED).await;
    let path = format!("/broadcasts/{}", sent["id"].as_str().unwrap());
    let report =
        measured(app, "GET", "/broadcasts/{broadcast_id}", app.get(&path, &owner.access_token).await, StatusCode::OK)
            .await;
    assert_eq!(report["id"], sent["id"]);
    let list =
        measured(app, "GET", "/broadcasts", app.get("/broadcasts", &owner.access_token).await, StatusCode::OK).await;
    assert_eq!(list["items"][0]["id"], sent["id"]);
}

/// A coordinator's auto-fill of the fixture's festival: asked for, read, applied.
async fn auto_fill_endpoints(app: &TestApp) {
    let owner = app.signup().await;
    let org = app.organisation(&owner).await;
    // Another open place on the festival's second day: with the festival shift's, two the owner
    // (who holds the position) can take.
    let shift = json!({ "location_id": org.location_id, "position_id": org.position_id,
        "start": "2030-07-05T08:00:00Z", "end": "2030-07-05T12:00:00Z", "headcount": 1 });
    json_of(app.post("/shifts", Some(&owner.access_token), shift).await, StatusCode::CREATED).await;
    let body = json!({ "from": "2030-07-04", "to": "2030-07-06", "time_limit_ms": 100 });
    let started = app.post("/auto-fill", Some(&owner.access_token), body).await;
    let job = measured(app, "POST", "/auto-fill", started, StatusCode::ACCEPTED).await;
    assert_eq!(app.run_auto_fills().await, 1);
    let path = format!("/auto-fill/{}", job["job_id"].as_str().unwrap());
    let done =
        measured(app, "GET", "/auto-fill/{job_id}", app.get(&path, &owner.access_token).await, StatusCode::OK).await;
    assert_eq!(done["summary"]["filled"], 2, "{done}");
    let applied = app.post_empty(&format!("{path}/apply"), &owner.access_token).await;
    let applied = measured(app, "POST", "/auto-fill/{job_id}/apply", applied, StatusCode::OK).await;
    assert_eq!(applied["applied"], 2, "{applied}");
}

/// An owner making a SCIM token, and the identity provider provisioning a person with it.
async fn scim_endpoints(app: &TestApp) {
    let owner = app.signup().await;
    let created = app.post_empty("/tenant/scim/token", &owner.access_token).await;
    let token = measured(app, "POST", "/tenant/scim/token", created, StatusCode::CREATED).await;
    let token = token["token"].as_str().unwrap().to_owned();
    measured(app, "GET", "/tenant/scim", app.get("/tenant/scim", &owner.access_token).await, StatusCode::OK).await;
    let body = json!({ "name": "Finance clerk", "permissions": ["payroll.read"] });
    let created = app.post("/permission-sets", Some(&owner.access_token), body).await;
    let set = measured(app, "POST", "/permission-sets", created, StatusCode::CREATED).await;
    let path = format!("/permission-sets/{}", set["id"].as_str().unwrap());
    let change = json!({ "permissions": ["payroll.read", "costs.read"] });
    let changed = app.request(Method::PATCH, &path, Some(&owner.access_token), Some(change)).await;
    measured(app, "PATCH", "/permission-sets/{set_id}", changed, StatusCode::OK).await;
    let sets = app.get("/permission-sets", &owner.access_token).await;
    measured(app, "GET", "/permission-sets", sets, StatusCode::OK).await;
    let scim = |method: Method, path: &str, body: Option<Value>| {
        let mut request = app.http.request(method, format!("{}/scim/v2{path}", app.address)).bearer_auth(&token);
        if let Some(body) = body {
            request = request.header("content-type", "application/scim+json").body(body.to_string());
        }
        request.send()
    };
    let config = scim(Method::GET, "/ServiceProviderConfig", None).await.unwrap();
    measured(app, "GET", "/scim/v2/ServiceProviderConfig", config, StatusCode::OK).await;
    let email = api_tests::unique_email("scim");
    let user = scim(Method::POST, "/Users", Some(json!({ "userName": email }))).await.unwrap();
    let user = measured(app, "POST", "/scim/v2/Users", user, StatusCode::CREATED).await;
    let path = format!("/Users/{}", user["id"].as_str().unwrap());
    let filter = format!("/Users?filter=userName%20eq%20%22{email}%22");
    let found =
        measured(app, "GET", "/scim/v2/Users", scim(Method::GET, &filter, None).await.unwrap(), StatusCode::OK).await;
    assert_eq!(found["totalResults"], 1);
    measured(app, "GET", "/scim/v2/Users", scim(Method::GET, "/Users", None).await.unwrap(), StatusCode::OK).await;
    let read = scim(Method::GET, &path, None).await.unwrap();
    measured(app, "GET", "/scim/v2/Users/{user_id}", read, StatusCode::OK).await;
    let renamed = json!({ "userName": email, "displayName": "Sam Renamed" });
    let replaced = scim(Method::PUT, &path, Some(renamed)).await.unwrap();
    measured(app, "PUT", "/scim/v2/Users/{user_id}", replaced, StatusCode::OK).await;
    let patch = json!({ "Operations": [{ "op": "replace", "path": "active", "value": false }] });
    let patched = scim(Method::PATCH, &path, Some(patch)).await.unwrap();
    measured(app, "PATCH", "/scim/v2/Users/{user_id}", patched, StatusCode::OK).await;
    let patch = json!({ "Operations": [{ "op": "replace", "path": "active", "value": true }] });
    scim(Method::PATCH, &path, Some(patch)).await.unwrap();
    let deleted = scim(Method::DELETE, &path, None).await.unwrap();
    measured(app, "DELETE", "/scim/v2/Users/{user_id}", deleted, StatusCode::NO_CONTENT).await;
    let removed = app.request(Method::DELETE, "/tenant/scim/token", Some(&owner.access_token), None).await;
    measured(app, "DELETE", "/tenant/scim/token", removed, StatusCode::NO_CONTENT).await;
}

/// An owner connecting an identity provider, and a staff member signing in through it.
async fn sso_endpoints(app: &TestApp) {
    let owner = app.signup().await;
    let issuer = api_tests::oidc::Issuer::start().await;
    let domain = format!("{}.example", owner.tenant_id.to_lowercase());
    let body = json!({ "providers": [{ "kind": "okta", "issuer": issuer.url, "client_id": "rota-web",
        "allowed_domains": [domain] }] });
    let put = app.request(Method::PUT, "/tenant/sso", Some(&owner.access_token), Some(body)).await;
    measured(app, "PUT", "/tenant/sso", put, StatusCode::OK).await;
    let settings =
        measured(app, "GET", "/tenant/sso", app.get("/tenant/sso", &owner.access_token).await, StatusCode::OK).await;
    api_tests::publish_txt(&format!("_rota-challenge.{domain}"), &[settings["domain_verification"].as_str().unwrap()])
        .await;
    let verified = app.post_empty(&format!("/tenant/sso/domains/{domain}/verify"), &owner.access_token).await;
    measured(app, "POST", "/tenant/sso/domains/{domain}/verify", verified, StatusCode::OK).await;
    let email = format!("sam@{domain}");
    app.member(&owner.access_token, json!({ "email": email, "name": "Sam", "role": "staff" })).await;
    let started = app.post("/auth/oidc/start", None, json!({ "email": email })).await;
    let started = measured(app, "POST", "/auth/oidc/start", started, StatusCode::OK).await;
    let nonce = started["nonce"].as_str().unwrap();
    let id_token = issuer.sign(&issuer.claims("rota-web", &email, nonce), "rsa-1");
    let body = json!({ "provider_id": started["provider_id"], "nonce": nonce, "id_token": id_token, "token_delivery": "body" });
    let signed_in = app.post("/auth/oidc/callback", None, body).await;
    let signed_in = measured(app, "POST", "/auth/oidc/callback", signed_in, StatusCode::OK).await;
    assert!(signed_in["access_token"].is_string(), "{signed_in}");
}

/// A staff member signing in with a code sent to their phone.
async fn phone_sign_in_endpoints(app: &TestApp) {
    let owner = app.signup().await;
    let settings = json!({ "settings": { "phone_sign_in": true } });
    json_of(app.request(Method::PATCH, "/tenant", Some(&owner.access_token), Some(settings)).await, StatusCode::OK)
        .await;
    let phone = format!("+4474007{:05}", ulid::Ulid::new().random() % 100_000);
    let email = unique_email("budget-phone");
    app.member(&owner.access_token, json!({ "email": email, "name": "Gate", "role": "staff", "phone": phone })).await;
    let requested = app.post("/auth/otp/request", None, json!({ "phone": phone })).await;
    measured(app, "POST", "/auth/otp/request", requested, StatusCode::ACCEPTED).await;
    let sent = app.messages_to(&phone).await;
    let code = &sent.last().expect("a code was sent")["body"].as_str().unwrap()[..6];
    let body = json!({ "phone": phone, "code": code, "token_delivery": "body" });
    let signed_in =
        measured(app, "POST", "/auth/otp/verify", app.post("/auth/otp/verify", None, body).await, StatusCode::OK).await;
    assert!(signed_in["access_token"].is_string(), "{signed_in}");
}

/// The messaging providers' reports of an SMS and a WhatsApp message sent to the owner.
async fn delivery_report_endpoints(app: &TestApp) {
    let owner = app.signup().await;
    let phone = format!("+4474006{:05}", ulid::Ulid::new().random() % 100_000);
    let mut provider_ids = Vec::new();
    for channel in ["sms", "whatsapp"] {
        let body = json!({ "phone": phone, "channels": [channel] });
        json_of(app.request(Method::PATCH, "/me", Some(&owner.access_token), Some(body)).await, StatusCode::OK).await;
        let message = rota::notify::Message::ImportFinished {
            import_id: "I1".into(),
            filename: "staff.csv".into(),
            done: true,
            rows: 1,
            errors: 0,
        };
        let me = json_of(app.get("/me", &owner.access_token).await, StatusCode::OK).await;
        let envelope = rota::notify::Envelope::to_person(&owner.tenant_id, me["id"].as_str().unwrap(), message);
        app.state.outbox.send(&envelope).await.unwrap();
        app.deliver().await;
        let log = json_of(app.get("/notifications?limit=1", &owner.access_token).await, StatusCode::OK).await;
        provider_ids.push(log["items"][0]["provider_id"].as_str().unwrap().to_owned());
    }
    let form =
        vec![("MessageSid".to_owned(), provider_ids[0].clone()), ("MessageStatus".to_owned(), "delivered".to_owned())];
    let url = format!("{}/webhooks/sms-status", app.address);
    let signature = rota::callbacks::twilio_signature(&std::env::var("ROTA_SMS_AUTH_TOKEN").unwrap(), &url, &form);
    let encoded = form_urlencoded::Serializer::new(String::new()).extend_pairs(&form).finish();
    let reported = app
        .http
        .post(&url)
        .header("x-twilio-signature", signature)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(encoded)
        .send()
        .await
        .unwrap();
    let reported = measured(app, "POST", "/webhooks/sms-status", reported, StatusCode::OK).await;
    assert_eq!(reported["updated"], 1);

    let status = json!({ "id": provider_ids[1], "status": "read", "timestamp": "1796558400" });
    let body = json!({ "object": "whatsapp_business_account", "entry": [{ "changes": [{ "value": { "statuses": [status] } }] }] });
    let body = serde_json::to_vec(&body).unwrap();
    let signature = rota::callbacks::meta_signature(&std::env::var("ROTA_WHATSAPP_APP_SECRET").unwrap(), &body);
    let url = format!("{}/webhooks/whatsapp", app.address);
    let reported = app.http.post(&url).header("x-hub-signature-256", signature).body(body).send().await.unwrap();
    let reported = measured(app, "POST", "/webhooks/whatsapp", reported, StatusCode::OK).await;
    assert_eq!(reported["updated"], 1);

    let token = std::env::var("ROTA_WHATSAPP_VERIFY_TOKEN").unwrap();
    let query = [("hub.mode", "subscribe"), ("hub.verify_token", token.as_str()), ("hub.challenge", "42")];
    let handshake = app.http.get(&url).query(&query).send().await.unwrap();
    MEASURED.lock().unwrap().insert(("GET".to_owned(), "/webhooks/whatsapp".to_owned()));
    assert_eq!((handshake.status(), app.round_trips_of(handshake.headers())), (StatusCode::OK, 0));
    assert_eq!(handshake.text().await.unwrap(), "42");
}

/// The webhook endpoints' operations, from registering one to removing it.
async fn webhook_endpoints(app: &TestApp) {
    let owner = app.signup().await;
    let (token, access) = (Some(owner.access_token.as_str()), owner.access_token.as_str());
    let url = format!("{}/hooks/{}", std::env::var("ROTA_SMS_API").unwrap(), ulid::Ulid::new());
    let created = app.post("/webhooks/endpoints", token, json!({ "url": url })).await;
    let created = measured(app, "POST", "/webhooks/endpoints", created, StatusCode::CREATED).await;
    let endpoint = format!("/webhooks/endpoints/{}", created["id"].as_str().unwrap());
    let template = "/webhooks/endpoints/{endpoint_id}";
    measured(app, "GET", "/webhooks/endpoints", app.get("/webhooks/endpoints", access).await, StatusCode::OK).await;
    measured(app, "GET", template, app.get(&endpoint, access).await, StatusCode::OK).await;
    let changed = app.request(Method::PATCH, &endpoint, token, Some(json!({ "description": "Measured" }))).await;
    measured(app, "PATCH", template, changed, StatusCode::OK).await;
    let rotated = app.post_empty(&format!("{endpoint}/rotate-secret"), access).await;
    measured(app, "POST", &format!("{template}/rotate-secret"), rotated, StatusCode::OK).await;
    let ping = app.post_empty(&format!("{endpoint}/ping"), access).await;
    let ping = measured(app, "POST", &format!("{template}/ping"), ping, StatusCode::ACCEPTED).await;
    app.deliver().await;
    let deliveries = app.get(&format!("{endpoint}/deliveries"), access).await;
    measured(app, "GET", &format!("{template}/deliveries"), deliveries, StatusCode::OK).await;
    let again = format!("{endpoint}/deliveries/{}/redeliver", ping["message_id"].as_str().unwrap());
    let again = app.post_empty(&again, access).await;
    measured(app, "POST", &format!("{template}/deliveries/{{delivery_id}}/redeliver"), again, StatusCode::ACCEPTED)
        .await;
    let removed = app.request(Method::DELETE, &endpoint, token, None).await;
    measured(app, "DELETE", template, removed, StatusCode::NO_CONTENT).await;
}

/// The CRM's operations, from the contact form to a won deal converted.
async fn crm_endpoints(app: &TestApp) {
    let admin = app.platform_admin().await;
    let owner = app.signup().await;
    let token = Some(admin.as_str());
    let email = unique_email("crm");
    let message = json!({ "name": "Ada", "email": email, "message": "Hello" });
    measured(app, "POST", "/contact", app.post("/contact", None, message).await, StatusCode::ACCEPTED).await;
    let leads = app.get(&format!("/admin/crm/leads?email={email}"), &admin).await;
    let leads = measured(app, "GET", "/admin/crm/leads", leads, StatusCode::OK).await;
    let lead = format!("/admin/crm/leads/{}", leads["items"][0]["id"].as_str().unwrap());
    let entered = app.post("/admin/crm/leads", token, json!({ "name": "Bo", "email": unique_email("bo") })).await;
    measured(app, "POST", "/admin/crm/leads", entered, StatusCode::CREATED).await;
    measured(app, "GET", "/admin/crm/leads/{lead_id}", app.get(&lead, &admin).await, StatusCode::OK).await;
    let contacted = app.request(Method::PATCH, &lead, token, Some(json!({ "status": "contacted" }))).await;
    measured(app, "PATCH", "/admin/crm/leads/{lead_id}", contacted, StatusCode::OK).await;
    let call = json!({ "kind": "call", "body": "Counted" });
    let logged = app.post(&format!("{lead}/activities"), token, call.clone()).await;
    measured(app, "POST", "/admin/crm/leads/{lead_id}/activities", logged, StatusCode::CREATED).await;
    let deal =
        json!({ "title": "Measured", "lead_id": leads["items"][0]["id"], "value_minor": 100, "currency": "EUR" });
    let deal =
        measured(app, "POST", "/admin/crm/deals", app.post("/admin/crm/deals", token, deal).await, StatusCode::CREATED)
            .await;
    let deal = format!("/admin/crm/deals/{}", deal["id"].as_str().unwrap());
    measured(app, "GET", "/admin/crm/deals", app.get("/admin/crm/deals", &admin).await, StatusCode::OK).await;
    measured(app, "GET", "/admin/crm/deals/{deal_id}", app.get(&deal, &admin).await, StatusCode::OK).await;
    let logged = app.post(&format!("{deal}/activities"), token, call).await;
    measured(app, "POST", "/admin/crm/deals/{deal_id}/activities", logged, StatusCode::CREATED).await;
    let won = app.request(Method::PATCH, &deal, token, Some(json!({ "stage": "won" }))).await;
    measured(app, "PATCH", "/admin/crm/deals/{deal_id}", won, StatusCode::OK).await;
    let converted = app.post(&format!("{deal}/convert"), token, json!({ "organisation_id": owner.tenant_id })).await;
    measured(app, "POST", "/admin/crm/deals/{deal_id}/convert", converted, StatusCode::OK).await;
    let pipeline = app.get("/admin/crm/pipeline", &admin).await;
    measured(app, "GET", "/admin/crm/pipeline", pipeline, StatusCode::OK).await;
}

/// A platform admin looking into an organisation and helping its owner: the detail, the review
/// queue across organisations, the owner's sessions and 2FA.
async fn platform_help_endpoints(app: &TestApp) {
    let admin = app.platform_admin().await;
    let owner = app.signup().await;
    let org = app.organisation(&owner).await;
    let site = app.on_site(&owner.access_token, &org).await;
    let detail = app.get(&format!("/admin/tenants/{}", owner.tenant_id), &admin).await;
    let detail = measured(app, "GET", "/admin/tenants/{tenant_id}", detail, StatusCode::OK).await;
    // The fixture's one check-in, to a shift that started 70 minutes ago: in this month unless
    // the month began since.
    let month = |at: chrono::DateTime<chrono::Utc>| at.format("%Y-%m").to_string();
    let now = chrono::Utc::now();
    let this_month = month(now - chrono::Duration::minutes(70)) == month(now);
    assert_eq!(detail["usage"]["check_ins"], i64::from(this_month), "{detail}");
    let queue = app.get("/admin/platform/face-reviews", &admin).await;
    measured(app, "GET", "/admin/platform/face-reviews", queue, StatusCode::OK).await;
    let decide = format!("/admin/platform/face-reviews/{}/{}", owner.tenant_id, site.attendance_id);
    let decided = app.post(&decide, Some(&admin), json!({ "decision": "verified" })).await;
    measured(app, "POST", "/admin/platform/face-reviews/{tenant_id}/{attendance_id}", decided, StatusCode::OK).await;
    let person = format!("/admin/tenants/{}/people/{}", owner.tenant_id, owner.person_id);
    let listed = app.get(&format!("{person}/sessions"), &admin).await;
    measured(app, "GET", "/admin/tenants/{tenant_id}/people/{person_id}/sessions", listed, StatusCode::OK).await;
    let reset = app.post(&format!("{person}/reset-2fa"), Some(&admin), Value::Null).await;
    measured(app, "POST", "/admin/tenants/{tenant_id}/people/{person_id}/reset-2fa", reset, StatusCode::NO_CONTENT)
        .await;
    let ended = app.request(Method::DELETE, &format!("{person}/sessions"), Some(&admin), None).await;
    measured(app, "DELETE", "/admin/tenants/{tenant_id}/people/{person_id}/sessions", ended, StatusCode::NO_CONTENT)
        .await;
}

/// Every admin-function operation, as a platform admin on a fresh organisation.
async fn platform_endpoints(app: &TestApp) {
    let admin = app.platform_admin().await;
    let owner = app.signup().await;
    let tenant = |action: &str| format!("/admin/tenants/{}/{action}", owner.tenant_id);
    let admin_token = Some(admin.as_str());
    measured(app, "GET", "/billing", app.get("/billing", &owner.access_token).await, StatusCode::OK).await;
    let list = app.get("/admin/tenants", &admin).await;
    measured(app, "GET", "/admin/tenants", list, StatusCode::OK).await;
    let suspend = app.post(&tenant("suspend"), admin_token, Value::Null).await;
    measured(app, "POST", "/admin/tenants/{tenant_id}/suspend", suspend, StatusCode::OK).await;
    let activate = app.post(&tenant("activate"), admin_token, Value::Null).await;
    measured(app, "POST", "/admin/tenants/{tenant_id}/activate", activate, StatusCode::OK).await;
    let credits = app.post(&tenant("credits"), admin_token, serde_json::json!({ "amount": 5 })).await;
    measured(app, "POST", "/admin/tenants/{tenant_id}/credits", credits, StatusCode::OK).await;
    let rate = serde_json::json!({ "tax_rate_bp": 2000 });
    let taxed = app.request(reqwest::Method::PUT, &tenant("tax-rate"), admin_token, Some(rate)).await;
    measured(app, "PUT", "/admin/tenants/{tenant_id}/tax-rate", taxed, StatusCode::OK).await;
    measured(app, "GET", "/admin/stats", app.get("/admin/stats", &admin).await, StatusCode::OK).await;
    measured(app, "GET", "/admin/plans", app.get("/admin/plans", &admin).await, StatusCode::OK).await;
    let body = serde_json::json!({ "name": "Measured", "price_minor": 0, "currency": "EUR", "interval": "month" });
    let created =
        measured(app, "POST", "/admin/plans", app.post("/admin/plans", admin_token, body).await, StatusCode::CREATED)
            .await;
    let body = serde_json::json!({ "plan_id": created["id"], "payment_method_id": api_tests::card(api_tests::GOOD_CARD).await });
    let subscribed = app.post("/billing/subscription", Some(&owner.access_token), body).await;
    let billing = measured(app, "POST", "/billing/subscription", subscribed, StatusCode::OK).await;
    let customer = app.state.store.tenant(&owner.tenant_id).await.unwrap().unwrap().billing_customer_id.unwrap();
    let failed = serde_json::json!({ "id": format!("evt_{}", ulid::Ulid::new()), "type": "invoice.payment_failed",
        "created": chrono::Utc::now().timestamp(), "data": { "object": { "id": "in_measured", "customer": customer,
        "subscription": billing["subscription"]["provider_subscription_id"], "currency": "eur", "total": 100,
        "amount_paid": 0, "created": 0 } } });
    let payload = serde_json::to_vec(&failed).unwrap();
    let secret = std::env::var("ROTA_STRIPE_WEBHOOK_SECRET").unwrap();
    let delivered = app
        .http
        .post(format!("{}/billing/webhook", app.address))
        .header("stripe-signature", api_tests::stripe_signature(&secret, chrono::Utc::now().timestamp(), &payload))
        .body(payload)
        .send()
        .await
        .unwrap();
    let receipt = measured(app, "POST", "/billing/webhook", delivered, StatusCode::OK).await;
    assert_eq!(receipt["applied"], true);
    let payments = app.get("/billing/payments", &owner.access_token).await;
    let payments = measured(app, "GET", "/billing/payments", payments, StatusCode::OK).await;
    assert_eq!(payments["items"][0]["status"], "failed");
    let failed = app.get("/admin/payments?status=failed", &admin).await;
    measured(app, "GET", "/admin/payments", failed, StatusCode::OK).await;
    let revenue = app.get("/admin/revenue", &admin).await;
    let revenue = measured(app, "GET", "/admin/revenue", revenue, StatusCode::OK).await;
    assert!(revenue["organisations"]["past_due"].as_i64().is_some_and(|overdue| overdue >= 1), "{revenue}");
    let file = serde_json::json!({ "content_type": "application/pdf", "content_length": 1000 });
    let upload = app.post("/support/attachments", Some(&owner.access_token), file).await;
    measured(app, "POST", "/support/attachments", upload, StatusCode::CREATED).await;
    let ticket = serde_json::json!({ "subject": "Measured", "body": "How many round trips?" });
    let ticket = app.post("/support/tickets", Some(&owner.access_token), ticket).await;
    let ticket = measured(app, "POST", "/support/tickets", ticket, StatusCode::CREATED).await;
    let mine = format!("/support/tickets/{}", ticket["id"].as_str().unwrap());
    let list = app.get("/support/tickets", &owner.access_token).await;
    measured(app, "GET", "/support/tickets", list, StatusCode::OK).await;
    let read = app.get(&mine, &owner.access_token).await;
    measured(app, "GET", "/support/tickets/{ticket_id}", read, StatusCode::OK).await;
    let reply = serde_json::json!({ "body": "Still counting" });
    let replied = app.post(&format!("{mine}/messages"), Some(&owner.access_token), reply.clone()).await;
    measured(app, "POST", "/support/tickets/{ticket_id}/messages", replied, StatusCode::CREATED).await;
    let queue = app.get("/admin/support/tickets", &admin).await;
    measured(app, "GET", "/admin/support/tickets", queue, StatusCode::OK).await;
    let theirs = tenant(&format!("support/tickets/{}", ticket["id"].as_str().unwrap()));
    let read = app.get(&theirs, &admin).await;
    measured(app, "GET", "/admin/tenants/{tenant_id}/support/tickets/{ticket_id}", read, StatusCode::OK).await;
    let replied = app.post(&format!("{theirs}/messages"), admin_token, reply).await;
    let template = "/admin/tenants/{tenant_id}/support/tickets/{ticket_id}";
    measured(app, "POST", &format!("{template}/messages"), replied, StatusCode::CREATED).await;
    let solve = serde_json::json!({ "status": "solved" });
    let solved = app.request(reqwest::Method::PATCH, &theirs, admin_token, Some(solve)).await;
    measured(app, "PATCH", template, solved, StatusCode::OK).await;
    let invoice_id = app.stored_invoice(&owner.tenant_id).await;
    let invoices = app.get("/billing/invoices", &owner.access_token).await;
    let invoices = measured(app, "GET", "/billing/invoices", invoices, StatusCode::OK).await;
    assert_eq!(invoices["items"][0]["id"], invoice_id.as_str());
    let invoice = app.get(&format!("/billing/invoices/{invoice_id}"), &owner.access_token).await;
    measured(app, "GET", "/billing/invoices/{invoice_id}", invoice, StatusCode::OK).await;
    let pdf = app.get(&format!("/billing/invoices/{invoice_id}/pdf"), &owner.access_token).await;
    measured(app, "GET", "/billing/invoices/{invoice_id}/pdf", pdf, StatusCode::OK).await;
    let details = serde_json::json!({ "name": "Measured Ltd", "address_lines": [], "postcode": "", "city": "Leeds", "country": "GB" });
    let set = app.request(reqwest::Method::PUT, "/billing/details", Some(&owner.access_token), Some(details)).await;
    measured(app, "PUT", "/billing/details", set, StatusCode::OK).await;
    let ledger = app.get("/billing/credits/transactions", &owner.access_token).await;
    let ledger = measured(app, "GET", "/billing/credits/transactions", ledger, StatusCode::OK).await;
    assert_eq!(ledger["items"].as_array().map(Vec::len), Some(2), "the trial's credits and the grant: {ledger}");
    let packs = app.get("/admin/credit-packs", &admin).await;
    measured(app, "GET", "/admin/credit-packs", packs, StatusCode::OK).await;
    let body = serde_json::json!({ "name": "Measured", "credits": 100, "price_minor": 500, "currency": "EUR" });
    let pack = app.post("/admin/credit-packs", admin_token, body).await;
    let pack = measured(app, "POST", "/admin/credit-packs", pack, StatusCode::CREATED).await;
    // Paid with the card on file from the subscription.
    let bought = app.post("/billing/credits", Some(&owner.access_token), serde_json::json!({ "pack_id": pack["id"] }));
    let bought = measured(app, "POST", "/billing/credits", bought.await, StatusCode::OK).await;
    assert_eq!(bought["status"], "credited");
    let path = format!("/admin/credit-packs/{}", pack["id"].as_str().unwrap());
    let retired =
        app.request(reqwest::Method::PATCH, &path, admin_token, Some(serde_json::json!({ "retired": true }))).await;
    measured(app, "PATCH", "/admin/credit-packs/{pack_id}", retired, StatusCode::OK).await;
    let cancelled =
        app.request(reqwest::Method::DELETE, "/billing/subscription", Some(&owner.access_token), None).await;
    measured(app, "DELETE", "/billing/subscription", cancelled, StatusCode::OK).await;
    let path = format!("/admin/plans/{}", created["id"].as_str().unwrap());
    let changed =
        app.request(reqwest::Method::PATCH, &path, admin_token, Some(serde_json::json!({ "retired": true }))).await;
    measured(app, "PATCH", "/admin/plans/{plan_id}", changed, StatusCode::OK).await;
}

/// An event's quote and unlock, in an organisation on a plan that charges per event.
async fn unlock_endpoints(app: &TestApp) {
    let admin = app.platform_admin().await;
    let body = json!({ "name": "Per event", "price_minor": 0, "currency": "EUR", "interval": "month",
        "event_unlock": true, "staff_day_minor": 200 });
    let plan = json_of(app.post("/admin/plans", Some(&admin), body).await, StatusCode::CREATED).await;
    let owner = app.signup().await;
    let token = Some(owner.access_token.as_str());
    json_of(app.post("/billing/subscription", token, json!({ "plan_id": plan["id"] })).await, StatusCode::OK).await;
    let org = app.organisation(&owner).await;
    let quote = app.post_empty(&format!("/events/{}/quote", org.event_id), &owner.access_token).await;
    let quote = measured(app, "POST", "/events/{event_id}/quote", quote, StatusCode::CREATED).await;
    let body = json!({ "quote_id": quote["id"], "payment_method_id": api_tests::card(api_tests::GOOD_CARD).await });
    let unlocked = app.post(&format!("/events/{}/unlock", org.event_id), token, body).await;
    let unlocked = measured(app, "POST", "/events/{event_id}/unlock", unlocked, StatusCode::OK).await;
    assert_eq!(unlocked["status"], "unlocked");
}

/// Every attendance-function operation, as a fresh organisation's owner: checking in to the shift
/// on now (with an idempotency key: the kept answer is one more item of the same transaction) and
/// out of the one that just ended.
async fn attendance_endpoints(app: &TestApp) {
    let owner = app.signup().await;
    let token = Some(owner.access_token.as_str());
    let org = app.organisation(&owner).await;
    let site = app.on_site(&owner.access_token, &org).await;
    let call = |method: &'static str, path: String, body: Option<Value>| async move {
        app.request(method.parse().unwrap(), &path, token, body).await
    };
    let at_hall = |shift: &str| json!({ "shift_id": shift, "lat": 53.8, "lng": -1.55, "accuracy_m": 10.0 });
    let photo = json!({ "shift_id": site.now_shift_id, "content_type": "image/png", "content_length": 1000 });
    let upload = call("POST", "/attendance/photo-url".into(), Some(photo)).await;
    measured(app, "POST", "/attendance/photo-url", upload, StatusCode::CREATED).await;
    let check_in = app
        .http
        .post(format!("{}/attendance/check-in", app.address))
        .bearer_auth(&owner.access_token)
        .header("Idempotency-Key", "budget-1")
        .json(&at_hall(&site.now_shift_id))
        .send()
        .await
        .unwrap();
    measured(app, "POST", "/attendance/check-in", check_in, StatusCode::CREATED).await;
    let check_out = call("POST", "/attendance/check-out".into(), Some(at_hall(&site.ended_shift_id))).await;
    measured(app, "POST", "/attendance/check-out", check_out, StatusCode::OK).await;
    measured(app, "GET", "/attendance", call("GET", "/attendance".into(), None).await, StatusCode::OK).await;
    let record = format!("/attendance/{}", site.attendance_id);
    measured(app, "GET", "/attendance/{attendance_id}", call("GET", record.clone(), None).await, StatusCode::OK).await;
    let correction = json!({ "status": "on_time", "reason": "Signed in on paper" });
    let corrected = call("POST", format!("{record}/override"), Some(correction)).await;
    measured(app, "POST", "/attendance/{attendance_id}/override", corrected, StatusCode::OK).await;
    measured(app, "GET", "/me/attendance", call("GET", "/me/attendance".into(), None).await, StatusCode::OK).await;
    let hours = call("GET", "/me/hours?from=2030-07-01&to=2030-07-07".into(), None).await;
    measured(app, "GET", "/me/hours", hours, StatusCode::OK).await;
    let export =
        json!({ "from": "2030-07-01", "to": "2030-07-31", "person_id": org.person_id, "event_id": org.event_id });
    let export = call("POST", "/attendance/exports".into(), Some(export)).await;
    measured(app, "POST", "/attendance/exports", export, StatusCode::CREATED).await;
    let queue = call("GET", "/admin/face-reviews".into(), None).await;
    measured(app, "GET", "/admin/face-reviews", queue, StatusCode::OK).await;
    let verify =
        call("POST", format!("/admin/verify-face/{}", site.attendance_id), Some(json!({ "decision": "rejected" })))
            .await;
    measured(app, "POST", "/admin/verify-face/{attendance_id}", verify, StatusCode::OK).await;

    // Payroll: the fixture's period is closed; reopened, it closes again with every step.
    let period = format!("/pay-periods/{}", site.period_start);
    let reopen = call("POST", format!("{period}/reopen"), None).await;
    measured(app, "POST", "/pay-periods/{start}/reopen", reopen, StatusCode::OK).await;
    let close = call("POST", format!("{period}/close"), None).await;
    let closed = measured(app, "POST", "/pay-periods/{start}/close", close, StatusCode::CREATED).await;
    assert_eq!(closed["stubs"].as_array().unwrap().len(), 1);
    measured(app, "GET", "/pay-stubs", call("GET", "/pay-stubs".into(), None).await, StatusCode::OK).await;
    let stub = call("GET", format!("/pay-stubs/{}", site.stub_id), None).await;
    measured(app, "GET", "/pay-stubs/{stub_id}", stub, StatusCode::OK).await;
    let pdf = call("GET", format!("/pay-stubs/{}/pdf", site.stub_id), None).await;
    measured(app, "GET", "/pay-stubs/{stub_id}/pdf", pdf, StatusCode::OK).await;
    let export = call("POST", "/pay-stubs/exports".into(), Some(json!({ "period": site.period_start }))).await;
    measured(app, "POST", "/pay-stubs/exports", export, StatusCode::CREATED).await;
    let estimate = call("GET", format!("/events/{}/cost-estimate", org.event_id), None).await;
    let estimate = measured(app, "GET", "/events/{event_id}/cost-estimate", estimate, StatusCode::OK).await;
    assert_eq!((estimate["people"].as_u64(), estimate["places"].as_u64()), (Some(1), Some(3)));
    let board = call("GET", format!("/events/{}/dashboard", org.event_id), None).await;
    let board = measured(app, "GET", "/events/{event_id}/dashboard", board, StatusCode::OK).await;
    assert_eq!((board["total"]["places"].as_i64(), board["total"]["filled"].as_i64()), (Some(3), Some(1)));
    let gate = call("GET", format!("/locations/{}/on-site", org.location_id), None).await;
    let gate = measured(app, "GET", "/locations/{location_id}/on-site", gate, StatusCode::OK).await;
    assert_eq!(gate["items"].as_array().map(Vec::len), Some(1), "the owner, checked in to the ended shift");
    let report = call("GET", "/reports/hours?from=2030-07-01&to=2030-07-31&group_by=event".into(), None).await;
    let report = measured(app, "GET", "/reports/hours", report, StatusCode::OK).await;
    assert_eq!(report["total"]["scheduled_places"].as_i64(), Some(1), "the staff member's offer on the 2030 shift");
}

/// Every schedule-function operation, as a fresh organisation's owner.
async fn schedule_endpoints(app: &TestApp) {
    let owner = app.signup().await;
    let token = Some(owner.access_token.as_str());
    let org = app.organisation(&owner).await;
    let call = |method: &'static str, path: String, body: Option<Value>| async move {
        app.request(method.parse().unwrap(), &path, token, body).await
    };
    let event = format!("/events/{}", org.event_id);
    let event_body =
        json!({ "title": "Gala", "location_id": org.location_id, "starts_on": "2030-07-05", "ends_on": "2030-07-05" });
    measured(app, "POST", "/events", call("POST", "/events".into(), Some(event_body)).await, StatusCode::CREATED).await;
    measured(app, "GET", "/events", call("GET", "/events".into(), None).await, StatusCode::OK).await;
    measured(app, "GET", "/events/{event_id}", call("GET", event.clone(), None).await, StatusCode::OK).await;
    let patch = call("PATCH", event.clone(), Some(json!({ "status": "confirmed" }))).await;
    measured(app, "PATCH", "/events/{event_id}", patch, StatusCode::OK).await;

    let shift_body = json!({ "location_id": org.location_id, "position_id": org.position_id,
        "start": "2030-07-05T08:00:00Z", "end": "2030-07-05T16:00:00Z", "headcount": 2 });
    let shift =
        measured(app, "POST", "/shifts", call("POST", "/shifts".into(), Some(shift_body)).await, StatusCode::CREATED)
            .await;
    let shift = format!("/shifts/{}", shift["id"].as_str().unwrap());
    let recurring = json!({ "location_id": org.location_id, "position_id": org.position_id, "headcount": 1,
        "weekdays": ["sat", "sun"], "start_local": "22:00", "end_local": "06:00", "from": "2030-03-25", "to": "2030-04-07" });
    let made = call("POST", "/shifts/recurring".into(), Some(recurring)).await;
    measured(app, "POST", "/shifts/recurring", made, StatusCode::CREATED).await;
    let list = call("GET", format!("/shifts?location_id={}&from=2030-07-01T00:00:00Z", org.location_id), None).await;
    measured(app, "GET", "/shifts", list, StatusCode::OK).await;
    let patch = call("PATCH", shift.clone(), Some(json!({ "notes": "Bring a coat" }))).await;
    measured(app, "PATCH", "/shifts/{shift_id}", patch, StatusCode::OK).await;
    let publish = call("POST", format!("{shift}/publish"), None).await;
    measured(app, "POST", "/shifts/{shift_id}/publish", publish, StatusCode::OK).await;
    let assign = call("POST", format!("{shift}/assignments"), Some(json!({ "person_ids": [org.person_id] }))).await;
    let assigned = measured(app, "POST", "/shifts/{shift_id}/assignments", assign, StatusCode::CREATED).await;
    measured(app, "GET", "/shifts/{shift_id}", call("GET", shift.clone(), None).await, StatusCode::OK).await;
    let eligible = call("GET", format!("{shift}/eligible"), None).await;
    measured(app, "GET", "/shifts/{shift_id}/eligible", eligible, StatusCode::OK).await;
    let warnings = call("GET", "/hours-warnings?week=2030-07-05".into(), None).await;
    measured(app, "GET", "/hours-warnings", warnings, StatusCode::OK).await;
    // New times, judged again for the person on the shift.
    let retimed = call("PATCH", shift.clone(), Some(json!({ "end": "2030-07-05T15:00:00Z" }))).await;
    let retimed = measured(app, "PATCH", "/shifts/{shift_id}", retimed, StatusCode::OK).await;
    assert_eq!(retimed["end"], "2030-07-05T15:00:00Z");
    // What the staff member does: their availability, their answer, a claim, their schedule.
    let staff = app.staff_token(&org).await;
    let as_staff = |method: &'static str, path: String, body: Option<Value>| {
        let staff = staff.clone();
        async move { app.request(method.parse().unwrap(), &path, Some(&staff), body).await }
    };
    let availability = json!({ "weekly": [], "blackouts": [{ "from": "2030-12-24", "to": "2030-12-26" }] });
    let set = as_staff("PUT", "/availability/me".into(), Some(availability)).await;
    measured(app, "PUT", "/availability/me", set, StatusCode::OK).await;
    let mine = as_staff("GET", "/availability/me".into(), None).await;
    measured(app, "GET", "/availability/me", mine, StatusCode::OK).await;
    let theirs = call("GET", format!("/people/{}/availability", org.person_id), None).await;
    measured(app, "GET", "/people/{person_id}/availability", theirs, StatusCode::OK).await;
    let offered = format!("/assignments/{}/status", org.assignment_id);
    let accept = as_staff("POST", offered, Some(json!({ "status": "accepted" }))).await;
    measured(app, "POST", "/assignments/{assignment_id}/status", accept, StatusCode::OK).await;
    let open = json!({ "location_id": org.location_id, "position_id": org.position_id,
        "start": "2030-07-10T08:00:00Z", "end": "2030-07-10T16:00:00Z", "headcount": 1 });
    let open = json_of(call("POST", "/shifts".into(), Some(open)).await, StatusCode::CREATED).await;
    let open = format!("/shifts/{}", open["id"].as_str().unwrap());
    json_of(call("POST", format!("{open}/publish"), None).await, StatusCode::OK).await;
    let claim = as_staff("POST", format!("{open}/claim"), None).await;
    measured(app, "POST", "/shifts/{shift_id}/claim", claim, StatusCode::CREATED).await;
    measured(app, "GET", "/me/shifts", as_staff("GET", "/me/shifts".into(), None).await, StatusCode::OK).await;
    let url = measured(
        app,
        "GET",
        "/me/calendar-url",
        as_staff("GET", "/me/calendar-url".into(), None).await,
        StatusCode::OK,
    )
    .await;
    let feed = url["url"].as_str().unwrap().split("/calendar/").nth(1).unwrap().to_owned();
    let feed = app.request(Method::GET, &format!("/calendar/{feed}"), None, None).await;
    measured(app, "GET", "/calendar/{token}", feed, StatusCode::OK).await;
    let revoke = as_staff("DELETE", "/me/calendar-url".into(), None).await;
    measured(app, "DELETE", "/me/calendar-url", revoke, StatusCode::NO_CONTENT).await;

    // Requests: the staff member offers their shift to the owner, who takes it and approves it;
    // time off asked for, withdrawn, approved; the owner's own rejected.
    let swap = json!({ "kind": "swap", "assignment_id": org.assignment_id, "to_person_id": owner.person_id });
    let swap =
        measured(app, "POST", "/requests", as_staff("POST", "/requests".into(), Some(swap)).await, StatusCode::CREATED)
            .await;
    let swap = format!("/requests/{}", swap["id"].as_str().unwrap());
    measured(app, "GET", "/requests/{request_id}", call("GET", swap.clone(), None).await, StatusCode::OK).await;
    let accept = call("POST", format!("{swap}/accept"), None).await;
    measured(app, "POST", "/requests/{request_id}/accept", accept, StatusCode::OK).await;
    let approve = call("POST", format!("{swap}/approve"), Some(json!({ "note": "Thanks both" }))).await;
    measured(app, "POST", "/requests/{request_id}/approve", approve, StatusCode::OK).await;
    let time_off = || json!({ "kind": "time_off", "from": "2030-07-10", "to": "2030-07-10" });
    let asked = as_staff("POST", "/requests".into(), Some(time_off())).await;
    let asked = measured(app, "POST", "/requests", asked, StatusCode::CREATED).await;
    let cancel = as_staff("POST", format!("/requests/{}/cancel", asked["id"].as_str().unwrap()), None).await;
    measured(app, "POST", "/requests/{request_id}/cancel", cancel, StatusCode::OK).await;
    let asked = json_of(as_staff("POST", "/requests".into(), Some(time_off())).await, StatusCode::CREATED).await;
    let approve = call("POST", format!("/requests/{}/approve", asked["id"].as_str().unwrap()), None).await;
    let approved = measured(app, "POST", "/requests/{request_id}/approve", approve, StatusCode::OK).await;
    assert_eq!(approved["released_shift_ids"].as_array().map(Vec::len), Some(1), "the claimed shift: {approved}");
    let reject = call("POST", format!("/requests/{}/reject", org.request_id), None).await;
    measured(app, "POST", "/requests/{request_id}/reject", reject, StatusCode::OK).await;
    measured(app, "GET", "/requests", call("GET", "/requests?to_review=true".into(), None).await, StatusCode::OK).await;

    let assignment = format!("/assignments/{}", assigned["assignments"][0]["id"].as_str().unwrap());
    let reassign = call("POST", format!("{assignment}/reassign"), Some(json!({ "person_id": owner.person_id }))).await;
    let reassigned =
        measured(app, "POST", "/assignments/{assignment_id}/reassign", reassign, StatusCode::CREATED).await;
    let assignment = format!("/assignments/{}", reassigned["assignment"]["id"].as_str().unwrap());
    let drop = call("DELETE", assignment, None).await;
    measured(app, "DELETE", "/assignments/{assignment_id}", drop, StatusCode::NO_CONTENT).await;
    measured(
        app,
        "POST",
        "/shifts/{shift_id}/cancel",
        call("POST", format!("{shift}/cancel"), None).await,
        StatusCode::OK,
    )
    .await;
    measured(app, "DELETE", "/events/{event_id}", call("DELETE", event, None).await, StatusCode::NO_CONTENT).await;
}

/// Every people-function operation, in an organisation of its own.
async fn organisation_endpoints(app: &TestApp) {
    let owner = app.signup().await;
    let token = Some(owner.access_token.as_str());
    let org = app.organisation(&owner).await;
    let call = |method: &'static str, path: String, body: Option<Value>| async move {
        app.request(method.parse().unwrap(), &path, token, body).await
    };
    let json = |value: Value| Some(value);
    let cases: Vec<(&str, &str, String, Option<Value>, StatusCode)> = vec![
        ("GET", "/tenant", "/tenant".into(), None, StatusCode::OK),
        ("PATCH", "/tenant", "/tenant".into(), json(serde_json::json!({ "currency": "GBP" })), StatusCode::OK),
        ("GET", "/locations", "/locations".into(), None, StatusCode::OK),
        (
            "POST",
            "/locations",
            "/locations".into(),
            json(serde_json::json!({ "name": "Hall", "lat": 1.0, "lng": 2.0, "radius_m": 100 })),
            StatusCode::CREATED,
        ),
        ("GET", "/locations/{location_id}", format!("/locations/{}", org.location_id), None, StatusCode::OK),
        (
            "PATCH",
            "/locations/{location_id}",
            format!("/locations/{}", org.location_id),
            json(serde_json::json!({ "radius_m": 120 })),
            StatusCode::OK,
        ),
        ("DELETE", "/locations/{location_id}", format!("/locations/{}", org.location_id), None, StatusCode::NO_CONTENT),
        ("GET", "/positions", "/positions".into(), None, StatusCode::OK),
        ("POST", "/positions", "/positions".into(), json(serde_json::json!({ "name": "Usher" })), StatusCode::CREATED),
        (
            "PATCH",
            "/positions/{position_id}",
            format!("/positions/{}", org.position_id),
            json(serde_json::json!({ "name": "Barista" })),
            StatusCode::OK,
        ),
        ("DELETE", "/positions/{position_id}", format!("/positions/{}", org.position_id), None, StatusCode::NO_CONTENT),
        ("GET", "/units", "/units".into(), None, StatusCode::OK),
        (
            "POST",
            "/units",
            "/units".into(),
            json(serde_json::json!({ "name": "Door team", "lead_person_id": org.person_id })),
            StatusCode::CREATED,
        ),
        (
            "PATCH",
            "/units/{unit_id}",
            format!("/units/{}", org.unit_id),
            json(serde_json::json!({ "lead_person_id": org.person_id })),
            StatusCode::OK,
        ),
        ("GET", "/people", "/people?role=staff&q=sam".into(), None, StatusCode::OK),
        (
            "POST",
            "/people",
            "/people".into(),
            json(
                serde_json::json!({ "email": unique_email("budget"), "name": "Bo", "role": "staff", "unit_id": org.unit_id }),
            ),
            StatusCode::CREATED,
        ),
        ("GET", "/people/{person_id}", format!("/people/{}", org.person_id), None, StatusCode::OK),
        (
            "PATCH",
            "/people/{person_id}",
            format!("/people/{}", org.person_id),
            json(serde_json::json!({ "role": "coordinator" })),
            StatusCode::OK,
        ),
        ("POST", "/people/{person_id}/invite", format!("/people/{}/invite", org.person_id), None, StatusCode::ACCEPTED),
        (
            "POST",
            "/people/{person_id}/photo",
            format!("/people/{}/photo", org.person_id),
            json(serde_json::json!({ "content_type": "image/jpeg", "content_length": 1000 })),
            StatusCode::CREATED,
        ),
        (
            "POST",
            "/people/{person_id}/feedback",
            format!("/people/{}/feedback", org.person_id),
            json(serde_json::json!({ "rating": 4 })),
            StatusCode::CREATED,
        ),
        ("GET", "/people/{person_id}/feedback", format!("/people/{}/feedback", org.person_id), None, StatusCode::OK),
        ("DELETE", "/people/{person_id}", format!("/people/{}", org.person_id), None, StatusCode::NO_CONTENT),
        ("GET", "/audit-logs", "/audit-logs?entity_type=person".into(), None, StatusCode::OK),
        ("GET", "/notifications", "/notifications".into(), None, StatusCode::OK),
        (
            "POST",
            "/imports",
            "/imports".into(),
            json(
                serde_json::json!({ "kind": "people", "format": "xlsx", "filename": "staff.xlsx", "content_length": 9000 }),
            ),
            StatusCode::CREATED,
        ),
        ("POST", "/imports/{import_id}/start", format!("/imports/{}/start", org.import_id), None, StatusCode::ACCEPTED),
        ("GET", "/imports/{import_id}", format!("/imports/{}", org.import_id), None, StatusCode::OK),
        ("GET", "/imports", "/imports".into(), None, StatusCode::OK),
        ("GET", "/imports/templates/{kind}", "/imports/templates/shifts".into(), None, StatusCode::OK),
    ];
    for (method, template, path, body, status) in cases {
        measured(app, method, template, call(method, path, body).await, status).await;
    }

    // The invited staff member was deactivated above; another one accepts and resets.
    let email = unique_email("invited");
    let invite = serde_json::json!({ "email": email, "name": "Ivy", "role": "staff" });
    json_of(app.post("/people", token, invite).await, StatusCode::CREATED).await;
    let accept =
        serde_json::json!({ "token": app.link_token(&email, "/accept-invitation").await, "password": PASSWORD });
    let accepted = app.post("/auth/invitations/accept", None, accept).await;
    measured(app, "POST", "/auth/invitations/accept", accepted, StatusCode::CREATED).await;
    let forgot = app.post("/auth/forgot-password", None, serde_json::json!({ "email": email })).await;
    measured(app, "POST", "/auth/forgot-password", forgot, StatusCode::ACCEPTED).await;
    let reset = serde_json::json!({ "token": app.link_token(&email, "/reset-password").await, "password": PASSWORD });
    let reset = app.post("/auth/reset-password", None, reset).await;
    measured(app, "POST", "/auth/reset-password", reset, StatusCode::NO_CONTENT).await;
}

#[tokio::test]
async fn failures_stay_within_the_budget_too() {
    let app = spawn_app().await;
    let owner = app.signup().await;

    // A wrong password, then the limit: the 429 is measured like the 401s before it.
    for _ in 0..5 {
        let response = app.login(&owner.email, "wrong password!").await;
        measured(&app, "POST", "/auth/login", response, StatusCode::UNAUTHORIZED).await;
    }
    let response = app.login(&owner.email, PASSWORD).await;
    measured(&app, "POST", "/auth/login", response, StatusCode::TOO_MANY_REQUESTS).await;
    let response = app.login(&unique_email("nobody"), PASSWORD).await;
    measured(&app, "POST", "/auth/login", response, StatusCode::UNAUTHORIZED).await;

    // Refresh: a repeat within the grace, a forged token, a replay after the grace (which ends the
    // session) and the session's newer token after that.
    let rotated = json_of(app.refresh(&owner.refresh_token).await, StatusCode::OK).await;
    let newer = rotated["refresh_token"].as_str().unwrap();
    measured(&app, "POST", "/auth/refresh", app.refresh(&owner.refresh_token).await, StatusCode::OK).await;
    let forged = forged(&owner.refresh_token);
    measured(&app, "POST", "/auth/refresh", app.refresh(&forged).await, StatusCode::UNAUTHORIZED).await;
    app.age_latest_rotation(&owner, 11).await;
    measured(&app, "POST", "/auth/refresh", app.refresh(&owner.refresh_token).await, StatusCode::UNAUTHORIZED).await;
    measured(&app, "POST", "/auth/refresh", app.refresh(newer).await, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test]
async fn second_factor_failures_stay_within_the_budget_too() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let token = owner.access_token.as_str();

    // Turning 2FA on when it is on, or off when no code fits.
    let setup = app.post_empty("/auth/2fa/setup", token).await;
    measured(&app, "POST", "/auth/2fa/setup", setup, StatusCode::CONFLICT).await;
    let enable = app.post("/auth/2fa/enable", Some(token), json!({ "code": owner.code() })).await;
    measured(&app, "POST", "/auth/2fa/enable", enable, StatusCode::CONFLICT).await;

    // A login token nobody issued, a code already used, wrong codes up to the limit, and past it.
    let waiting = json_of(app.login(&owner.email, PASSWORD).await, StatusCode::OK).await;
    let mfa_token = waiting["mfa_token"].as_str().unwrap();
    let unknown = api_tests::forged_mfa_token(mfa_token);
    measured(&app, "POST", "/auth/login/mfa", app.login_mfa(&unknown, &owner.code()).await, StatusCode::UNAUTHORIZED)
        .await;
    let code = app.fresh_code(&owner).await;
    json_of(app.login_mfa(mfa_token, &code).await, StatusCode::OK).await;
    let waiting = json_of(app.login(&owner.email, PASSWORD).await, StatusCode::OK).await;
    let mfa_token = waiting["mfa_token"].as_str().unwrap();
    measured(&app, "POST", "/auth/login/mfa", app.login_mfa(mfa_token, &code).await, StatusCode::UNAUTHORIZED).await;
    for _ in 0..4 {
        let disable = app.post("/auth/2fa/disable", Some(token), json!({ "code": "000000-wrong" })).await;
        measured(&app, "POST", "/auth/2fa/disable", disable, StatusCode::UNAUTHORIZED).await;
    }
    let code = app.fresh_code(&owner).await;
    measured(&app, "POST", "/auth/login/mfa", app.login_mfa(mfa_token, &code).await, StatusCode::TOO_MANY_REQUESTS)
        .await;
    let enable = app.post("/auth/2fa/disable", Some(token), json!({ "code": code })).await;
    measured(&app, "POST", "/auth/2fa/disable", enable, StatusCode::TOO_MANY_REQUESTS).await;

    // A suspended organisation: both kinds of login, completing one, and refresh.
    let plain = app.signup_without_2fa().await;
    for account in [&owner, &plain] {
        app.set(&format!("T#{}", account.tenant_id), "TENANT", &[("status", json!("suspended"))]).await;
    }
    let other = app.signup().await;
    let waiting = json_of(app.login(&other.email, PASSWORD).await, StatusCode::OK).await;
    app.set(&format!("T#{}", other.tenant_id), "TENANT", &[("status", json!("suspended"))]).await;
    for account in [&owner, &plain] {
        let login = app.login(&account.email, PASSWORD).await;
        measured(&app, "POST", "/auth/login", login, StatusCode::FORBIDDEN).await;
        let refresh = app.refresh(&account.refresh_token).await;
        measured(&app, "POST", "/auth/refresh", refresh, StatusCode::FORBIDDEN).await;
    }
    let code = app.fresh_code(&other).await;
    let login_mfa = app.login_mfa(waiting["mfa_token"].as_str().unwrap(), &code).await;
    measured(&app, "POST", "/auth/login/mfa", login_mfa, StatusCode::FORBIDDEN).await;
}

/// The token with its secret changed: the tenant and session ids it carries are no secret.
fn forged(token: &str) -> String {
    let mut bytes = URL_SAFE_NO_PAD.decode(token).unwrap();
    for byte in &mut bytes[48..] {
        *byte ^= 0x5a;
    }
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Two tabs refreshing with one token at once: within the grace both get the new pair, and the
/// loser of the race (which used to read, lose the rotation and delete: 3 trips) stays in budget.
#[tokio::test]
async fn both_of_two_concurrent_refreshes_stay_within_the_budget() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let (first, second) = tokio::join!(app.refresh(&owner.refresh_token), app.refresh(&owner.refresh_token));
    for response in [first, second] {
        measured(&app, "POST", "/auth/refresh", response, StatusCode::OK).await;
    }
}

#[tokio::test]
async fn concurrent_requests_each_count_their_own_calls() {
    // One counter for the whole app used to mix them up (and stop counting for good after one
    // cancelled call); now each request has its own.
    let app = spawn_app().await;
    let owner = app.signup().await;
    let requests = (0..8).map(|_| app.get("/me", &owner.access_token));
    for response in futures_util::future::join_all(requests).await {
        measured(&app, "GET", "/me", response, StatusCode::OK).await;
    }

    // A client that hangs up mid-request does not disturb the requests after it.
    let hung_up = app
        .http
        .post(format!("{}/auth/login", app.address))
        .json(&serde_json::json!({ "email": owner.email, "password": PASSWORD }))
        .timeout(std::time::Duration::from_millis(2))
        .send()
        .await;
    assert!(hung_up.is_err(), "the login should outlast a 2 ms timeout");
    for _ in 0..3 {
        measured(&app, "GET", "/me", app.get("/me", &owner.access_token).await, StatusCode::OK).await;
    }
}

/// Each request's DynamoDB units, as its log line and metrics report them (on the local stack
/// modelled from the items, `rota::store::consumed`): a read of nothing is half a unit; a new
/// location is one write of a small item and one of its audit entry, each doubled in their
/// transaction; listing the locations reads one small page.
#[tokio::test]
async fn each_request_reports_the_units_it_consumed() {
    let app = spawn_app().await;
    let units = |response: &Response| {
        let spent = app.spent_by(response.headers());
        (spent.consumed.read_units, spent.consumed.write_units)
    };
    let health = app.request(Method::GET, "/health", None, None).await;
    assert_eq!((health.status(), units(&health)), (StatusCode::OK, (0.5, 0.0)));

    let owner = app.signup().await;
    let location = json!({ "name": "Quay", "lat": 51.5, "lng": -0.1, "radius_m": 150 });
    let created = app.post("/locations", Some(&owner.access_token), location).await;
    assert_eq!((created.status(), units(&created)), (StatusCode::CREATED, (0.5, 6.0)));
    let listed = app.get("/locations", &owner.access_token).await;
    assert_eq!((listed.status(), units(&listed)), (StatusCode::OK, (0.5, 0.0)));
}
