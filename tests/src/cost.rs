//! The organisation-day the cost model replays (`make cost`, `tests/benches/cost.rs`; its
//! reproducibility is `tests/tests/cost.rs`): every request a staffed day makes of the API, in
//! order, as its people would make them, with the notifier's and the nightly worker's share. Each
//! call keeps the DynamoDB units and round trips its request reported and its time. The mix and
//! its sources: docs/cost.md.

use std::ops::Range;
use std::time::{Duration, Instant};

use chrono::{Duration as Span, Utc};
use reqwest::{Method, StatusCode};
use rota::store::round_trips::RequestTrips;
use rota::store::{Spent, consumed::Consumed};
use serde_json::{Value, json};

use crate::{Account, HALL, Organisation, TestApp, json_of, member};

/// One request of the day (or one run of a worker, standing for `count` of its invocations).
#[derive(Debug, Clone)]
pub struct Call {
    /// `GET /me/shifts`, or a worker's `notifier (a message)`.
    pub route: String,
    pub count: usize,
    pub spent: Spent,
    pub elapsed: Duration,
}

/// People a shift holds in the replay.
const PER_SHIFT: usize = 5;

/// A replayed day: the organisation's id and its calls in order.
pub struct Replay {
    pub tenant_id: String,
    pub calls: Vec<Call>,
}

/// Replays one day of an organisation of `staff` staff and a coordinator for each 40 (at least
/// one), signed up and set up first (not counted): today's shifts, started five minutes ago,
/// hold three in four of the staff. Every call must answer as a user would expect, or this panics.
pub async fn organisation_day(app: &TestApp, staff: usize) -> Replay {
    let owner = app.signup().await;
    let org = app.organisation(&owner).await;
    // A paying organisation: its messages are sent, not skipped once a trial's credits run out.
    let (admin, credits) = (app.platform_admin().await, json!({ "amount": 100 * staff }));
    let granted = app.post(&format!("/admin/tenants/{}/credits", owner.tenant_id), Some(&admin), credits).await;
    json_of(granted, StatusCode::OK).await;
    let coordinators: Vec<Account> = {
        let mut made = Vec::new();
        for n in 0..staff.div_ceil(40) {
            made.push(member(app, &owner, &format!("Coordinator {n}"), "coordinator", &[&org.position_id]).await);
        }
        made
    };
    let mut people = Vec::new();
    for n in 0..staff {
        if n % 50 == 0 {
            // The setup invites more people an hour than an organisation may: forget the count.
            app.forget_rate_limit(rota::auth::rate_limit::INVITES_PER_TENANT.name, &owner.tenant_id).await;
        }
        people.push(member(app, &owner, &format!("Crew {n:03}"), "staff", &[&org.position_id]).await);
    }
    let lead = &coordinators[0];
    let now = Utc::now();
    let today = ((now - Span::minutes(5)).to_rfc3339(), (now + Span::hours(8)).to_rfc3339());
    let tomorrow = ((now + Span::hours(24)).to_rfc3339(), (now + Span::hours(32)).to_rfc3339());
    // Three in four work today, five to a shift: each shift with the range of `people` on it.
    let on_today = staff * 3 / 4;
    let crews = || (0..on_today).step_by(PER_SHIFT).map(move |first| first..(first + PER_SHIFT).min(on_today));
    // Today's shifts are set up the way tomorrow's are planned below, their calls not counted.
    let mut setup = Day { app, calls: Vec::new() };
    let mut shifts_today = Vec::new();
    for crew in crews() {
        let shift = setup.published_shift(&org, &lead.access_token, &today, crew.len()).await;
        let offers = setup.offer(&shift, &lead.access_token, &people, crew.clone()).await;
        setup.accept(&offers, &people).await;
        shifts_today.push((shift, crew));
    }
    app.deliver().await; // the setup's mail, not the day's

    let mut day = Day { app, calls: Vec::new() };
    // The morning: everyone opens the app (as again before noon, in the afternoon and in the
    // evening: each time the session is renewed, its access token lasting 15 minutes, and the
    // schedule read); who works checks in at the gate.
    day.open_apps(&mut people).await;
    for (shift, crew) in &shifts_today {
        for person in &people[crew.clone()] {
            day.check("/attendance/check-in", shift, person, StatusCode::CREATED).await;
        }
    }
    // The coordinators watch the gate each minute of its half hour, the event's dashboard every
    // five minutes of the eight-hour day, and the day's records, the week and the requests to
    // decide eight times each.
    let (from, to) = (urlencode(&now.to_rfc3339()), urlencode(&(now + Span::days(7)).to_rfc3339()));
    let views = [
        (30, "/locations/{location_id}/on-site", format!("/locations/{}/on-site", org.location_id)),
        (96, "/events/{event_id}/dashboard", format!("/events/{}/dashboard", org.event_id)),
        (8, "/attendance", format!("/attendance?from={}", urlencode(&(now - Span::hours(1)).to_rfc3339()))),
        (8, "/shifts", format!("/shifts?from={from}&to={to}")),
        (8, "/requests", "/requests?to_review=true".to_owned()),
    ];
    for coordinator in &coordinators {
        for (times, route, path) in &views {
            for _ in 0..*times {
                day.call(Method::GET, route, path, &coordinator.access_token, None, StatusCode::OK).await;
            }
        }
    }
    // Tomorrow is planned: a shift for each five of today's number, published, offered to five
    // people, accepted by each.
    let token = &lead.access_token;
    let mut offers = Vec::new();
    for crew in crews() {
        let shift = day.published_shift(&org, token, &tomorrow, crew.len()).await;
        let eligible = format!("/shifts/{shift}/eligible");
        day.call(Method::GET, "/shifts/{shift_id}/eligible", &eligible, token, None, StatusCode::OK).await;
        offers.extend(day.offer(&shift, token, &people, crew).await);
    }
    day.accept(&offers, &people).await;
    // One in twenty asks for time off, and one in twenty offers tomorrow's shift to a colleague
    // who is off today; the coordinator decides each.
    for (n, person) in people.iter().enumerate().step_by(20) {
        let from = (now + Span::days(30 + n as i64)).date_naive();
        let body = json!({ "kind": "time_off", "from": from, "to": from, "reason": "Family" });
        let asked = day
            .call(Method::POST, "/requests", "/requests", &person.access_token, Some(body), StatusCode::CREATED)
            .await;
        day.approve(token, asked["id"].as_str().unwrap()).await;
    }
    let colleagues = people[on_today..].iter().cycle();
    for ((assignment, person), colleague) in offers.iter().step_by(20).zip(colleagues) {
        let body = json!({ "kind": "swap", "assignment_id": assignment, "to_person_id": colleague.person_id });
        let asker = &people[*person].access_token;
        let asked = day.call(Method::POST, "/requests", "/requests", asker, Some(body), StatusCode::CREATED).await;
        let id = asked["id"].as_str().unwrap();
        let (route, path) = ("/requests/{request_id}/accept", format!("/requests/{id}/accept"));
        day.call(Method::POST, route, &path, &colleague.access_token, None, StatusCode::OK).await;
        day.approve(token, id).await;
    }
    let monday = now.date_naive().week(chrono::Weekday::Mon).first_day();
    let week_hours = format!("/me/hours?from={monday}&to={}", monday + chrono::Days::new(6));
    // Before noon and in the afternoon, the app again; the evening: who worked checks out, then
    // sees the week's hours, and everyone opens the app once more.
    day.open_apps(&mut people).await;
    day.open_apps(&mut people).await;
    for (shift, crew) in &shifts_today {
        for person in &people[crew.clone()] {
            day.check("/attendance/check-out", shift, person, StatusCode::OK).await;
            day.call(Method::GET, "/me/hours", &week_hours, &person.access_token, None, StatusCode::OK).await;
        }
    }
    day.open_apps(&mut people).await;
    // The night runs the organisation's jobs; the notifier sends what the day and the night
    // queued (offers, decisions, tomorrow's reminders).
    let nightly = app.nightly().await;
    let jobs = nightly::Job::of_organisation(&owner.tenant_id).map(|job| serde_json::to_string(&job).unwrap());
    day.worker("nightly (an organisation's jobs)", async {
        let mut event = aws_lambda_events::sqs::SqsEvent::default();
        for (n, job) in jobs.iter().enumerate() {
            let mut message = aws_lambda_events::sqs::SqsMessage::default();
            (message.message_id, message.body) = (Some(n.to_string()), Some(job.clone()));
            event.records.push(message);
        }
        let answer = nightly::handle(&nightly, event).await;
        assert!(answer.batch_item_failures.is_empty(), "every job ran: {:?}", answer.batch_item_failures);
        1
    })
    .await;
    day.worker("notifier (a message)", async { app.deliver().await }).await;
    Replay { tenant_id: owner.tenant_id, calls: day.calls }
}

fn urlencode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// The day so far.
struct Day<'a> {
    app: &'a TestApp,
    calls: Vec<Call>,
}

impl Day<'_> {
    /// `method path` (of `route`) as the holder of `token`; panics unless it answers `status`.
    async fn call(
        &mut self,
        method: Method,
        route: &str,
        path: &str,
        token: &str,
        body: Option<Value>,
        status: StatusCode,
    ) -> Value {
        let started = Instant::now();
        let response = self.app.request(method.clone(), path, Some(token), body).await;
        let elapsed = started.elapsed();
        let spent = self.app.spent_by(response.headers());
        let route = format!("{method} {route}");
        let answer = json_of(response, status).await;
        self.calls.push(Call { route, count: 1, spent, elapsed });
        answer
    }

    /// `person`'s app renews its session (its access token lasts 15 minutes).
    async fn refresh(&mut self, person: &mut Account) {
        let started = Instant::now();
        let response = self.app.refresh(&person.refresh_token).await;
        let (elapsed, spent) = (started.elapsed(), self.app.spent_by(response.headers()));
        let tokens = json_of(response, StatusCode::OK).await;
        person.access_token = tokens["access_token"].as_str().unwrap().to_owned();
        person.refresh_token = tokens["refresh_token"].as_str().unwrap().to_owned();
        self.calls.push(Call { route: "POST /auth/refresh".to_owned(), count: 1, spent, elapsed });
    }

    /// Everyone opens the app: their session renewed, their schedule read.
    async fn open_apps(&mut self, people: &mut [Account]) {
        for person in people {
            self.refresh(person).await;
            self.call(Method::GET, "/me/shifts", "/me/shifts", &person.access_token, None, StatusCode::OK).await;
        }
    }

    /// A shift at `org`'s location and event of `places` places at `times`, published, as the
    /// coordinator of `token`: its id.
    async fn published_shift(
        &mut self,
        org: &Organisation,
        token: &str,
        times: &(String, String),
        places: usize,
    ) -> String {
        let body = json!({ "location_id": org.location_id, "position_id": org.position_id, "event_id": org.event_id,
            "start": times.0, "end": times.1, "headcount": places, "break_minutes": 30 });
        let created = self.call(Method::POST, "/shifts", "/shifts", token, Some(body), StatusCode::CREATED).await;
        let id = created["id"].as_str().unwrap().to_owned();
        let publish = format!("/shifts/{id}/publish");
        self.call(Method::POST, "/shifts/{shift_id}/publish", &publish, token, None, StatusCode::OK).await;
        id
    }

    /// `shift` offered to `people[crew]`: each offer's assignment id and its person's index.
    async fn offer(
        &mut self,
        shift: &str,
        token: &str,
        people: &[Account],
        crew: Range<usize>,
    ) -> Vec<(String, usize)> {
        let ids: Vec<&str> = people[crew].iter().map(|person| person.person_id.as_str()).collect();
        let (route, path) = ("/shifts/{shift_id}/assignments", format!("/shifts/{shift}/assignments"));
        let placed =
            self.call(Method::POST, route, &path, token, Some(json!({ "person_ids": ids })), StatusCode::CREATED).await;
        let offers = placed["assignments"].as_array().unwrap().iter().map(|assignment| {
            let person = people.iter().position(|person| assignment["person_id"] == person.person_id.as_str()).unwrap();
            (assignment["id"].as_str().unwrap().to_owned(), person)
        });
        offers.collect()
    }

    /// Each offer accepted by its person.
    async fn accept(&mut self, offers: &[(String, usize)], people: &[Account]) {
        for (assignment, person) in offers {
            let path = format!("/assignments/{assignment}/status");
            let body = json!({ "status": "accepted" });
            let route = "/assignments/{assignment_id}/status";
            self.call(Method::POST, route, &path, &people[*person].access_token, Some(body), StatusCode::OK).await;
        }
    }

    /// `person` checks in or out (`path`) of `shift` at the gate.
    async fn check(&mut self, path: &str, shift: &str, person: &Account, status: StatusCode) {
        let body = json!({ "shift_id": shift, "lat": HALL.0, "lng": HALL.1, "accuracy_m": 8.0 });
        self.call(Method::POST, path, path, &person.access_token, Some(body), status).await;
    }

    async fn approve(&mut self, token: &str, request_id: &str) {
        let (route, path) = ("/requests/{request_id}/approve", format!("/requests/{request_id}/approve"));
        self.call(Method::POST, route, &path, token, None, StatusCode::OK).await;
    }

    /// A worker's run, in a round-trip scope of its own; `run` answers how many invocations (or
    /// messages) it stands for.
    async fn worker(&mut self, name: &str, run: impl Future<Output = usize>) {
        let trips = RequestTrips::default();
        let started = Instant::now();
        let count = trips.clone().scope(run).await;
        let consumed: Consumed = trips.consumed();
        let spent = Spent { round_trips: trips.count(), consumed };
        self.calls.push(Call { route: name.to_owned(), count, spent, elapsed: started.elapsed() });
    }
}
