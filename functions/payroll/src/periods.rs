//! Closing a pay period: every person's worked minutes of its days (corrections applied), split
//! into regular and overtime, priced at their rate, less the deductions. Closing again returns the
//! same stubs; a closed period's weeks are locked against corrections until an owner reopens it.

use std::collections::{BTreeMap, BTreeSet};

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{Days, NaiveDate, NaiveTime, Utc};
use rota::auth::{Caller, Permission};
use rota::clock::{instant, iso};
use rota::domain::payroll::period;
use rota::domain::time::local_date;
use rota::error::Problem;
use rota::store::attendance::Attendance;
use rota::store::audit::AuditEntry;
use rota::store::entities::{Filter, Refused};
use rota::store::payroll::{PayPeriodRecord, PayStub, Payee, PeriodStatus, Terms, weeks_of};
use rota::store::people::Person;
use rota::store::places::Position;
use rota::store::tenants::Tenant;
use rota::webhooks::{EventType, Job};
use rota::{AppState, Error};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

/// A closed (or reopened) period with its stubs.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClosedPeriod {
    pub period: PayPeriodRecord,
    /// One per person who worked in it, by person.
    pub stubs: Vec<PayStub>,
}

/// A period's first day, from its path.
fn first_day(start: &str) -> Result<NaiveDate, Error> {
    rota::validate::date_in_years(start, "start")
}

/// The days of the period starting on `first` under the organisation's calendar and pay period.
fn days_of(first: NaiveDate, tenant: &Tenant) -> Result<(NaiveDate, NaiveDate), Error> {
    period(first, tenant.week_start, tenant.settings.pay_period)
        .ok_or_else(|| Error::field("start", "must be the first day of a week (the organisation's week_start)"))
}

/// Each person's rate: their own, else the default rate of the position they worked most
/// minutes in, else 0.
fn rate(person: Option<&Person>, records: &[&Attendance], positions: &BTreeMap<&str, &Position>) -> i64 {
    if let Some(rate) = person.and_then(|person| person.hourly_rate_minor) {
        return rate as i64;
    }
    let mut minutes: BTreeMap<&str, i64> = BTreeMap::new();
    for record in records {
        *minutes.entry(record.position_id.as_str()).or_default() += record.worked_minutes;
    }
    minutes
        .into_iter()
        .max_by_key(|(_, minutes)| *minutes)
        .and_then(|(position, _)| positions.get(position).and_then(|p| p.default_hourly_rate_minor))
        .map_or(0, |rate| rate as i64)
}

/// Closes a pay period (admins and owners): `start` is its first day, a first day of the
/// organisation's week; it lasts one or two weeks (`pay_period`) and must be over. Writes one pay
/// stub per person with worked minutes in it and locks its weeks: corrections of attendance
/// counted there are refused (409) until an owner reopens it. Closing a closed period answers
/// the same stubs and writes nothing; closing a reopened one computes them again.
#[utoipa::path(post, path = "/pay-periods/{start}/close", tag = "payroll", security(("bearer" = ["payroll.close"])),
    params(("start" = String, Path, description = "The period's first day, YYYY-MM-DD", format = Date)),
    responses(
        (status = 201, description = "Closed now, with its stubs", body = ClosedPeriod),
        (status = 200, description = "It was closed already: the same stubs", body = ClosedPeriod),
        (status = 409, description = "It has not ended yet, or a week of it is in another closed period", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`start` is not a date, or not a first day of the organisation's week", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn close_period(
    State(state): State<AppState>,
    caller: Caller,
    Path(start): Path<String>,
) -> Result<(StatusCode, Json<ClosedPeriod>), Error> {
    caller.require(Permission::PayrollClose)?;
    let first = first_day(&start)?;
    let start = first.to_string();
    // Round trip 1, in parallel: the organisation, the period and its stubs so far, the people and
    // positions (their rates), and the attendance of the period's shifts (two days either side
    // of its weeks: a shift is counted on its check-in's day on the organisation's calendar).
    let (from, to) = (
        instant(first.and_time(NaiveTime::MIN).and_utc() - Days::new(2)),
        instant(first.and_time(NaiveTime::MIN).and_utc() + Days::new(17)),
    );
    let (tenant, (before, earlier_stubs), people, positions, records) = tokio::try_join!(
        state.store.tenant(&caller.tenant_id),
        state.store.period_with_stubs(&caller.tenant_id, &start),
        state.store.all::<Person>(&caller.tenant_id),
        state.store.all::<Position>(&caller.tenant_id),
        state.store.all_attendance(&caller.tenant_id, (None, None), (&from, &to), Filter::default()),
    )?;
    let tenant = tenant.ok_or(Error::NotFound)?;
    let days = days_of(first, &tenant)?;
    let zone = tenant.zone()?;
    if let Some(closed) = before.as_ref().filter(|period| period.status == PeriodStatus::Closed) {
        return Ok((StatusCode::OK, Json(ClosedPeriod { period: closed.clone(), stubs: earlier_stubs })));
    }
    if local_date(Utc::now(), zone) <= days.1 {
        return Err(Error::Conflict("the period has not ended yet; close it after its last day"));
    }
    let now = iso(Utc::now());
    let people: BTreeMap<&str, &Person> = people.iter().map(|person| (person.id.as_str(), person)).collect();
    let positions: BTreeMap<&str, &Position> = positions.iter().map(|p| (p.id.as_str(), p)).collect();
    let mut by_person: BTreeMap<&str, Vec<&Attendance>> = BTreeMap::new();
    for record in &records {
        by_person.entry(record.person_id.as_str()).or_default().push(record);
    }
    let terms = Terms {
        tenant_id: &tenant.id,
        zone,
        week_start: tenant.week_start,
        currency: &tenant.currency,
        settings: &tenant.settings,
    };
    let stubs: Vec<PayStub> = by_person
        .into_iter()
        .map(|(person_id, records)| {
            let person = people.get(person_id).copied();
            let payee = Payee {
                person_id,
                person_name: person.map_or(records[0].person_name.as_str(), |p| p.name.as_str()),
                hourly_rate_minor: rate(person, &records, &positions),
                records,
            };
            PayStub::of(&payee, days, &terms, &now)
        })
        .filter(|stub| stub.shifts > 0)
        .collect();
    let paid: BTreeSet<&str> = stubs.iter().map(|stub| stub.person_id.as_str()).collect();
    let gone: Vec<PayStub> = earlier_stubs.into_iter().filter(|stub| !paid.contains(stub.person_id.as_str())).collect();
    // Round trip 2: the stubs (fixed keys: writing them again is harmless).
    state.store.write_stubs(&stubs, &gone).await?;
    let period = PayPeriodRecord {
        id: start.clone(),
        tenant_id: tenant.id.clone(),
        start: start.clone(),
        end: days.1.to_string(),
        status: PeriodStatus::Closed,
        currency: tenant.currency.clone(),
        stub_count: stubs.len(),
        worked_minutes: stubs.iter().map(|stub| stub.worked_minutes).sum(),
        gross_minor: stubs.iter().map(|stub| stub.gross_minor).sum(),
        net_minor: stubs.iter().map(|stub| stub.net_minor).sum(),
        closed_by: caller.person_id.clone(),
        closed_at: now.clone(),
        reopened_by: before.as_ref().and_then(|b| b.reopened_by.clone()),
        reopened_at: before.as_ref().and_then(|b| b.reopened_at.clone()),
        version: before.as_ref().map_or(1, |before| before.version + 1),
        created_at: before.as_ref().map_or(now.clone(), |before| before.created_at.clone()),
        updated_at: now.clone(),
    };
    // Round trip 3: the period closed, its weeks locked, the audit entry: all or nothing. Of two
    // closes at once, one commits; the other is refused here.
    let audit = AuditEntry::new(
        &caller.actor(),
        "pay_period.closed",
        ("pay_period", &start),
        before.as_ref(),
        Some(&period),
        &now,
    );
    let mut items = vec![
        state.store.entity_put(&period, before.as_ref().map(|before| before.version))?,
        state.store.audit_put(&audit)?,
    ];
    items.extend(state.store.weeks_locked(&tenant.id, &weeks_of(days, tenant.week_start), &start)?);
    match state.store.transact(items).await? {
        Ok(()) => {
            // The period's totals; its stubs are read with GET /pay-stubs (a body stays small).
            let closed = Job::event(&tenant.id, EventType::PayPeriodClosed, json!({ "pay_period": period }), &now);
            state.outbox.webhook_for(&tenant, closed).await?;
            Ok((StatusCode::CREATED, Json(ClosedPeriod { period, stubs })))
        }
        Err(Refused(failed)) if failed.contains(&0) => {
            Err(Error::Conflict("the period was closed by someone else meanwhile; GET its stubs"))
        }
        Err(Refused(_)) => Err(Error::Conflict("a week of this period is in another closed period")),
    }
}

/// Reopens a closed period (owners): its weeks unlock, so attendance there can be corrected;
/// its stubs stay until it is closed again, which computes them anew. Audited.
#[utoipa::path(post, path = "/pay-periods/{start}/reopen", tag = "payroll", security(("bearer" = ["payroll.reopen"])),
    params(("start" = String, Path, description = "The period's first day, YYYY-MM-DD", format = Date)),
    responses(
        (status = 200, description = "The reopened period", body = PayPeriodRecord),
        (status = 404, description = "It was never closed", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "It is open already", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`start` is not a date", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn reopen_period(
    State(state): State<AppState>,
    caller: Caller,
    Path(start): Path<String>,
) -> Result<Json<PayPeriodRecord>, Error> {
    caller.require(Permission::PayrollReopen)?;
    let first = first_day(&start)?;
    let start = first.to_string();
    // Round trip 1: the organisation and the period.
    let (tenant, before) = tokio::try_join!(
        state.store.tenant(&caller.tenant_id),
        state.store.entity::<PayPeriodRecord>(&caller.tenant_id, &start),
    )?;
    let (tenant, before) = (tenant.ok_or(Error::NotFound)?, before.ok_or(Error::NotFound)?);
    if before.status != PeriodStatus::Closed {
        return Err(Error::Conflict("the period is open already"));
    }
    let last: NaiveDate = before.end.parse().map_err(Error::internal)?;
    let now = iso(Utc::now());
    let mut period = before.clone();
    period.status = PeriodStatus::Reopened;
    period.reopened_by = Some(caller.person_id.clone());
    period.reopened_at = Some(now.clone());
    rota::store::entities::Entity::touch(&mut period, &now);
    let audit = AuditEntry::new(
        &caller.actor(),
        "pay_period.reopened",
        ("pay_period", &start),
        Some(&before),
        Some(&period),
        &now,
    );
    // Round trip 2: the period, its weeks unlocked, the audit entry.
    let mut items = vec![state.store.entity_put(&period, Some(before.version))?, state.store.audit_put(&audit)?];
    items.extend(state.store.weeks_unlocked(&tenant.id, &weeks_of((first, last), tenant.week_start))?);
    rota::records::committed(state.store.transact(items).await?)?;
    Ok(Json(period))
}
