//! The sample API Gateway events in events/ (for `cargo lambda invoke --data-file`) parse as
//! Lambda HTTP requests and succeed: their placeholders get a fresh account's real values, and
//! each event must answer its operation's documented success status. Every documented operation
//! needs a sample event.

use std::collections::BTreeSet;

use api_tests::{json_of, spawn_app, unique_email};
use reqwest::{Method, StatusCode};
use serde_json::Value;

/// What the sample events carry where a real value goes, as a developer pastes it in.
const ACCESS_TOKEN: &str = "REPLACE_WITH_ACCESS_TOKEN";
const REFRESH_TOKEN: &str = "REPLACE_WITH_REFRESH_TOKEN";
const SESSION_ID: &str = "01JSAMPLESESSION0000000000";
const SIGNUP_TOKEN: &str = "REPLACE_WITH_THE_TOKEN_FROM_THE_EMAILED_LINK";
const INVITATION_TOKEN: &str = "REPLACE_WITH_THE_INVITATION_TOKEN";
const RESET_TOKEN: &str = "REPLACE_WITH_THE_RESET_TOKEN";
/// The ids of the people-function samples, replaced by records of the owner's organisation.
const LOCATION_ID: &str = "01JSAMPLELOCATION000000000";
const POSITION_ID: &str = "01JSAMPLEPOSITION000000000";
const UNIT_ID: &str = "01JSAMPLEUN1T0000000000000";
const PERSON_ID: &str = "01JSAMPLEPERSON00000000000";
/// The schedule samples' event and shift (an assignment id is `{shift}_{person}`).
const EVENT_ID: &str = "01JSAMPLEEVENT000000000000";
const SHIFT_ID: &str = "01JSAMPLESH1FT000000000000";
/// The owner's own time off, waiting for a decision; a swap offered to the owner.
const REQUEST_ID: &str = "01JSAMPLEREQUEST0000000000";
const SWAP_ID: &str = "01JSAMPLESWAP0000000000000";
const IMPORT_ID: &str = "01JSAMPLEIMPORT00000000000";
/// A broadcast the owner sent to the event.
const BROADCAST_ID: &str = "01JSAMPLEBR0ADCAST00000000";
/// An auto-fill job of the owner's, solved.
const AUTO_FILL_ID: &str = "01JSAMPLEAUT0F1LLJ0B000000";
/// The owner's attendance samples: a shift on now (not checked in), and one that just ended,
/// checked in, whose record waits for review.
const NOW_SHIFT_ID: &str = "01JSAMPLENOWSH1FT000000000";
const ENDED_SHIFT_ID: &str = "01JSAMPLEENDEDSH1FT0000000";
const ATTENDANCE_ID: &str = "01JSAMPLEATTENDANCE0000000";
/// A closed pay period of the owner's, and the owner's stub of it.
const PERIOD_START: &str = "2020-01-06";
const STUB_ID: &str = "01JSAMPLEPAYSTUB0000000000";
/// A support ticket the owner opened.
const TICKET_ID: &str = "01JSAMPLET1CKET00000000000";
/// The platform samples act on the owner's organisation, as a platform admin.
const TENANT_ID: &str = "01JSAMPLETENANT00000000000";
/// The owner's own person (the platform samples help them: their sessions, their 2FA).
const OWNER_PERSON_ID: &str = "01JSAMPLEOWNERPERSON000000";
/// A lead and a deal of the operator's CRM, made by a platform admin (the deal won, for the
/// sample that converts it).
const LEAD_ID: &str = "01JSAMPLELEAD0000000000000";
const DEAL_ID: &str = "01JSAMPLEDEA10000000000000";
/// A webhook endpoint of the owner's at the local receiver, and a delivery to it (a ping).
const ENDPOINT_ID: &str = "01JSAMPLEWEBH00KENDP01NT00";
const DELIVERY_ID: &str = "REPLACE_WITH_DELIVERY_ID";
const WEBHOOK_URL: &str = "REPLACE_WITH_WEBHOOK_URL";
const PLATFORM_ADMIN_TOKEN: &str = "REPLACE_WITH_PLATFORM_ADMIN_ACCESS_TOKEN";
/// The plan samples (a change, a subscription) use a plan the platform admin makes first.
const PLAN_ID: &str = "01JSAMPLEPLAN0000000000000";
/// The credit pack samples (a change, a purchase) use a pack the platform admin makes first.
const PACK_ID: &str = "01JSAMPLEPACK0000000000000";
/// The unlock sample pays the quote of the organisation's event, asked for first.
const QUOTE_ID: &str = "REPLACE_WITH_QUOTE_ID";
/// A card the frontend collected (Stripe.js), and a webhook delivery's signature over its body.
const PAYMENT_METHOD_ID: &str = "REPLACE_WITH_PAYMENT_METHOD_ID";
const INVOICE_ID: &str = "REPLACE_WITH_INVOICE_ID";
const STRIPE_SIGNATURE: &str = "REPLACE_WITH_STRIPE_SIGNATURE";
/// The messaging providers' delivery reports: signed over the sample's form or body, and the
/// webhook handshake's verify token.
const TWILIO_SIGNATURE: &str = "REPLACE_WITH_TWILIO_SIGNATURE";
const WHATSAPP_SIGNATURE: &str = "REPLACE_WITH_WHATSAPP_SIGNATURE";
const WHATSAPP_VERIFY_TOKEN: &str = "REPLACE_WITH_WHATSAPP_VERIFY_TOKEN";
/// A calendar feed's secret: the sample reads the owner's own feed.
const CALENDAR_TOKEN: &str = "REPLACE_WITH_CALENDAR_TOKEN";
/// The organisation's staff member (the person of PERSON_ID), for what a worker does.
const STAFF_TOKEN: &str = "REPLACE_WITH_STAFF_ACCESS_TOKEN";
/// Phone sign-in: a staff member's phone (of an organisation that allows it), and the code just
/// sent to it.
const STAFF_PHONE: &str = "REPLACE_WITH_STAFF_PHONE";
const SIGN_IN_CODE: &str = "REPLACE_WITH_SIGN_IN_CODE";
/// Single sign-on: the organisation's own email domain, and a sign-in through a local identity
/// provider (its provider, the nonce the start gave, and the provider's ID token).
const SSO_DOMAIN: &str = "REPLACE_WITH_SSO_DOMAIN";
const OIDC_PROVIDER_ID: &str = "REPLACE_WITH_OIDC_PROVIDER_ID";
const OIDC_NONCE: &str = "REPLACE_WITH_OIDC_NONCE";
const ID_TOKEN: &str = "REPLACE_WITH_ID_TOKEN";
/// The organisation's own email domain, one of its provider's, with its TXT record published.
const DOMAIN_TO_PROVE: &str = "REPLACE_WITH_DOMAIN_TO_PROVE";
/// SCIM: the organisation's token (made by the owner), a user the provider created, and the
/// address of a user created or replaced.
const SCIM_TOKEN: &str = "REPLACE_WITH_SCIM_TOKEN";
const SCIM_USER_ID: &str = "01JSAMPLESC1MUSER000000000";
const SCIM_USER_NAME: &str = "REPLACE_WITH_SCIM_USER_NAME";
/// A permission set of the owner's organisation.
const PERMISSION_SET_ID: &str = "01JSAMPLEPERM1SS10NSET0000";
/// A code of the authenticator app (for enable: of the secret from setup).
const TOTP_CODE: &str = "REPLACE_WITH_TOTP_CODE";
/// The `mfa_token` a password login answered.
const MFA_TOKEN: &str = "REPLACE_WITH_MFA_TOKEN";
/// The sign-up sample creates this owner and the login sample logs in as them.
const EMAIL: &str = "owner@example.com";

/// The 2xx statuses the document gives an operation.
fn documented_successes(doc: &Value, method: &str, path: &str) -> Vec<StatusCode> {
    let responses = doc["paths"][path][method.to_lowercase()]["responses"]
        .as_object()
        .unwrap_or_else(|| panic!("{method} {path} is not in the document"));
    responses.keys().filter(|status| status.starts_with('2')).map(|status| status.parse().unwrap()).collect()
}

#[tokio::test]
async fn every_sample_event_succeeds_with_real_tokens() {
    let app = spawn_app().await;
    let doc = serde_json::to_value(&app.doc).unwrap();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../events");
    let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|entry| entry.unwrap().path()).collect();
    files.sort();

    let mut covered = BTreeSet::new();
    for path in files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).unwrap();
        let event: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        if event["Records"].is_array() {
            continue; // an SQS event, for a worker: tests/notifier.rs runs it
        }
        let route = event["routeKey"].as_str().unwrap_or_else(|| panic!("{name} has no routeKey")).to_owned();
        let (method, template) = route.split_once(' ').unwrap();

        // A fresh owner per event (an event may end its session), with a second session for the
        // revoke sample to end; with 2FA on, except for the samples that turn it on. The sign-up
        // sample gets an address nobody has yet.
        let turns_2fa_on = matches!(route.as_str(), "POST /auth/2fa/setup" | "POST /auth/2fa/enable");
        let owner = if turns_2fa_on { app.signup_without_2fa().await } else { app.signup().await };
        let spare = app.login_tokens(&owner).await;
        let email = if route == "POST /auth/signup" { unique_email("sample") } else { owner.email.clone() };
        // The verify sample follows the link of a sign-up just started.
        let signup_token = if text.contains(SIGNUP_TOKEN) {
            let signup_email = unique_email("sample");
            json_of(app.signup_response(&signup_email).await, StatusCode::ACCEPTED).await;
            app.link_token(&signup_email, "/verify-email").await
        } else {
            String::new()
        };
        // The organisation's records (and the invitation of its staff member), where the sample
        // names one.
        let names_records = [
            LOCATION_ID,
            POSITION_ID,
            UNIT_ID,
            PERSON_ID,
            EVENT_ID,
            SHIFT_ID,
            REQUEST_ID,
            SWAP_ID,
            IMPORT_ID,
            BROADCAST_ID,
            AUTO_FILL_ID,
            NOW_SHIFT_ID,
            ENDED_SHIFT_ID,
            ATTENDANCE_ID,
            PERIOD_START,
            STUB_ID,
            INVITATION_TOKEN,
            STAFF_TOKEN,
        ]
        .iter()
        .any(|id| text.contains(id));
        let mut text = text.replace(TENANT_ID, &owner.tenant_id).replace(OWNER_PERSON_ID, &owner.person_id);
        if text.contains(PLATFORM_ADMIN_TOKEN) || text.contains(PLAN_ID) || route == "DELETE /billing/subscription" {
            let admin = app.platform_admin().await;
            let plan = api_tests::plan(&app, &admin, serde_json::json!({})).await;
            text = text.replace(PLAN_ID, plan["id"].as_str().unwrap()).replace(PLATFORM_ADMIN_TOKEN, &admin);
            if route == "DELETE /billing/subscription" {
                // Something to cancel: the owner pays for the plan first.
                let card = api_tests::card(api_tests::GOOD_CARD).await;
                let body = serde_json::json!({ "plan_id": plan["id"], "payment_method_id": card });
                json_of(app.post("/billing/subscription", Some(&owner.access_token), body).await, StatusCode::OK).await;
            }
        }
        if text.contains(PACK_ID) {
            let admin = app.platform_admin().await;
            let pack = api_tests::credit_pack(&app, &admin, serde_json::json!({})).await;
            text = text.replace(PACK_ID, pack["id"].as_str().unwrap()).replace(PLATFORM_ADMIN_TOKEN, &admin);
        }
        if text.contains(LEAD_ID) || text.contains(DEAL_ID) {
            let admin = app.platform_admin().await;
            let lead = serde_json::json!({ "name": "Sample", "email": unique_email("lead") });
            let lead = json_of(app.post("/admin/crm/leads", Some(&admin), lead).await, StatusCode::CREATED).await;
            let deal =
                serde_json::json!({ "title": "Sample", "lead_id": lead["id"], "value_minor": 1000, "currency": "EUR" });
            let deal = json_of(app.post("/admin/crm/deals", Some(&admin), deal).await, StatusCode::CREATED).await;
            let deal_id = deal["id"].as_str().unwrap();
            if route.ends_with("/convert") {
                let path = format!("/admin/crm/deals/{deal_id}");
                let won = app.request(Method::PATCH, &path, Some(&admin), Some(serde_json::json!({ "stage": "won" })));
                json_of(won.await, StatusCode::OK).await;
            }
            text = text
                .replace(LEAD_ID, lead["id"].as_str().unwrap())
                .replace(DEAL_ID, deal_id)
                .replace(PLATFORM_ADMIN_TOKEN, &admin);
        }
        if text.contains(WEBHOOK_URL) || text.contains(ENDPOINT_ID) {
            let base = std::env::var("ROTA_SMS_API").expect("the local receiver");
            let url = format!("{base}/hooks/{}", ulid::Ulid::new());
            let body = serde_json::json!({ "url": url });
            let created = app.post("/webhooks/endpoints", Some(&owner.access_token), body).await;
            let endpoint_id = json_of(created, StatusCode::CREATED).await["id"].as_str().unwrap().to_owned();
            if text.contains(DELIVERY_ID) {
                let endpoint = format!("/webhooks/endpoints/{endpoint_id}");
                let ping = app.post_empty(&format!("{endpoint}/ping"), &owner.access_token).await;
                let ping = json_of(ping, StatusCode::ACCEPTED).await;
                app.deliver().await;
                text = text.replace(DELIVERY_ID, ping["message_id"].as_str().unwrap());
            }
            text = text.replace(WEBHOOK_URL, &url).replace(ENDPOINT_ID, &endpoint_id);
        }
        if text.contains(TICKET_ID) {
            let ticket = serde_json::json!({ "subject": "Sample", "body": "A question for the sample" });
            let ticket = app.post("/support/tickets", Some(&owner.access_token), ticket).await;
            text = text.replace(TICKET_ID, json_of(ticket, StatusCode::CREATED).await["id"].as_str().unwrap());
        }
        if text.contains(INVOICE_ID) {
            text = text.replace(INVOICE_ID, &app.stored_invoice(&owner.tenant_id).await);
        }
        if text.contains(PAYMENT_METHOD_ID) {
            text = text.replace(PAYMENT_METHOD_ID, &api_tests::card(api_tests::GOOD_CARD).await);
        }
        if names_records {
            let org = app.organisation(&owner).await;
            let invitation_token = app.link_token(&org.person_email, "/accept-invitation").await;
            if ["POST /events/{event_id}/quote", "POST /events/{event_id}/unlock"].contains(&route.as_str()) {
                // An organisation on a plan that charges per event, and (to unlock) its event's quote.
                let admin = app.platform_admin().await;
                let body = serde_json::json!({ "name": "Per event", "price_minor": 0, "event_unlock": true,
                    "staff_day_minor": 200 });
                let plan = api_tests::plan(&app, &admin, body).await;
                let body = serde_json::json!({ "plan_id": plan["id"] });
                json_of(app.post("/billing/subscription", Some(&owner.access_token), body).await, StatusCode::OK).await;
                if text.contains(QUOTE_ID) {
                    let quote = app.post_empty(&format!("/events/{}/quote", org.event_id), &owner.access_token).await;
                    text = text.replace(QUOTE_ID, json_of(quote, StatusCode::CREATED).await["id"].as_str().unwrap());
                }
            }
            if text.contains(BROADCAST_ID) {
                let body = serde_json::json!({ "event_id": org.event_id, "message": "Doors open at 18:30" });
                let sent = app.post("/broadcasts", Some(&owner.access_token), body).await;
                text = text.replace(BROADCAST_ID, json_of(sent, StatusCode::ACCEPTED).await["id"].as_str().unwrap());
            }
            if text.contains(AUTO_FILL_ID) {
                let body = serde_json::json!({ "from": "2030-07-04", "to": "2030-07-06", "time_limit_ms": 200 });
                let started = app.post("/auto-fill", Some(&owner.access_token), body).await;
                let job = json_of(started, StatusCode::ACCEPTED).await;
                app.run_auto_fills().await;
                text = text.replace(AUTO_FILL_ID, job["job_id"].as_str().unwrap());
            }
            if text.contains(STAFF_TOKEN) {
                text = text.replace(STAFF_TOKEN, &app.staff_token(&org).await);
            }
            if [NOW_SHIFT_ID, ENDED_SHIFT_ID, ATTENDANCE_ID, PERIOD_START, STUB_ID].iter().any(|id| text.contains(id)) {
                let site = app.on_site(&owner.access_token, &org).await;
                text = text
                    .replace(NOW_SHIFT_ID, &site.now_shift_id)
                    .replace(ENDED_SHIFT_ID, &site.ended_shift_id)
                    .replace(ATTENDANCE_ID, &site.attendance_id)
                    .replace(STUB_ID, &site.stub_id)
                    .replace(PERIOD_START, &site.period_start);
            }
            text = text
                .replace(LOCATION_ID, &org.location_id)
                .replace(POSITION_ID, &org.position_id)
                .replace(UNIT_ID, &org.unit_id)
                .replace(PERSON_ID, &org.person_id)
                .replace(EVENT_ID, &org.event_id)
                .replace(SHIFT_ID, &org.shift_id)
                .replace(REQUEST_ID, &org.request_id)
                .replace(SWAP_ID, &org.swap_id)
                .replace(IMPORT_ID, &org.import_id)
                .replace(INVITATION_TOKEN, &invitation_token);
        }
        // The reset sample follows the link of a reset just asked for.
        let reset_token = if text.contains(RESET_TOKEN) {
            let forgot = app.post("/auth/forgot-password", None, serde_json::json!({ "email": owner.email })).await;
            json_of(forgot, StatusCode::ACCEPTED).await;
            app.link_token(&owner.email, "/reset-password").await
        } else {
            String::new()
        };
        // The login sample's token comes from a password login; codes from the app, or for the
        // enable sample from the secret of a setup just done.
        let mfa_token = if text.contains(MFA_TOKEN) {
            let waiting = json_of(app.login(&owner.email, &owner.password).await, StatusCode::OK).await;
            waiting["mfa_token"].as_str().unwrap().to_owned()
        } else {
            String::new()
        };
        let code = if !text.contains(TOTP_CODE) {
            String::new()
        } else if route == "POST /auth/2fa/enable" {
            let setup = app.post_empty("/auth/2fa/setup", &owner.access_token).await;
            let secret = json_of(setup, StatusCode::OK).await["secret"].as_str().unwrap().to_owned();
            api_tests::totp_code(&secret, chrono::Utc::now().timestamp())
        } else {
            app.fresh_code(&owner).await
        };
        let calendar_token = if text.contains(CALENDAR_TOKEN) {
            let url = json_of(app.get("/me/calendar-url", &owner.access_token).await, StatusCode::OK).await;
            url["url"].as_str().unwrap().split("/calendar/").nth(1).unwrap().to_owned()
        } else {
            String::new()
        };
        let text = text
            .replace(CALENDAR_TOKEN, &calendar_token)
            .replace(SIGNUP_TOKEN, &signup_token)
            .replace(RESET_TOKEN, &reset_token)
            .replace(MFA_TOKEN, &mfa_token)
            .replace(TOTP_CODE, &code)
            .replace(ACCESS_TOKEN, &owner.access_token)
            .replace(REFRESH_TOKEN, &owner.refresh_token)
            .replace(SESSION_ID, spare["session_id"].as_str().unwrap())
            .replace(EMAIL, &email);
        // A webhook delivery is signed over its body, now, with the stack's secret.
        let text = if text.contains(STRIPE_SIGNATURE) {
            let body = serde_json::from_str::<Value>(&text).unwrap()["body"].as_str().unwrap().to_owned();
            let secret = std::env::var("ROTA_STRIPE_WEBHOOK_SECRET").expect("the stack's webhook secret");
            let signature = api_tests::stripe_signature(&secret, chrono::Utc::now().timestamp(), body.as_bytes());
            text.replace(STRIPE_SIGNATURE, &signature)
        } else {
            text
        };
        let text = providers_signed(&app, text);
        let text = if text.contains(STAFF_PHONE) { phone_signed_in(&app, &owner, text).await } else { text };
        let text = if text.contains(SCIM_TOKEN) { scim_provisioned(&app, &owner, text).await } else { text };
        let text = if text.contains(PERMISSION_SET_ID) {
            let body = serde_json::json!({ "name": "Finance clerk", "permissions": ["payroll.read"] });
            let set = app.post("/permission-sets", Some(&owner.access_token), body).await;
            text.replace(PERMISSION_SET_ID, json_of(set, StatusCode::CREATED).await["id"].as_str().unwrap())
        } else {
            text
        };
        let text = if text.contains(DOMAIN_TO_PROVE) { domain_to_prove(&app, &owner, text).await } else { text };
        let text = if text.contains(SSO_DOMAIN) || text.contains(ID_TOKEN) {
            sso_signed_in(&app, &owner, text).await
        } else {
            text
        };
        assert!(!text.contains("REPLACE_WITH_"), "{name}: a placeholder this test does not know");

        let (status, _, body) = app.invoke(&serde_json::from_str(&text).unwrap()).await;
        let successes = documented_successes(&doc, method, template);
        assert!(successes.contains(&status), "{name} ({route}): {status} not in {successes:?}: {body}");
        covered.insert(route);
    }

    let mut missing = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            let route = format!("{} {path}", method.to_uppercase());
            if !covered.contains(&route) {
                missing.push(route);
            }
        }
    }
    assert!(missing.is_empty(), "add a sample event to events/ for {missing:?}");
}

/// The owner's SCIM token in the sample, and a user it provisioned where one is named.
async fn scim_provisioned(app: &api_tests::TestApp, owner: &api_tests::Account, text: String) -> String {
    let created = json_of(app.post_empty("/tenant/scim/token", &owner.access_token).await, StatusCode::CREATED).await;
    let token = created["token"].as_str().unwrap();
    let user_name = unique_email("scim");
    let mut text = text.replace(SCIM_TOKEN, token).replace(SCIM_USER_NAME, &user_name);
    if text.contains(SCIM_USER_ID) {
        let body = serde_json::json!({ "userName": user_name });
        let request = app.http.post(format!("{}/scim/v2/Users", app.address)).bearer_auth(token);
        let user = request.header("content-type", "application/scim+json").body(body.to_string()).send().await.unwrap();
        text = text.replace(SCIM_USER_ID, json_of(user, StatusCode::CREATED).await["id"].as_str().unwrap());
    }
    text
}

/// A sample delivery report, signed as its provider signs it (the stack's secrets, the app's URL).
fn providers_signed(app: &api_tests::TestApp, text: String) -> String {
    let body = || serde_json::from_str::<Value>(&text).unwrap()["body"].as_str().unwrap().to_owned();
    let secret = |name: &str| std::env::var(name).unwrap_or_else(|_| panic!("the stack's {name}"));
    if text.contains(TWILIO_SIGNATURE) {
        let form: Vec<(String, String)> =
            form_urlencoded::parse(body().as_bytes()).map(|(name, value)| (name.into(), value.into())).collect();
        let url = format!("{}/webhooks/sms-status", app.config.api_url.as_deref().unwrap());
        let signature = rota::callbacks::twilio_signature(&secret("ROTA_SMS_AUTH_TOKEN"), &url, &form);
        return text.replace(TWILIO_SIGNATURE, &signature);
    }
    if text.contains(WHATSAPP_SIGNATURE) {
        let signature = rota::callbacks::meta_signature(&secret("ROTA_WHATSAPP_APP_SECRET"), body().as_bytes());
        return text.replace(WHATSAPP_SIGNATURE, &signature);
    }
    text.replace(WHATSAPP_VERIFY_TOKEN, &secret("ROTA_WHATSAPP_VERIFY_TOKEN"))
}

/// The owner's organisation's own domain; for the callback sample, its provider (a local issuer)
/// connected, a staff member of the domain, a sign-in started for them and the provider's token.
async fn sso_signed_in(app: &api_tests::TestApp, owner: &api_tests::Account, text: String) -> String {
    let domain = format!("{}.example", owner.tenant_id.to_lowercase());
    if !text.contains(ID_TOKEN) {
        return text.replace(SSO_DOMAIN, &domain);
    }
    let issuer = api_tests::oidc::Issuer::start().await;
    let body = serde_json::json!({ "providers": [{ "kind": "okta", "issuer": issuer.url, "client_id": "rota-web",
        "allowed_domains": [domain] }] });
    let connected = app.request(reqwest::Method::PUT, "/tenant/sso", Some(&owner.access_token), Some(body)).await;
    json_of(connected, StatusCode::OK).await;
    app.prove_domain(&owner.access_token, &domain).await;
    let email = format!("sam@{domain}");
    app.member(&owner.access_token, serde_json::json!({ "email": email, "name": "Sam Staff", "role": "staff" })).await;
    let started = app.post("/auth/oidc/start", None, serde_json::json!({ "email": email })).await;
    let started = json_of(started, StatusCode::OK).await;
    let nonce = started["nonce"].as_str().unwrap();
    let id_token = issuer.sign(&issuer.claims("rota-web", &email, nonce), "rsa-1");
    text.replace(OIDC_PROVIDER_ID, started["provider_id"].as_str().unwrap())
        .replace(OIDC_NONCE, nonce)
        .replace(ID_TOKEN, &id_token)
}

/// The owner's organisation's own domain, named by a provider, its record published.
async fn domain_to_prove(app: &api_tests::TestApp, owner: &api_tests::Account, text: String) -> String {
    let domain = format!("{}.example", owner.tenant_id.to_lowercase());
    let body = serde_json::json!({ "providers": [{ "kind": "google", "issuer": "https://accounts.google.com",
        "client_id": "1234567890-abc.apps.googleusercontent.com", "allowed_domains": [domain] }] });
    let connected = app.request(reqwest::Method::PUT, "/tenant/sso", Some(&owner.access_token), Some(body)).await;
    let settings = json_of(connected, StatusCode::OK).await;
    let record = settings["domain_verification"].as_str().unwrap();
    api_tests::publish_txt(&format!("_rota-challenge.{domain}"), &[record]).await;
    text.replace(DOMAIN_TO_PROVE, &domain)
}

/// A staff member of the owner's organisation (which allows phone sign-in) with a phone of their
/// own, for the phone sign-in samples; the verify sample gets the code just sent to it.
async fn phone_signed_in(app: &api_tests::TestApp, owner: &api_tests::Account, text: String) -> String {
    let phone = format!("+4474008{:05}", ulid::Ulid::new().random() % 100_000);
    let settings = serde_json::json!({ "settings": { "phone_sign_in": true } });
    let allowed = app.request(reqwest::Method::PATCH, "/tenant", Some(&owner.access_token), Some(settings)).await;
    json_of(allowed, StatusCode::OK).await;
    let email = unique_email("sample-phone");
    let body = serde_json::json!({ "email": email, "name": "Sam Staff", "role": "staff", "phone": phone });
    app.member(&owner.access_token, body).await;
    if !text.contains(SIGN_IN_CODE) {
        return text.replace(STAFF_PHONE, &phone);
    }
    let requested = app.post("/auth/otp/request", None, serde_json::json!({ "phone": phone })).await;
    json_of(requested, StatusCode::ACCEPTED).await;
    let sent = app.messages_to(&phone).await;
    let code = &sent.last().expect("a code was sent")["body"].as_str().unwrap()[..6];
    text.replace(STAFF_PHONE, &phone).replace(SIGN_IN_CODE, code)
}
