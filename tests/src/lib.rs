//! The test harness: `spawn_app()` serves the merged router on a random port against the local
//! AWS stack (moto), and each test signs up its own fresh tenant, so tests run in parallel.
//! Run through `make test`, which starts the stack and sets the environment.

pub mod cost;
pub mod oidc;

use std::time::Duration;

use reqwest::{Method, Response, StatusCode};
use rota::store::{RoundTrips, Spent};
use rota::{AppState, Config};
use serde_json::{Value, json};
use utoipa::openapi::OpenApi;

pub struct TestApp {
    pub address: String,
    pub http: reqwest::Client,
    pub config: Config,
    pub doc: OpenApi,
    /// The router as served, for calls made without HTTP (Lambda events, see [`TestApp::invoke`]).
    pub router: axum::Router,
    /// The app's store, for setting up what no endpoint can (see [`TestApp::set`]).
    pub store: rota::store::Store,
    round_trips: RoundTrips,
    /// The notifier worker, on this app's own notification queue (see [`TestApp::deliver`]).
    pub notifier: notifier::Notifier,
    /// The import worker, on this app's own import queue (see [`TestApp::run_imports`]).
    pub importer: importer::Importer,
    pub auto_filler: autofill::AutoFiller,
    /// The app's state, for what only an operator does (see [`TestApp::platform_admin`]).
    pub state: AppState,
    pub sqs: aws_sdk_sqs::Client,
    pub s3: aws_sdk_s3::Client,
}

/// A tenant's owner, signed up and logged in.
#[derive(Debug, Clone)]
pub struct Account {
    pub email: String,
    pub password: String,
    pub tenant_id: String,
    pub person_id: String,
    pub session_id: String,
    pub access_token: String,
    pub refresh_token: String,
    /// The TOTP secret (base32) while two-factor authentication is on, so tests make codes.
    pub totp_secret: Option<String>,
    /// The recovery codes given when 2FA was turned on (used ones included).
    pub recovery_codes: Vec<String>,
}

impl Account {
    /// The `pk` of this account's device session item.
    pub fn session_key(&self) -> String {
        format!("T#{}#SESSION#{}", self.tenant_id, self.session_id)
    }

    /// The code of the TOTP step `time` (epoch seconds) falls in.
    pub fn code_at(&self, time: i64) -> String {
        totp_code(self.totp_secret.as_deref().expect("two-factor authentication is on"), time)
    }

    /// The code the authenticator app shows now.
    pub fn code(&self) -> String {
        self.code_at(chrono::Utc::now().timestamp())
    }
}

/// The TOTP code (RFC 6238: SHA1, 30 s, 6 digits) of `secret` (base32) at `time`, computed here
/// with totp-rs rather than by the code under test.
pub fn totp_code(secret: &str, time: i64) -> String {
    let secret = totp_rs::Secret::try_from_base32(secret).expect("a base32 secret");
    let totp = totp_rs::Builder::new().with_secret(secret).build().expect("a TOTP secret of 160 bits");
    totp.generate(time as u64).to_string()
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(local_config()).await
}

/// The settings `make test` provides (`infra/local.env`, the key pair in `.local/jwt/`): the same
/// ones the app reads, so tests can sign tokens with the app's own private key.
pub fn local_config() -> Config {
    Config::from_env().expect("run the tests with `make test`, which sets up the local stack")
}

/// As [`spawn_app`], with other settings (another key set, say). Each app gets a notification
/// queue (and import and auto-fill queues) of its own, so one test's worker never takes another test's mail, and, when `config`
/// names the stack's tables, tables of its own (one that names another app's tables, as
/// `..other.config.clone()` does, shares them).
pub async fn spawn_app_with(mut config: Config) -> TestApp {
    let endpoint = std::env::var("AWS_ENDPOINT_URL")
        .expect("AWS_ENDPOINT_URL is not set; run the tests with `make test`, which starts the local AWS stack");
    check_stack(&endpoint).await;
    let sdk = rota::aws::sdk_config().await;
    let stack = local_config();
    if config.table == stack.table {
        let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
        config.table = table_of_its_own(&dynamodb, &stack.table).await;
        if let Some(secrets) = stack.secrets_table.filter(|secrets| config.secrets_table.as_ref() == Some(secrets)) {
            config.secrets_table = Some(table_of_its_own(&dynamodb, &secrets).await);
        }
    }
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    // The app's own S3 client (path-style against moto), to look at what clients uploaded.
    let s3 = <aws_sdk_s3::Client as rota::aws::FromSdk>::from_sdk(&sdk);
    let queue = sqs.create_queue().queue_name(format!("test-{}", ulid::Ulid::new())).send().await.expect("a queue");
    config.notification_queue = queue.queue_url.expect("a queue URL");
    let imports =
        sqs.create_queue().queue_name(format!("imports-{}", ulid::Ulid::new())).send().await.expect("a queue");
    let import_queue = imports.queue_url.expect("a queue URL");
    config.import_queue = Some(import_queue.clone());
    let auto_fills =
        sqs.create_queue().queue_name(format!("auto-fill-{}", ulid::Ulid::new())).send().await.expect("a queue");
    let auto_fill_queue = auto_fills.queue_url.expect("a queue URL");
    config.auto_fill_queue = Some(auto_fill_queue.clone());
    // The app's own address is where the providers' delivery reports go.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind a port");
    let address = format!("http://{}", listener.local_addr().unwrap());
    config.api_url = Some(address.clone());
    let notifier = notifier::Notifier::new(&config).await.expect("the notifier's settings");
    let importer = importer::Importer::new(&config, import_queue, RoundTrips::recording()).await;
    let auto_filler = autofill::AutoFiller::new(&config, auto_fill_queue, RoundTrips::recording()).await;
    let round_trips = RoundTrips::recording();
    let state = AppState::with_round_trips(config.clone(), round_trips.clone()).await.expect("state");
    let store = state.store.clone();
    let app_state = state.clone();
    let (router, doc) = dev_server::app(state);
    tokio::spawn(axum::serve(listener, router.clone()).into_future());
    TestApp {
        address,
        http: reqwest::Client::new(),
        config,
        doc,
        router,
        store,
        round_trips,
        notifier,
        importer,
        auto_filler,
        sqs,
        s3,
        state: app_state,
    }
}

/// A new table made as `table` is (its keys and indexes: the local bootstrap made it from
/// template.yaml). An app's items apart from every other test's keep what reads across
/// organisations (the nightly sweep, the platform's lists) and moto's shared partitions as small
/// at the run's end as at its start.
async fn table_of_its_own(dynamodb: &aws_sdk_dynamodb::Client, table: &str) -> String {
    use aws_sdk_dynamodb::types::{BillingMode, GlobalSecondaryIndex};
    let described = dynamodb.describe_table().table_name(table).send().await.expect("the stack's table");
    let described = described.table.expect("a table description");
    let indexes: Vec<GlobalSecondaryIndex> = described
        .global_secondary_indexes()
        .iter()
        .map(|index| {
            GlobalSecondaryIndex::builder()
                .set_index_name(index.index_name.clone())
                .set_key_schema(index.key_schema.clone())
                .set_projection(index.projection.clone())
                .build()
                .expect("an index")
        })
        .collect();
    let name = format!("{table}-{}", ulid::Ulid::new());
    dynamodb
        .create_table()
        .table_name(&name)
        .set_attribute_definitions(described.attribute_definitions)
        .set_key_schema(described.key_schema)
        .set_global_secondary_indexes((!indexes.is_empty()).then_some(indexes))
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .expect("a table of the app's own");
    name
}

/// Panics with a clear message when nothing answers at the local AWS stack's address, rather than
/// letting every test fail later with an opaque 500.
pub async fn check_stack(endpoint: &str) {
    let address = endpoint.trim_start_matches("http://").trim_start_matches("https://").trim_end_matches('/');
    let connected = tokio::time::timeout(Duration::from_secs(2), tokio::net::TcpStream::connect(address)).await;
    if !matches!(connected, Ok(Ok(_))) {
        panic!("the local AWS stack is not reachable at {endpoint}; run the tests with `make test`");
    }
}

/// Each HTTP function's binary and the clients it declares (`CLIENTS`), in `dev_server::functions()`
/// order.
pub fn declared_clients() -> [(&'static str, rota::Clients); 7] {
    [
        ("auth", auth::CLIENTS),
        ("people", people::CLIENTS),
        ("schedule", schedule::CLIENTS),
        ("attendance", attendance::CLIENTS),
        ("payroll", payroll::CLIENTS),
        ("admin", admin::CLIENTS),
        ("billing", billing::CLIENTS),
    ]
}

pub fn unique_email(label: &str) -> String {
    format!("{label}-{}@example.com", ulid::Ulid::new().to_string().to_lowercase())
}

pub const PASSWORD: &str = "correct horse battery staple";

impl TestApp {
    pub async fn request(&self, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> Response {
        let mut request = self.http.request(method, format!("{}{path}", self.address));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.expect("the server answers")
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Response {
        self.request(Method::POST, path, token, Some(body)).await
    }

    pub async fn get(&self, path: &str, token: &str) -> Response {
        self.request(Method::GET, path, Some(token), None).await
    }

    pub async fn signup_response(&self, email: &str) -> Response {
        let body = json!({ "organisation_name": "Harbour Events", "name": "Olive Owner", "email": email, "password": PASSWORD });
        self.post("/auth/signup", None, body).await
    }

    /// Signs up a fresh organisation and returns its logged-in owner with two-factor
    /// authentication on, whose tokens passed it (owners must, for anything beyond their own
    /// profile): [`TestApp::signup_without_2fa`], then 2FA turned on through the API (setup, enable
    /// with a code) and the session refreshed, as a client does after enabling.
    pub async fn signup(&self) -> Account {
        let mut owner = self.signup_without_2fa().await;
        let token = owner.access_token.clone();
        self.enable_2fa(&mut owner, &token).await;
        let tokens = json_of(self.refresh(&owner.refresh_token).await, StatusCode::OK).await;
        owner.access_token = tokens["access_token"].as_str().unwrap().into();
        owner.refresh_token = tokens["refresh_token"].as_str().unwrap().into();
        owner
    }

    /// Turns 2FA on for `account` through the API, in the session of `access_token`: setup, then
    /// enable with the app's code. Keeps the secret and the recovery codes on `account`.
    pub async fn enable_2fa(&self, account: &mut Account, access_token: &str) {
        let setup = json_of(self.post_empty("/auth/2fa/setup", access_token).await, StatusCode::OK).await;
        let secret = setup["secret"].as_str().unwrap().to_owned();
        let code = totp_code(&secret, chrono::Utc::now().timestamp());
        let body = json!({ "code": code });
        let enabled = json_of(self.post("/auth/2fa/enable", Some(access_token), body).await, StatusCode::OK).await;
        account.recovery_codes =
            enabled["recovery_codes"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_owned()).collect();
        account.totp_secret = Some(secret);
    }

    /// Signs up a fresh organisation and returns its logged-in owner, without 2FA: the sign-up,
    /// the link from the email, and the verification that follows it.
    pub async fn signup_without_2fa(&self) -> Account {
        let email = unique_email("owner");
        json_of(self.signup_response(&email).await, StatusCode::ACCEPTED).await;
        let token = self.link_token(&email, "/verify-email").await;
        let body =
            json_of(self.post("/auth/verify-email", None, json!({ "token": token })).await, StatusCode::CREATED).await;
        Account {
            email,
            password: PASSWORD.into(),
            tenant_id: body["tenant"]["id"].as_str().unwrap().into(),
            person_id: body["me"]["id"].as_str().unwrap().into(),
            session_id: body["tokens"]["session_id"].as_str().unwrap().into(),
            access_token: body["tokens"]["access_token"].as_str().unwrap().into(),
            refresh_token: body["tokens"]["refresh_token"].as_str().unwrap().into(),
            totp_secret: None,
            recovery_codes: Vec::new(),
        }
    }

    /// `POST /auth/login` with email and password: one request, as it answers.
    pub async fn login(&self, email: &str, password: &str) -> Response {
        self.post("/auth/login", None, json!({ "email": email, "password": password })).await
    }

    /// `POST /auth/login/mfa`: one request, as it answers.
    pub async fn login_mfa(&self, mfa_token: &str, code: &str) -> Response {
        self.post("/auth/login/mfa", None, json!({ "mfa_token": mfa_token, "code": code })).await
    }

    /// A whole login, as a person does it: the password, and when 2FA is on a fresh code from the
    /// app (see [`TestApp::fresh_code`]). Returns the token pair.
    pub async fn login_tokens(&self, account: &Account) -> Value {
        let answer = json_of(self.login(&account.email, &account.password).await, StatusCode::OK).await;
        if answer["mfa_required"] != true {
            return answer;
        }
        let code = self.fresh_code(account).await;
        json_of(self.login_mfa(answer["mfa_token"].as_str().unwrap(), &code).await, StatusCode::OK).await
    }

    /// A code the server has not seen yet: the app's current code, after moving the account's
    /// newest accepted step back as if the next 30-second step had come (a code is good once,
    /// and a test that logs in again at once would otherwise wait for the clock).
    pub async fn fresh_code(&self, account: &Account) -> String {
        let (pk, sk) = (format!("T#{}", account.tenant_id), format!("MFA#{}", account.person_id));
        self.set_secret(&pk, &sk, &[("last_step", json!(0))]).await;
        account.code()
    }

    /// A POST without a body.
    pub async fn post_empty(&self, path: &str, token: &str) -> Response {
        self.request(Method::POST, path, Some(token), None).await
    }

    pub async fn refresh(&self, refresh_token: &str) -> Response {
        self.post("/auth/refresh", None, json!({ "refresh_token": refresh_token })).await
    }

    /// Sends an API Gateway (HTTP API v2) event through the router, as Lambda would.
    pub async fn invoke(&self, event: &Value) -> (StatusCode, http::HeaderMap, Value) {
        use tower::ServiceExt;
        let request = lambda_http::request::from_str(&event.to_string()).expect("a valid API Gateway v2 event");
        let response = self.router.clone().oneshot(request).await.unwrap();
        let (parts, body) = response.into_parts();
        let bytes = axum::body::to_bytes(body, 1 << 20).await.unwrap();
        (parts.status, parts.headers, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    /// The sequential DynamoDB round trips of the request that got this response (found by its
    /// `x-request-id`), as its request log line reported them. Panics when none was reported.
    pub fn round_trips_of(&self, response_headers: &http::HeaderMap) -> usize {
        self.spent_by(response_headers).round_trips
    }

    /// What the request that got this response spent: its round trips and DynamoDB units.
    pub fn spent_by(&self, response_headers: &http::HeaderMap) -> Spent {
        let request_id = response_headers
            .get("x-request-id")
            .and_then(|id| id.to_str().ok())
            .expect("every response carries x-request-id");
        self.round_trips.spent_by(request_id).unwrap_or_else(|| panic!("nothing reported for {request_id}"))
    }
}

/// An `mfa_token` with its secret changed: the tenant and person ids it carries are no secret.
pub fn forged_mfa_token(token: &str) -> String {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut bytes = URL_SAFE_NO_PAD.decode(token).expect("an mfa_token");
    for byte in &mut bytes[32..] {
        *byte ^= 0x5a;
    }
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Asserts the status and returns the JSON body.
pub async fn json_of(response: Response, status: StatusCode) -> Value {
    let actual = response.status();
    let text = response.text().await.unwrap_or_default();
    assert_eq!(actual, status, "unexpected status; body: {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// Asserts an RFC 9457 problem with this status and code, and returns it.
pub async fn problem_of(response: Response, status: StatusCode, code: &str) -> Value {
    let content_type = response.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned());
    let problem = json_of(response, status).await;
    assert_eq!(content_type.as_deref(), Some("application/problem+json"), "{problem}");
    assert_eq!(problem["code"], code, "{problem}");
    assert_eq!(problem["status"], status.as_u16(), "{problem}");
    assert!(problem["title"].is_string() && problem["detail"].is_string() && problem["type"].is_string(), "{problem}");
    problem
}

impl TestApp {
    /// Moves the session's latest refresh-token rotation `secs` into the past, as if that much
    /// time had gone by (no sleeping through the grace).
    pub async fn age_latest_rotation(&self, account: &Account, secs: i64) {
        use aws_sdk_dynamodb::types::AttributeValue;
        let (client, table) = self.store.raw_secrets();
        let at = chrono::Utc::now().timestamp() - secs;
        client
            .update_item()
            .table_name(table)
            .key("pk", AttributeValue::S(account.session_key()))
            .key("sk", AttributeValue::S("SESSION".into()))
            .update_expression("SET rotated[0].#at = :at")
            .expression_attribute_names("#at", "at")
            .expression_attribute_values(":at", AttributeValue::N(at.to_string()))
            .send()
            .await
            .expect("the session has rotated");
    }

    /// Deletes every item of a tenant's own partition (`T#{tenant_id}`: its people, shifts,
    /// imports…), for tests that store thousands: the local DynamoDB answers a Query by scanning
    /// its table, so leaving them would slow every test after.
    pub async fn forget_partition(&self, tenant_id: &str) {
        use aws_sdk_dynamodb::types::{AttributeValue, DeleteRequest, WriteRequest};
        let (client, table) = self.store.raw();
        let mut keys = Vec::new();
        let mut start = None;
        loop {
            let page = client
                .query()
                .table_name(table)
                .key_condition_expression("pk = :pk")
                .expression_attribute_values(":pk", AttributeValue::S(format!("T#{tenant_id}")))
                .projection_expression("pk, sk")
                .set_exclusive_start_key(start)
                .send()
                .await
                .expect("the partition reads");
            keys.extend(page.items.unwrap_or_default());
            match page.last_evaluated_key {
                Some(key) => start = Some(key),
                None => break,
            }
        }
        for batch in keys.chunks(25) {
            let deletes: Vec<WriteRequest> = batch
                .iter()
                .map(|key| {
                    let delete = DeleteRequest::builder().set_key(Some(key.clone())).build().unwrap();
                    WriteRequest::builder().delete_request(delete).build()
                })
                .collect();
            let mut requests = Some(deletes);
            while let Some(pending) = requests.take().filter(|pending| !pending.is_empty()) {
                let output = client.batch_write_item().request_items(table, pending).send().await.expect("deletes");
                requests = output.unprocessed_items.and_then(|mut rest| rest.remove(table));
            }
        }
    }

    /// Sets attributes of a stored item of the main table directly, as an operator or a later
    /// feature would.
    pub async fn set(&self, pk: &str, sk: &str, attributes: &[(&str, Value)]) {
        let (client, table) = self.store.raw();
        set_in(client, table, pk, sk, attributes).await;
    }

    /// [`TestApp::set`] for an item of the secrets table (a session, a 2FA enrolment).
    pub async fn set_secret(&self, pk: &str, sk: &str, attributes: &[(&str, Value)]) {
        let (client, table) = self.store.raw_secrets();
        set_in(client, table, pk, sk, attributes).await;
    }
}

async fn set_in(client: &aws_sdk_dynamodb::Client, table: &str, pk: &str, sk: &str, attributes: &[(&str, Value)]) {
    use aws_sdk_dynamodb::types::AttributeValue;
    let mut update = client
        .update_item()
        .table_name(table)
        .key("pk", AttributeValue::S(pk.into()))
        .key("sk", AttributeValue::S(sk.into()))
        .condition_expression("attribute_exists(pk)");
    let mut sets = Vec::new();
    for (i, (name, value)) in attributes.iter().enumerate() {
        sets.push(format!("#n{i} = :v{i}"));
        let value = serde_dynamo::to_attribute_value(value).unwrap();
        update = update
            .expression_attribute_names(format!("#n{i}"), *name)
            .expression_attribute_values(format!(":v{i}"), value);
    }
    update.update_expression(format!("SET {}", sets.join(", "))).send().await.expect("the item exists");
}

impl TestApp {
    /// An invoice of the organisation's, stored as the invoice job stores one (outside the year's
    /// numbering: fixtures must not use up numbers); answers its id.
    pub async fn stored_invoice(&self, tenant_id: &str) -> String {
        let id = format!("RT-TEST-{}", ulid::Ulid::new());
        let invoice = rota::store::invoices::Invoice {
            id: id.clone(),
            tenant_id: tenant_id.to_owned(),
            seller: rota::store::invoices::Party::named("Rota"),
            buyer: rota::store::invoices::Party::named("Fixture Ltd"),
            period_start: "2027-01-01T00:00:00Z".into(),
            period_end: "2027-02-01T00:00:00Z".into(),
            issued_at: "2027-02-01T02:00:00Z".into(),
            currency: "EUR".into(),
            lines: vec![rota::store::invoices::InvoiceLine {
                description: "Team plan".into(),
                payment_id: "in_fixture".into(),
                amount_minor: 1200,
            }],
            tax_rate_bp: 2000,
            net_minor: 1000,
            tax_minor: 200,
            total_minor: 1200,
        };
        let mut item: std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue> =
            serde_dynamo::to_item(&invoice).unwrap();
        item.insert("pk".into(), aws_sdk_dynamodb::types::AttributeValue::S(format!("T#{tenant_id}")));
        item.insert("sk".into(), aws_sdk_dynamodb::types::AttributeValue::S(format!("INVOICE#{id}")));
        let (client, table) = self.store.raw();
        client.put_item().table_name(table).set_item(Some(item)).send().await.expect("the invoice is stored");
        id
    }
}

/// Mail, read back from the local SES as a user would read their inbox.
impl TestApp {
    /// Runs the import worker on everything queued on this app's import queue, as its Lambda
    /// trigger would; returns how many messages it handled.
    pub async fn run_imports(&self) -> usize {
        importer::poll(&self.importer, 0).await.expect("the import queue answers")
    }

    /// Runs the auto-fill solver on every job queued on this app's auto-fill queue, as its Lambda
    /// trigger would; returns how many it handled.
    pub async fn run_auto_fills(&self) -> usize {
        autofill::poll(&self.auto_filler, 0).await.expect("the auto-fill queue answers")
    }

    /// The nightly worker, on a nightly queue of its own (its notifications go to this app's).
    pub async fn nightly(&self) -> nightly::Nightly {
        let name = format!("nightly-{}", ulid::Ulid::new());
        let queue = self.sqs.create_queue().queue_name(name).send().await.expect("the queue is created");
        nightly::Nightly::new(&self.config, queue.queue_url.expect("a queue has a URL")).await
    }

    /// Runs the notifier on everything queued so far, as its Lambda trigger would; returns how
    /// many messages it handled.
    pub async fn deliver(&self) -> usize {
        notifier::poll(&self.notifier, &self.sqs, &self.config.notification_queue, 0).await.expect("the queue answers")
    }

    /// Every message sent to `to`, oldest first, as `{subject, body}` (from the local stack's
    /// mailbox, `infra/local_aws.py`), once the notifier has delivered what is queued.
    pub async fn mail_to(&self, to: &str) -> Vec<Value> {
        self.deliver().await;
        let endpoint = std::env::var("AWS_ENDPOINT_URL").expect("make test sets AWS_ENDPOINT_URL");
        let mailbox = self.http.get(format!("{endpoint}/rota/mail")).query(&[("to", to)]).send().await.unwrap();
        mailbox.json().await.expect("the local stack's mailbox answers a JSON list")
    }

    /// Every SMS and WhatsApp message sent to the phone `to` (E.164), oldest first, as
    /// `{channel, id, to, body, template, status_callback}` (from the messaging fake,
    /// `infra/fake_messaging.py`), once the notifier has delivered what is queued.
    pub async fn messages_to(&self, to: &str) -> Vec<Value> {
        self.deliver().await;
        let api = std::env::var("ROTA_SMS_API").expect("run with `infra/stack run` (the messaging fake)");
        let response = self.http.get(format!("{api}/_fake/messages")).query(&[("to", to)]).send().await.unwrap();
        response.json().await.expect("the messaging fake answers a JSON list")
    }

    /// Proves `domain` the organisation's, whose owner (or IT admin) holds `token`: the settings'
    /// `domain_verification` published as the TXT record of `_rota-challenge.{domain}` in the
    /// local stack's DNS, and `POST /tenant/sso/domains/{domain}/verify`. The settings after.
    pub async fn prove_domain(&self, token: &str, domain: &str) -> Value {
        let settings = json_of(self.get("/tenant/sso", token).await, StatusCode::OK).await;
        let record = settings["domain_verification"].as_str().expect("settings with providers name their record");
        publish_txt(&format!("_rota-challenge.{domain}"), &[record]).await;
        let path = format!("/tenant/sso/domains/{domain}/verify");
        json_of(self.post_empty(&path, token).await, StatusCode::OK).await
    }

    /// The `token`s of every link to `{ROTA_APP_URL}{path}?token=…` mailed to `to`, oldest first.
    pub async fn link_tokens(&self, to: &str, path: &str) -> Vec<String> {
        let prefix = format!("{}{path}?token=", self.config.app_url);
        let mail = self.mail_to(to).await;
        let bodies = mail.iter().filter_map(|m| m["body"].as_str()).filter(|body| body.contains(&prefix));
        bodies
            .map(|body| {
                let token = &body[body.find(&prefix).unwrap() + prefix.len()..];
                // The token ends where URL-safe characters do (whitespace in text, a quote in HTML).
                token.split(|c: char| !(c.is_ascii_alphanumeric() || "-_.".contains(c))).next().unwrap().to_owned()
            })
            .collect()
    }

    /// The `token` of the newest link to `{ROTA_APP_URL}{path}?token=…` mailed to `to`.
    pub async fn link_token(&self, to: &str, path: &str) -> String {
        let tokens = self.link_tokens(to, path).await;
        tokens.last().unwrap_or_else(|| panic!("no mail to {to} with a {path} link")).clone()
    }
}

impl TestApp {
    /// A platform admin's access token, as an operator makes one: the ops command's invitation
    /// (`admin::create_platform_admin`), accepted, then 2FA turned on as they must.
    pub async fn platform_admin(&self) -> String {
        let email = unique_email("platform");
        let link = admin::create_platform_admin(&self.state, &email).await.expect("a platform admin is invited");
        let token = link.rsplit_once("token=").unwrap().1;
        let body = json!({ "token": token, "password": PASSWORD, "token_delivery": "body" });
        let accepted = json_of(self.post("/auth/invitations/accept", None, body).await, StatusCode::CREATED).await;
        let mut account = Account {
            email,
            password: PASSWORD.into(),
            tenant_id: rota::store::platform::PLATFORM_TENANT.into(),
            person_id: accepted["me"]["id"].as_str().unwrap().into(),
            session_id: accepted["tokens"]["session_id"].as_str().unwrap().into(),
            access_token: accepted["tokens"]["access_token"].as_str().unwrap().into(),
            refresh_token: accepted["tokens"]["refresh_token"].as_str().unwrap().into(),
            totp_secret: None,
            recovery_codes: Vec::new(),
        };
        let access_token = account.access_token.clone();
        self.enable_2fa(&mut account, &access_token).await;
        let tokens = json_of(self.refresh(&account.refresh_token).await, StatusCode::OK).await;
        tokens["access_token"].as_str().unwrap().to_owned()
    }
}

/// One of each record an organisation keeps, made through the API by its owner: what tests
/// need an id of.
#[derive(Debug, Clone)]
/// A member of a crew written straight into the table ([`TestApp::crew_on_now`]).
pub struct CrewMember {
    pub id: String,
    pub email: String,
    pub phone: Option<String>,
}

pub struct Organisation {
    pub location_id: String,
    pub position_id: String,
    pub unit_id: String,
    /// An invited staff member (not the owner: changing them is fair game).
    pub person_id: String,
    pub person_email: String,
    /// An event at the location, and a published shift of it (2030) the staff member is on.
    pub event_id: String,
    pub shift_id: String,
    pub assignment_id: String,
    /// The owner's own time off (January 2031), waiting for a decision.
    pub request_id: String,
    /// A swap of the staff member's assignment the owner arranged, offered to the owner: open.
    pub swap_id: String,
    /// An import of people waiting for its file.
    pub import_id: String,
    /// An auto-fill job of a week before the festival with no open place: solved (nothing to
    /// propose, so applying it changes none of the fixture) and not applied.
    pub auto_fill_id: String,
}

/// What attendance and payroll need of an organisation ([`TestApp::on_site`]): shifts on now
/// with its owner on them, a record, and a closed pay period.
pub struct OnSite {
    /// A published shift at the location that started 5 minutes ago, with the owner on it, not
    /// checked in (checking in is open).
    pub now_shift_id: String,
    /// A shift that ended 10 minutes ago (its window still open), which the owner checked in to
    /// with a position coarser than the geofence: checking out is open, and the owner's record
    /// (`attendance_id`) waits for review.
    pub ended_shift_id: String,
    pub attendance_id: String,
    /// A closed weekly pay period (a Monday of 2020–2025, one of its own per organisation fixture
    /// of the process) in which the owner worked a morning: its first day, and the owner's stub.
    pub period_start: String,
    pub stub_id: String,
}

/// Each organisation fixture of the process closes a week of its own: an owner making many (the
/// tenant matrix) would otherwise place themself on one week's shift twice.
static PAY_WEEKS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// A staff member holding the organisation's position, logged in: their id, email and token.
pub struct Worker {
    pub id: String,
    pub email: String,
    pub token: String,
}

/// Invites a staff member into `org`'s position and accepts the invitation. Make workers one at a
/// time: the invitation is read from the app's one mailbox.
pub async fn worker(app: &TestApp, owner: &Account, org: &Organisation, name: &str) -> Worker {
    let account = member(app, owner, name, "staff", &[&org.position_id]).await;
    Worker { id: account.person_id, email: account.email, token: account.access_token }
}

/// Invites `name` as `role` holding `position_ids` (as `owner`), and accepts the invitation for
/// them: their account, logged in without 2FA.
pub async fn member(app: &TestApp, owner: &Account, name: &str, role: &str, position_ids: &[&str]) -> Account {
    let email = unique_email(role);
    let body = json!({ "email": email, "name": name, "role": role, "position_ids": position_ids });
    let created = json_of(app.post("/people", Some(&owner.access_token), body).await, StatusCode::CREATED).await;
    let invitation = app.link_token(&email, "/accept-invitation").await;
    let body = json!({ "token": invitation, "password": PASSWORD, "token_delivery": "body" });
    let accepted = json_of(app.post("/auth/invitations/accept", None, body).await, StatusCode::CREATED).await;
    let tokens = &accepted["tokens"];
    Account {
        email,
        password: PASSWORD.into(),
        tenant_id: owner.tenant_id.clone(),
        person_id: created["id"].as_str().unwrap().into(),
        session_id: tokens["session_id"].as_str().unwrap().into(),
        access_token: tokens["access_token"].as_str().unwrap().into(),
        refresh_token: tokens["refresh_token"].as_str().unwrap().into(),
        totp_secret: None,
        recovery_codes: Vec::new(),
    }
}

/// A new plan made by the platform admin of `admin_token`: a monthly EUR plan with no limits and
/// no trial, with `fields` over those. Never make one the default with limits in a shared stack:
/// every test's sign-ups would start on it.
pub async fn plan(app: &TestApp, admin_token: &str, fields: Value) -> Value {
    let mut body = json!({ "name": "Test plan", "price_minor": 1000, "currency": "EUR", "interval": "month" });
    body.as_object_mut().unwrap().extend(fields.as_object().unwrap().clone());
    json_of(app.post("/admin/plans", Some(admin_token), body).await, StatusCode::CREATED).await
}

/// What Stripe.js hands a frontend for a typed card: a payment method (`pm_…`) of no customer
/// yet, made at localstripe.
pub async fn card(number: &str) -> String {
    let settings = rota::payments::StripeSettings::from_env().expect("run with `infra/stack run` (localstripe)");
    let form = [
        ("type", "card"),
        ("card[number]", number),
        ("card[exp_month]", "12"),
        ("card[exp_year]", "2030"),
        ("card[cvc]", "123"),
    ];
    let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(form).finish();
    let response = reqwest::Client::new()
        .post(format!("{}/v1/payment_methods", settings.api))
        .bearer_auth(settings.secret_key.expose())
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .expect("localstripe answers");
    json_of(response, StatusCode::OK).await["id"].as_str().unwrap().to_owned()
}

/// A `Stripe-Signature` header for `payload` signed at `at` (Unix seconds) under `secret`, as the
/// provider signs a webhook delivery: hex HMAC-SHA256 of `"{at}.{payload}"`.
pub fn stripe_signature(secret: &str, at: i64, payload: &[u8]) -> String {
    use aws_lc_rs::hmac;
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    let mut signed = format!("{at}.").into_bytes();
    signed.extend_from_slice(payload);
    let hex: String = hmac::sign(&key, &signed).as_ref().iter().map(|byte| format!("{byte:02x}")).collect();
    format!("t={at},v1={hex}")
}

/// Stripe's test card that always succeeds.
pub const GOOD_CARD: &str = "4242424242424242";
/// A test card that attaches but whose every charge is declined (`card_declined`).
pub const DECLINED_CARD: &str = "4000000000000341";
/// A test card whose bank asks the customer to confirm each payment (3-D Secure).
pub const CONFIRMED_CARD: &str = "4000002760003184";

/// A credit pack made by the platform admin of `admin_token`: 1,000 credits for EUR 25.00, with
/// `fields` over those.
pub async fn credit_pack(app: &TestApp, admin_token: &str, fields: Value) -> Value {
    let mut body = json!({ "name": "1,000 messages", "credits": 1000, "price_minor": 2500, "currency": "EUR" });
    body.as_object_mut().unwrap().extend(fields.as_object().unwrap().clone());
    json_of(app.post("/admin/credit-packs", Some(admin_token), body).await, StatusCode::CREATED).await
}

/// A point `metres` north of `(lat, lng)`, on the sphere the geofence is measured on.
pub fn north_of(lat: f64, lng: f64, metres: f64) -> (f64, f64) {
    (lat + (metres / 6_371_008.8_f64).to_degrees(), lng)
}

/// Publishes `texts` as the TXT records of `name` in the local stack's DNS (ROTA_DNS_API, the
/// fake in infra/fake_dns.py), in place of any it had.
pub async fn publish_txt(name: &str, texts: &[&str]) {
    let api = std::env::var("ROTA_DNS_API").expect("run with `infra/stack run` (the DNS fake)");
    let response = reqwest::Client::new()
        .put(format!("{api}/_fake/dns/{name}"))
        .json(&json!({ "txt": texts }))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "the DNS fake took the records: {}", response.status());
}

/// Makes the local stack's DNS answer the next `times` lookups of `name` with `status` (an HTTP
/// status, or `"servfail"`).
pub async fn fail_dns(name: &str, status: Value, times: u32) {
    let api = std::env::var("ROTA_DNS_API").expect("run with `infra/stack run` (the DNS fake)");
    let body = json!({ "status": status, "times": times });
    let response =
        reqwest::Client::new().post(format!("{api}/_fake/dns/{name}/fail")).json(&body).send().await.unwrap();
    assert!(response.status().is_success(), "the DNS fake took the failure: {}", response.status());
}

/// The fixture location's point (Riverside Hall; geofence 150 m).
pub const HALL: (f64, f64) = (53.8, -1.55);

impl TestApp {
    pub async fn organisation(&self, owner: &Account) -> Organisation {
        self.organisation_of(&owner.access_token).await
    }

    /// As [`TestApp::organisation`], made with an owner's (or admin's) access token.
    /// The organisation's staff member, logged in through their invitation: their access token.
    /// A person the owner (`owner_token`) invites with `person` (`email`, `name`, `role`, …), who
    /// accepts with [`PASSWORD`]: the person as created.
    pub async fn member(&self, owner_token: &str, person: Value) -> Value {
        let email = person["email"].as_str().expect("the person's email").to_owned();
        let created = json_of(self.post("/people", Some(owner_token), person).await, StatusCode::CREATED).await;
        let token = self.link_token(&email, "/accept-invitation").await;
        let body = json!({ "token": token, "password": PASSWORD, "token_delivery": "body" });
        json_of(self.post("/auth/invitations/accept", None, body).await, StatusCode::CREATED).await;
        created
    }

    pub async fn staff_token(&self, org: &Organisation) -> String {
        let token = self.link_token(&org.person_email, "/accept-invitation").await;
        let body = json!({ "token": token, "password": PASSWORD, "token_delivery": "body" });
        let accepted = json_of(self.post("/auth/invitations/accept", None, body).await, StatusCode::CREATED).await;
        accepted["tokens"]["access_token"].as_str().unwrap().to_owned()
    }

    /// A published shift of `org`'s event, from an hour ago to three hours from now, with `count`
    /// active staff accepted on it, written straight into the table (25 items a request):
    /// hundreds of people on site at once. Every tenth has a phone of their own.
    pub async fn crew_on_now(&self, token: &str, org: &Organisation, count: usize) -> Vec<CrewMember> {
        use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
        use rota::store::people::{Person, PersonStatus};
        use rota::store::schedule::{Assignment, AssignmentStatus, Shift};
        let now = chrono::Utc::now();
        let times = ((now - chrono::Duration::hours(1)).to_rfc3339(), (now + chrono::Duration::hours(3)).to_rfc3339());
        let body = json!({ "location_id": org.location_id, "position_id": org.position_id, "event_id": org.event_id,
            "start": times.0, "end": times.1, "headcount": 3 });
        let created = json_of(self.post("/shifts", Some(token), body).await, StatusCode::CREATED).await;
        let shift_id = created["id"].as_str().unwrap();
        json_of(self.post_empty(&format!("/shifts/{shift_id}/publish"), token).await, StatusCode::OK).await;
        let tenant_id = created["tenant_id"].as_str().unwrap();
        let shift: Shift = self.store.entity(tenant_id, shift_id).await.unwrap().unwrap();
        let now = rota::clock::iso(now);
        let run = ulid::Ulid::new().random() % 10_000;
        let mut crew = Vec::new();
        let mut writes = Vec::new();
        for n in 0..count {
            let id = ulid::Ulid::new().to_string();
            let email = format!("crew-{run}-{n}@example.com");
            let name = format!("Crew {n:03}");
            let mut person = Person::invited(
                id.clone(),
                shift.tenant_id.clone(),
                email.clone(),
                name,
                rota::auth::Role::Staff,
                &now,
            );
            person.status = PersonStatus::Active;
            person.phone = (n % 10 == 0).then(|| format!("+44770{run:04}{n:04}"));
            let assignment = Assignment::new(&shift, &id, AssignmentStatus::Accepted, ("seed", false), &now);
            for item in [self.store.entity_item(&person).unwrap(), self.store.entity_item(&assignment).unwrap()] {
                let put = PutRequest::builder().set_item(Some(item)).build().unwrap();
                writes.push(WriteRequest::builder().put_request(put).build());
            }
            crew.push(CrewMember { id, email, phone: person.phone });
        }
        let (client, table) = self.store.raw();
        for batch in writes.chunks(25) {
            client.batch_write_item().request_items(table, batch.to_vec()).send().await.unwrap();
        }
        crew
    }

    /// Forgets a rate limit's count for `subject` this window (its counter, straight in the table).
    pub async fn forget_rate_limit(&self, name: &str, subject: &str) {
        let (client, table) = self.store.raw();
        let key =
            [("pk", rota::store::keys::rate_limit(name, subject)), ("sk", rota::store::keys::RATE_LIMIT_SK.to_owned())]
                .map(|(name, value)| (name.to_owned(), aws_sdk_dynamodb::types::AttributeValue::S(value)));
        client.delete_item().table_name(table).set_key(Some(key.into_iter().collect())).send().await.unwrap();
    }

    pub async fn organisation_of(&self, access_token: &str) -> Organisation {
        let token = Some(access_token);
        let created = |path: &'static str, body: Value| async move {
            json_of(self.post(path, token, body).await, StatusCode::CREATED).await["id"].as_str().unwrap().to_owned()
        };
        let location_id = created(
            "/locations",
            json!({ "name": "Riverside Hall", "lat": 53.8, "lng": -1.55, "radius_m": 150, "time_zone": "Europe/London" }),
        )
        .await;
        let position_id = created("/positions", json!({ "name": "Bartender" })).await;
        let unit_id = created("/units", json!({ "name": "Bar team" })).await;
        let person_email = unique_email("staff");
        let person_id = created(
            "/people",
            json!({ "email": person_email, "name": "Sam Staff", "role": "staff", "position_ids": [position_id], "unit_id": unit_id }),
        )
        .await;
        let event_id = created(
            "/events",
            json!({ "title": "Harbour Festival", "location_id": location_id, "starts_on": "2030-07-04", "ends_on": "2030-07-06" }),
        )
        .await;
        // A published shift far ahead (no cut-off is near), with the staff member on it.
        let shift_id = created(
            "/shifts",
            json!({ "location_id": location_id, "position_id": position_id, "event_id": event_id,
                    "start": "2030-07-04T08:00:00Z", "end": "2030-07-04T16:00:00Z", "headcount": 3, "break_minutes": 30 }),
        )
        .await;
        json_of(self.post_empty(&format!("/shifts/{shift_id}/publish"), access_token).await, StatusCode::OK).await;
        let assigned =
            self.post(&format!("/shifts/{shift_id}/assignments"), token, json!({ "person_ids": [person_id] })).await;
        let assignment_id =
            json_of(assigned, StatusCode::CREATED).await["assignments"][0]["id"].as_str().unwrap().to_owned();
        // The owner holds the position too, so they can claim a place like anyone on the team.
        let owner = json_of(self.get("/me", access_token).await, StatusCode::OK).await;
        let path = format!("/people/{}", owner["id"].as_str().unwrap());
        let hold = self.request(Method::PATCH, &path, token, Some(json!({ "position_ids": [position_id] }))).await;
        json_of(hold, StatusCode::OK).await;
        let request_id =
            created("/requests", json!({ "kind": "time_off", "from": "2031-01-06", "to": "2031-01-07" })).await;
        let swap_id = created(
            "/requests",
            json!({ "kind": "swap", "assignment_id": assignment_id, "to_person_id": owner["id"] }),
        )
        .await;
        let import_id = self
            .import_upload(access_token, "csv", format!("name,email\nKim,{}\n", unique_email("kim")).into_bytes())
            .await;
        // The fixture's invitation is not the test's to count: an owner making many fixtures (the
        // tenant matrix) would reach the organisation's invitations an hour.
        let tenant_id = owner["tenant_id"].as_str().unwrap();
        self.forget_rate_limit(rota::auth::rate_limit::INVITES_PER_TENANT.name, tenant_id).await;
        let auto_fill_id = self.solved_auto_fill(tenant_id, owner["id"].as_str().unwrap()).await;
        Organisation {
            auto_fill_id,
            location_id,
            position_id,
            unit_id,
            person_id,
            person_email,
            event_id,
            shift_id,
            assignment_id,
            request_id,
            swap_id,
            import_id,
        }
    }

    /// An auto-fill job of a June week, as `POST /auto-fill` stores it, run by the worker straight
    /// away (nothing is queued, so no test's worker meets it).
    async fn solved_auto_fill(&self, tenant_id: &str, person_id: &str) -> String {
        use rota::store::auto_fill::{AutoFill, AutoFillRequest, AutoFillStatus};
        let now = rota::clock::iso(chrono::Utc::now());
        let job = AutoFill {
            id: ulid::Ulid::new().to_string(),
            tenant_id: tenant_id.to_owned(),
            status: AutoFillStatus::Queued,
            request: AutoFillRequest {
                from: "2030-06-03".into(),
                to: "2030-06-09".into(),
                location_ids: Vec::new(),
                event_id: None,
                position_ids: Vec::new(),
                time_limit_ms: 100,
                weights: Default::default(),
            },
            requested_by: person_id.to_owned(),
            scope: Default::default(),
            best_score: None,
            summary: None,
            error: None,
            applied_at: None,
            applied_by: None,
            created_at: now.clone(),
            version: 1,
            updated_at: now,
        };
        let put = self.store.entity_put(&job, None).unwrap();
        rota::records::committed(self.store.transact(vec![put]).await.unwrap()).unwrap();
        // Boxed: the worker's future is large, and the fixture is awaited inside large test futures.
        Box::pin(autofill::run(&self.auto_filler, tenant_id, &job.id)).await.expect("the fixture's auto-fill runs");
        job.id
    }

    /// A new import of people from a `format` file, with `file` uploaded to it as a browser would;
    /// its id.
    pub async fn import_upload(&self, access_token: &str, format: &str, file: Vec<u8>) -> String {
        self.import_upload_of(access_token, "people", format, file).await
    }

    /// As [`TestApp::import_upload`], of `kind` (`people` or `shifts`).
    pub async fn import_upload_of(&self, access_token: &str, kind: &str, format: &str, file: Vec<u8>) -> String {
        let body = json!({ "kind": kind, "format": format, "filename": format!("{kind}.{format}"), "content_length": file.len() });
        self.import_upload_with(access_token, body, file).await
    }

    /// As [`TestApp::import_upload`], asked for with `body` (`POST /imports`).
    pub async fn import_upload_with(&self, access_token: &str, body: Value, file: Vec<u8>) -> String {
        let created = json_of(self.post("/imports", Some(access_token), body).await, StatusCode::CREATED).await;
        let mut put = self.http.put(created["upload_url"].as_str().unwrap()).body(file);
        for (name, value) in created["headers"].as_object().unwrap() {
            if name != "host" {
                put = put.header(name, value.as_str().unwrap());
            }
        }
        let put = put.send().await.unwrap();
        assert!(put.status().is_success(), "{}: {}", put.status(), put.text().await.unwrap());
        created["import_id"].as_str().unwrap().to_owned()
    }

    /// Shifts at `org`'s location on now with its owner (of `access_token`) on them, the owner's
    /// record waiting for review, and a closed pay period with the owner's stub.
    pub async fn on_site(&self, access_token: &str, org: &Organisation) -> OnSite {
        let token = Some(access_token);
        let (location_id, position_id) = (&org.location_id, &org.position_id);
        let owner = json_of(self.get("/me", access_token).await, StatusCode::OK).await;
        let owner_id = owner["id"].as_str().unwrap();
        self.cancel_shifts_around_now(access_token).await;
        let now = chrono::Utc::now();
        let minutes = |m: i64| (now + chrono::Duration::minutes(m)).to_rfc3339();
        let now_shift_id = self.published_shift(token, location_id, position_id, (minutes(-5), minutes(8 * 60))).await;
        // The owner on both, placed with `force`: an operation of the tenant matrix may have set
        // the owner's weekly availability, and ten minutes of rest between the two shifts is a
        // warning only.
        self.on_shift(token, &now_shift_id, owner_id, true).await;
        let ended_shift_id = self.published_shift(token, location_id, position_id, (minutes(-70), minutes(-10))).await;
        let attendance_id = self.on_shift(token, &ended_shift_id, owner_id, true).await;
        let vague = json!({ "shift_id": ended_shift_id, "lat": HALL.0, "lng": HALL.1, "accuracy_m": 400.0 });
        json_of(self.post("/attendance/check-in", token, vague).await, StatusCode::CREATED).await;
        // The fixture's check-in is not the test's to count: an owner making many fixtures (the
        // tenant matrix) would reach the limit of check-ins a minute.
        let subject = rota::auth::rate_limit::check_subject(owner["tenant_id"].as_str().unwrap(), owner_id);
        self.forget_rate_limit(rota::auth::rate_limit::CHECKS_PER_PERSON.name, &subject).await;
        let week = PAY_WEEKS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let monday = chrono::NaiveDate::from_ymd_opt(2020, 1, 6).unwrap() + chrono::Days::new(7 * (week % 300));
        let period_start = monday.to_string();
        let morning = (format!("{monday}T08:00:00Z"), format!("{monday}T12:00:00Z"));
        let worked_shift = self.published_shift(token, location_id, position_id, morning.clone()).await;
        let worked = self.on_shift(token, &worked_shift, owner_id, true).await;
        let times = json!({ "check_in_at": morning.0, "check_out_at": morning.1, "reason": "Timesheet" });
        json_of(self.post(&format!("/attendance/{worked}/override"), token, times).await, StatusCode::OK).await;
        let closed = self.post_empty(&format!("/pay-periods/{period_start}/close"), access_token).await;
        assert!(closed.status().is_success(), "closing the fixture's pay period: {}", closed.status());
        let stub_id = format!("{period_start}_{owner_id}");
        OnSite { now_shift_id, ended_shift_id, attendance_id, period_start, stub_id }
    }

    /// Cancels the organisation's published shifts that started in the last three hours: an
    /// owner making a second organisation fixture (the tenant matrix makes one per operation)
    /// would otherwise overlap the first one's shifts on now.
    async fn cancel_shifts_around_now(&self, access_token: &str) {
        let now = chrono::Utc::now();
        let at = |instant: chrono::DateTime<chrono::Utc>| instant.format("%Y-%m-%dT%H:%M:%SZ").to_string();
        let (from, to) = (at(now - chrono::Duration::hours(3)), at(now + chrono::Duration::hours(1)));
        let path = format!("/shifts?status=published&from={from}&to={to}&limit=100");
        let shifts = json_of(self.get(&path, access_token).await, StatusCode::OK).await;
        for shift in shifts["items"].as_array().unwrap() {
            let cancel = format!("/shifts/{}/cancel", shift["id"].as_str().unwrap());
            json_of(self.post_empty(&cancel, access_token).await, StatusCode::OK).await;
        }
    }

    /// A published shift at `location_id` from `times.0` to `times.1` (RFC 3339), with room for
    /// three.
    pub async fn published_shift(
        &self,
        token: Option<&str>,
        location_id: &str,
        position_id: &str,
        times: (String, String),
    ) -> String {
        let shift = json!({ "location_id": location_id, "position_id": position_id, "start": times.0, "end": times.1,
                            "headcount": 3, "break_minutes": 30 });
        let created = json_of(self.post("/shifts", token, shift).await, StatusCode::CREATED).await;
        let shift_id = created["id"].as_str().unwrap().to_owned();
        let published = self.post_empty(&format!("/shifts/{shift_id}/publish"), token.unwrap()).await;
        json_of(published, StatusCode::OK).await;
        shift_id
    }

    /// Places `person_id` on a shift and records their acceptance (a coordinator's `token`
    /// does both): the assignment's id.
    pub async fn on_shift(&self, token: Option<&str>, shift_id: &str, person_id: &str, force: bool) -> String {
        let placing = json!({ "person_ids": [person_id], "force": force });
        let assigned = self.post(&format!("/shifts/{shift_id}/assignments"), token, placing).await;
        let id = json_of(assigned, StatusCode::CREATED).await["assignments"][0]["id"].as_str().unwrap().to_owned();
        let accepted = self.post(&format!("/assignments/{id}/status"), token, json!({ "status": "accepted" })).await;
        json_of(accepted, StatusCode::OK).await;
        id
    }
}
