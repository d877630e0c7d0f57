//! Dates from the far ends of what a date parser takes (year +262142, year 0) and just outside the
//! years Rota accepts: every operation that takes a date or an instant answers 422 naming the
//! field, never a 500 (in release, a panic would kill the Lambda instance), and the years' own
//! edges pass the bound. The operations with a date input come from the OpenAPI document, so a
//! new one fails [`every_date_input_has_a_case`] until it gets a case here.

use std::collections::BTreeSet;

use api_tests::{Organisation, TestApp, json_of, problem_of, spawn_app};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// Dates outside 2000–2100: the parser's extremes, and one day either side of the bound.
const BAD_DATES: [&str; 5] = ["+262142-12-31", "0000-01-01", "9999-12-31", "1999-12-31", "2101-01-01"];
const BAD_INSTANTS: [&str; 5] = [
    "+262142-12-31T23:59:59Z",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59Z",
    "1999-12-31T23:59:59Z",
    "2101-01-01T00:00:00Z",
];
const EDGE_DATES: [&str; 2] = ["2000-01-03", "2100-12-27"];
const EDGE_INSTANTS: [&str; 2] = ["2000-01-01T00:00:00Z", "2100-12-31T23:59:59Z"];

#[derive(Clone, Copy, PartialEq)]
enum At {
    Query,
    Path,
    /// A JSON pointer into the body.
    Body(&'static str),
}

/// One date input of one operation, and a request that is valid but for it.
struct Case {
    method: Method,
    /// The documented path, and the one called (`{date}` stands for the value in a path).
    template: &'static str,
    path: String,
    field: &'static str,
    at: At,
    instant: bool,
    body: Option<Value>,
}

/// The body fields, and the lists' query ranges, that are instants rather than days.
const INSTANT_FIELDS: [&str; 4] = ["start", "end", "check_in_at", "check_out_at"];
const INSTANT_QUERIES: [&str; 4] = ["/attendance", "/me/attendance", "/audit-logs", "/shifts"];

fn case(
    method: Method,
    template: &'static str,
    path: String,
    field: &'static str,
    at: At,
    body: Option<Value>,
) -> Case {
    let instant = match at {
        At::Body(_) => INSTANT_FIELDS.contains(&field),
        At::Query => INSTANT_QUERIES.contains(&template),
        At::Path => false,
    };
    Case { method, template, path, field, at, instant, body }
}

fn cases(org: &Organisation) -> Vec<Case> {
    let (location, position) = (&org.location_id, &org.position_id);
    let record = format!("{}_{}", org.shift_id, org.person_id);
    let shift = json!({ "location_id": location, "position_id": position, "start": "2030-07-04T08:00:00Z",
                        "end": "2030-07-04T16:00:00Z", "headcount": 1 });
    let recurring = json!({ "location_id": location, "position_id": position, "headcount": 1, "weekdays": ["mon"],
                            "start_local": "09:00", "end_local": "17:00", "from": "2030-03-25", "to": "2030-04-07" });
    let event = json!({ "title": "Harbour Festival", "starts_on": "2030-07-04", "ends_on": "2030-07-06" });
    let time_off = json!({ "kind": "time_off", "from": "2030-08-01", "to": "2030-08-03" });
    let range = json!({ "from": "2030-07-01", "to": "2030-07-31" });
    let fill = json!({ "from": "2030-07-01", "to": "2030-07-07", "time_limit_ms": 100 });
    let times =
        json!({ "check_in_at": "2030-07-04T08:00:00Z", "check_out_at": "2030-07-04T16:00:00Z", "reason": "Timesheet" });
    let availability = json!({ "weekly": [], "blackouts": [{ "from": "2030-08-01", "to": "2030-08-14" }] });
    let query = |template: &'static str, field| {
        let path = format!("{template}?{field}={{date}}");
        case(Method::GET, template, path, field, At::Query, None)
    };
    let body = |method: Method, template: &'static str, path: &str, field, pointer, body: &Value| {
        case(method, template, path.to_owned(), field, At::Body(pointer), Some(body.clone()))
    };
    let hours = |field| {
        let other = if field == "from" { "to=2030-07-07" } else { "from=2030-07-01" };
        case(Method::GET, "/me/hours", format!("/me/hours?{other}&{field}={{date}}"), field, At::Query, None)
    };
    let report = |field| {
        let other = if field == "from" { "to=2030-07-07" } else { "from=2030-07-01" };
        let path = format!("/reports/hours?group_by=person&{other}&{field}={{date}}");
        case(Method::GET, "/reports/hours", path, field, At::Query, None)
    };
    let shift_path = format!("/shifts/{}", org.shift_id);
    let deal = json!({ "title": "Dated", "contact_name": "D", "contact_email": "d@example.com", "organisation": "D",
        "value_minor": 1, "currency": "EUR" });
    let deal_path = "/admin/crm/deals/01JN0SUCHDEA10000000000000".to_owned();
    let event_path = format!("/events/{}", org.event_id);
    let override_path = format!("/attendance/{record}/override");
    vec![
        query("/attendance", "from"),
        query("/attendance", "to"),
        report("from"),
        report("to"),
        query("/me/attendance", "from"),
        query("/me/attendance", "to"),
        query("/audit-logs", "from"),
        query("/audit-logs", "to"),
        query("/shifts", "from"),
        query("/shifts", "to"),
        query("/pay-stubs", "period"),
        query("/hours-warnings", "week"),
        hours("from"),
        hours("to"),
        body(Method::POST, "/attendance/exports", "/attendance/exports", "from", "/from", &range),
        body(Method::POST, "/attendance/exports", "/attendance/exports", "to", "/to", &range),
        body(
            Method::POST,
            "/attendance/{attendance_id}/override",
            &override_path,
            "check_in_at",
            "/check_in_at",
            &times,
        ),
        body(
            Method::POST,
            "/attendance/{attendance_id}/override",
            &override_path,
            "check_out_at",
            "/check_out_at",
            &times,
        ),
        body(Method::POST, "/events", "/events", "starts_on", "/starts_on", &event),
        body(Method::POST, "/events", "/events", "ends_on", "/ends_on", &event),
        body(Method::PATCH, "/events/{event_id}", &event_path, "starts_on", "/starts_on", &json!({})),
        body(Method::PATCH, "/events/{event_id}", &event_path, "ends_on", "/ends_on", &json!({})),
        body(Method::POST, "/pay-stubs/exports", "/pay-stubs/exports", "period", "/period", &json!({})),
        body(Method::POST, "/auto-fill", "/auto-fill", "from", "/from", &fill),
        body(Method::POST, "/auto-fill", "/auto-fill", "to", "/to", &fill),
        body(Method::POST, "/requests", "/requests", "from", "/from", &time_off),
        body(Method::POST, "/requests", "/requests", "to", "/to", &time_off),
        body(Method::POST, "/shifts", "/shifts", "start", "/start", &shift),
        body(Method::POST, "/shifts", "/shifts", "end", "/end", &shift),
        body(Method::PATCH, "/shifts/{shift_id}", &shift_path, "start", "/start", &json!({})),
        body(Method::PATCH, "/shifts/{shift_id}", &shift_path, "end", "/end", &json!({})),
        body(Method::POST, "/shifts/recurring", "/shifts/recurring", "from", "/from", &recurring),
        body(Method::POST, "/shifts/recurring", "/shifts/recurring", "to", "/to", &recurring),
        body(Method::PUT, "/availability/me", "/availability/me", "from", "/blackouts/0/from", &availability),
        body(Method::PUT, "/availability/me", "/availability/me", "to", "/blackouts/0/to", &availability),
        // The platform's CRM: the body is judged before the caller's permission.
        body(Method::POST, "/admin/crm/deals", "/admin/crm/deals", "expected_close_on", "/expected_close_on", &deal),
        body(
            Method::PATCH,
            "/admin/crm/deals/{deal_id}",
            &deal_path,
            "expected_close_on",
            "/expected_close_on",
            &json!({}),
        ),
        case(Method::POST, "/pay-periods/{start}/close", "/pay-periods/{date}/close".into(), "start", At::Path, None),
        case(Method::POST, "/pay-periods/{start}/reopen", "/pay-periods/{date}/reopen".into(), "start", At::Path, None),
    ]
}

async fn send(app: &TestApp, token: &str, case: &Case, value: &str) -> reqwest::Response {
    let path = case.path.replace("{date}", &value.replace('+', "%2B"));
    let body = case.body.clone().map(|mut body| {
        if let At::Body(pointer) = case.at {
            set(&mut body, pointer, json!(value));
        }
        body
    });
    app.request(case.method.clone(), &path, Some(token), body).await
}

/// Sets the value at `pointer` in `body`, making the object it names if need be.
fn set(body: &mut Value, pointer: &str, value: Value) {
    match body.pointer_mut(pointer) {
        Some(slot) => *slot = value,
        None => {
            let (parent, name) = pointer.rsplit_once('/').unwrap();
            body.pointer_mut(parent).unwrap()[name.to_owned()] = value;
        }
    }
}

/// Whether a problem's errors name `field` (at any depth: `blackouts[0].from`).
fn names(problem: &Value, field: &str) -> bool {
    problem["errors"].as_array().into_iter().flatten().any(|error| {
        let name = error["field"].as_str().unwrap_or_default();
        name == field || name.ends_with(&format!(".{field}"))
    })
}

#[tokio::test]
async fn dates_outside_the_years_are_422_naming_the_field_and_their_edges_pass() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let org = app.organisation(&owner).await;
    for case in cases(&org) {
        let (bad, edges) = if case.instant { (BAD_INSTANTS, EDGE_INSTANTS) } else { (BAD_DATES, EDGE_DATES) };
        for value in bad {
            let response = send(&app, &owner.access_token, &case, value).await;
            let problem = problem_of(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
            assert!(names(&problem, case.field), "{} {} with {value}: {problem}", case.method, case.path);
        }
        for value in edges {
            let response = send(&app, &owner.access_token, &case, value).await;
            let status = response.status();
            let answer: Value = response.json().await.unwrap_or(Value::Null);
            let refused_for_the_year = answer["errors"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|error| error["message"].as_str().is_some_and(|message| message.contains("years")));
            assert!(
                status != StatusCode::INTERNAL_SERVER_ERROR && !refused_for_the_year,
                "{} {} with {value}: {status} {answer}",
                case.method,
                case.path
            );
        }
    }
    // The server is still there, and still answers.
    json_of(app.get("/me", &owner.access_token).await, StatusCode::OK).await;
}

/// Every `(METHOD, path)` of the document whose parameters or body take a date or an instant.
fn dated_operations(doc: &Value) -> BTreeSet<(String, String)> {
    fn dated(doc: &Value, schema: &Value, depth: usize) -> bool {
        let schema = match schema["$ref"].as_str() {
            Some(reference) => doc.pointer(reference.trim_start_matches('#')).unwrap(),
            None => schema,
        };
        depth < 8
            && (matches!(schema["format"].as_str(), Some("date" | "date-time"))
                || ["oneOf", "anyOf", "allOf"]
                    .iter()
                    .flat_map(|key| schema[key].as_array().into_iter().flatten())
                    .chain(schema["properties"].as_object().into_iter().flat_map(|properties| properties.values()))
                    .chain([&schema["items"]].into_iter().filter(|items| items.is_object()))
                    .any(|inner| dated(doc, inner, depth + 1)))
    }
    let mut operations = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let parameters = operation["parameters"].as_array().into_iter().flatten().map(|p| &p["schema"]);
            let body = &operation["requestBody"]["content"]["application/json"]["schema"];
            if parameters.chain([body]).any(|schema| dated(doc, schema, 0)) {
                operations.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    operations
}

#[tokio::test]
async fn every_date_input_has_a_case() {
    let app = spawn_app().await;
    let doc = serde_json::to_value(&app.doc).unwrap();
    let org = Organisation {
        location_id: "l".into(),
        position_id: "p".into(),
        unit_id: "u".into(),
        person_id: "pe".into(),
        person_email: "e".into(),
        event_id: "e".into(),
        shift_id: "s".into(),
        assignment_id: "a".into(),
        request_id: "r".into(),
        swap_id: "w".into(),
        import_id: "i".into(),
        auto_fill_id: "f".into(),
    };
    let covered: BTreeSet<_> =
        cases(&org).iter().map(|case| (case.method.to_string(), case.template.to_owned())).collect();
    let documented = dated_operations(&doc);
    assert!(documented.len() >= 18, "the walk finds the date inputs: {documented:?}");
    assert_eq!(documented, covered, "a date input without a case here (or a case without a date input)");
}

#[tokio::test]
async fn a_handler_that_panics_answers_a_500_problem_and_the_router_goes_on() {
    use tower::ServiceExt;
    let app = spawn_app().await;
    let routes = axum::Router::new()
        .route(
            "/boom",
            axum::routing::get(|| async {
                if true {
                    panic!("a bug");
                }
                "unreached"
            }),
        )
        .route("/fine", axum::routing::get(|| async { "fine" }));
    let router = rota::http::serve(routes, app.state.clone());
    let call = |path: &str| http::Request::get(path).body(axum::body::Body::empty()).unwrap();
    let response = router.clone().oneshot(call("/boom")).await.unwrap();
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(response.headers()["content-type"], "application/problem+json");
    let body = axum::body::to_bytes(response.into_body(), 1 << 16).await.unwrap();
    assert_eq!(serde_json::from_slice::<Value>(&body).unwrap()["code"], "internal_error");
    assert_eq!(router.oneshot(call("/fine")).await.unwrap().status(), StatusCode::OK);
}
