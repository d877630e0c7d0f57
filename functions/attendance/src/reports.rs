//! The hours report: scheduled against worked hours, overtime, lateness, no-shows and cost between
//! two days, per person, position, location, event or unit, as JSON or a CSV download. The rules
//! are `rota::domain::reports`; this reads the range's places and records through the
//! organisation's by-start indexes and names each one's group.

use std::collections::HashMap;

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Days, NaiveDate, NaiveTime, Utc};
use garde::Validate;
use rota::auth::{Caller, Permission};
use rota::clock::instant;
use rota::domain::attendance::Status;
use rota::domain::money;
use rota::domain::reports::{GroupBy, HoursFigures, Place, Worked, report};
use rota::domain::time::local_date;
use rota::error::Problem;
use rota::files::{cell, hours};
use rota::http::ValidQuery;
use rota::store::attendance::Attendance;
use rota::store::entities::Filter;
use rota::store::people::Person;
use rota::store::places::{Location, Position, Unit};
use rota::store::schedule::{Event, ShiftStatus};
use rota::{AppState, Error};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// The longest range a report reads, in days: a quarter.
const MAX_DAYS: i64 = 92;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReportFormat {
    #[default]
    Json,
    /// A CSV file: one row per group, then the total.
    Csv,
}

#[derive(Debug, Deserialize, Validate, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct HoursReportQuery {
    /// First day (the organisation's calendar) of the shifts' starts, included.
    #[garde(custom(rota::validate::in_years))]
    #[param(value_type = String, format = Date, example = "2030-07-01")]
    pub from: NaiveDate,
    /// Last day, included; at most 92 days after `from`.
    #[garde(custom(rota::validate::in_years))]
    #[param(value_type = String, format = Date, example = "2030-07-31")]
    pub to: NaiveDate,
    /// What each row is.
    #[garde(skip)]
    #[param(inline)]
    pub group_by: GroupBy,
    /// One location's shifts only.
    #[garde(length(min = 1, max = 64))]
    #[param(min_length = 1, max_length = 64)]
    pub location_id: Option<String>,
    /// `json` (the default) or `csv`.
    #[garde(skip)]
    #[param(inline)]
    pub format: Option<ReportFormat>,
}

/// Hours between two days, per group and in total.
#[derive(Debug, Serialize, ToSchema)]
pub struct HoursReport {
    #[schema(value_type = String, format = Date)]
    pub from: NaiveDate,
    #[schema(value_type = String, format = Date)]
    pub to: NaiveDate,
    pub group_by: GroupBy,
    /// The organisation's currency, for the costs.
    pub currency: String,
    /// By name; what has no event (or no unit) last.
    pub groups: Vec<ReportGroup>,
    /// The groups added up.
    pub total: HoursFigures,
}

/// One row of the report.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReportGroup {
    /// The person's, position's, location's, event's or unit's id; null for shifts of no event
    /// and people of no unit.
    pub id: Option<String>,
    pub name: String,
    #[serde(flatten)]
    pub figures: HoursFigures,
}

/// Hours between two days of the organisation's calendar (by shift start), per person, position,
/// location, event or unit (coordinators and up, within their locations and units): places
/// scheduled and their hours, against records, hours worked (regular and overtime as pay splits
/// them), lateness and no-show rates, and — for those who see costs — what the hours cost at each
/// person's rate (else the position's default), overtime at the organisation's rate. `format=csv`
/// answers the same as a file to download.
#[utoipa::path(get, path = "/reports/hours", tag = "attendance", security(("bearer" = ["attendance.read"])),
    params(HoursReportQuery),
    responses(
        (status = 200, description = "The report", content(
            (HoursReport = "application/json"),
            (String = "text/csv"),
        )),
        (status = 404, description = "No such location in this organisation (or beyond the caller's locations)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn hours_report(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<ValidQuery<HoursReportQuery>, Error>,
) -> Result<Response, Error> {
    // Who may ask is answered before what was asked.
    caller.require(Permission::AttendanceRead)?;
    let ValidQuery(query) = query?;
    if query.to < query.from || (query.to - query.from).num_days() > MAX_DAYS {
        return Err(Error::field("to", "must be on or after from, and at most 92 days after it"));
    }
    let tenant_id = &caller.tenant_id;
    let locations = caller.locations_to_read(query.location_id.as_deref());
    // Round trip 1, in parallel: the organisation (calendar, rules, currency), the location asked
    // for, its people and positions (names, rates, units), the names of its units or locations
    // when the rows are those, the range's shifts with their assignments, and its attendance from
    // a week before (the week's overtime counts from its first day). Days are the organisation's:
    // two days either side of the range cover any zone.
    let day_start = |date: NaiveDate| date.and_time(NaiveTime::MIN).and_utc();
    let shifts_from = instant(day_start(query.from) - Days::new(2));
    let records_from = instant(day_start(query.from) - Days::new(9));
    let last = instant(day_start(query.to) + Days::new(3));
    let (tenant, location, people, positions, mut names, shifts, records) = tokio::try_join!(
        state.store.tenant(tenant_id),
        async {
            match &query.location_id {
                Some(location_id) => state.store.entity::<Location>(tenant_id, location_id).await.map(Some),
                None => Ok(None),
            }
        },
        state.store.all::<Person>(tenant_id),
        state.store.all::<Position>(tenant_id),
        async {
            Ok::<_, Error>(match query.group_by {
                GroupBy::Unit => {
                    state.store.all::<Unit>(tenant_id).await?.into_iter().map(|u| (u.id, u.name)).collect()
                }
                GroupBy::Location => {
                    state.store.all::<Location>(tenant_id).await?.into_iter().map(|l| (l.id, l.name)).collect()
                }
                _ => HashMap::new(),
            })
        },
        state.store.shifts_with_assignments_between(tenant_id, locations.as_deref(), (&shifts_from, &last)),
        state.store.all_attendance(tenant_id, (None, locations.as_deref()), (&records_from, &last), Filter::default()),
    )?;
    let tenant = tenant.ok_or(Error::NotFound)?;
    if let Some(location) = location {
        caller.within_location(&location.ok_or(Error::NotFound)?.id)?;
    }
    let zone = tenant.zone()?;
    let in_range = |start: &str| {
        start.parse::<DateTime<Utc>>().is_ok_and(|start| (query.from..=query.to).contains(&local_date(start, zone)))
    };
    let people: HashMap<&str, &Person> = people.iter().map(|person| (person.id.as_str(), person)).collect();
    let positions: HashMap<&str, &Position> = positions.iter().map(|p| (p.id.as_str(), p)).collect();
    // Someone limited to units sees the hours of their units' people only.
    let seen = |person_id: &str| match people.get(person_id) {
        Some(person) => caller.sees_person(person),
        None => caller.scope.sees_unit(None),
    };
    let group_of =
        |person_id: &str, position_id: &'_ str, location_id: &'_ str, event_id: Option<&'_ str>| match query.group_by {
            GroupBy::Person => Some(person_id.to_owned()),
            GroupBy::Position => Some(position_id.to_owned()),
            GroupBy::Location => Some(location_id.to_owned()),
            GroupBy::Event => event_id.map(str::to_owned),
            GroupBy::Unit => people.get(person_id).and_then(|person| person.unit_id.clone()),
        };
    let mut places = Vec::new();
    for (shift, assignments) in &shifts {
        if shift.status != ShiftStatus::Published || !in_range(&shift.start) {
            continue;
        }
        let paid_minutes = shift.duration_minutes - i64::from(shift.break_minutes);
        for assignment in assignments {
            if tenant.settings.counts_as_scheduled(assignment.status) && seen(&assignment.person_id) {
                let group =
                    group_of(&assignment.person_id, &shift.position_id, &shift.location_id, shift.event_id.as_deref());
                places.push((group, paid_minutes));
            }
        }
    }
    let records: Vec<(Option<String>, &Attendance)> = records
        .iter()
        .filter(|record| seen(&record.person_id))
        .map(|record| {
            (group_of(&record.person_id, &record.position_id, &record.location_id, record.event_id.as_deref()), record)
        })
        .collect();
    let places: Vec<Place> = places
        .iter()
        .map(|(group, paid_minutes)| Place { group: group.as_deref(), paid_minutes: *paid_minutes })
        .collect();
    let worked: Vec<Worked> = records
        .iter()
        .map(|(group, record)| Worked {
            person_id: &record.person_id,
            group: group.as_deref(),
            day: record.worked_on(zone).map(|(day, _)| day),
            in_range: in_range(&record.shift_start),
            checked_in: record.check_in_at.is_some(),
            late: record.late_minutes > 0,
            absent: record.status == Some(Status::Absent),
            worked_minutes: record.worked_minutes,
            rate_minor: rate(record, &people, &positions),
        })
        .collect();
    let (figures, total) = report(&places, &worked, tenant.week_start, &tenant.settings);
    // Round trip 2, when the rows are events: their titles.
    if query.group_by == GroupBy::Event {
        let ids: Vec<&str> = figures.keys().flatten().copied().collect();
        let events: Vec<Event> = state.store.entities_among(tenant_id, &ids).await?;
        names.extend(events.into_iter().map(|event| (event.id, event.title)));
    }
    let name_of = |id: &str| match query.group_by {
        GroupBy::Person => people.get(id).map(|person| person.name.as_str()),
        GroupBy::Position => positions.get(id).map(|position| position.name.as_str()),
        _ => names.get(id).map(String::as_str),
    };
    let sees_costs = caller.require(Permission::CostsRead).is_ok();
    let shown = |mut figures: HoursFigures| {
        if !sees_costs {
            figures.costs = None;
        }
        figures
    };
    let mut groups: Vec<ReportGroup> = figures
        .into_iter()
        .map(|(id, figures)| {
            let name = match id {
                Some(id) => name_of(id).unwrap_or(id),
                None if query.group_by == GroupBy::Unit => "No unit",
                None => "No event",
            };
            ReportGroup { id: id.map(str::to_owned), name: name.to_owned(), figures: shown(figures) }
        })
        .collect();
    groups.sort_by_cached_key(|group| (group.id.is_none(), group.name.to_lowercase(), group.id.clone()));
    let report = HoursReport {
        from: query.from,
        to: query.to,
        group_by: query.group_by,
        currency: tenant.currency,
        groups,
        total: shown(total),
    };
    match query.format.unwrap_or_default() {
        ReportFormat::Json => Ok(Json(report).into_response()),
        ReportFormat::Csv => {
            let file = format!("hours-{}-{}-by-{}.csv", report.from, report.to, report.group_by.as_str());
            let body = csv_of(&report, sees_costs)?;
            Ok((
                [
                    (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                    (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{file}\"")),
                ],
                body,
            )
                .into_response())
        }
    }
}

/// What a record's hours cost per hour: the person's own rate, as payroll pays it, else the
/// default of the record's position.
fn rate(record: &Attendance, people: &HashMap<&str, &Person>, positions: &HashMap<&str, &Position>) -> Option<i64> {
    let own = people.get(record.person_id.as_str()).and_then(|person| person.hourly_rate_minor);
    let default = || positions.get(record.position_id.as_str()).and_then(|p| p.default_hourly_rate_minor);
    own.or_else(default).map(|rate| rate as i64)
}

/// The CSV columns, in order (the costs' last three for those who see costs).
const HEADER: [&str; 17] = [
    "group_by",
    "id",
    "name",
    "scheduled_places",
    "scheduled_hours",
    "records",
    "checked_in",
    "worked_hours",
    "regular_hours",
    "overtime_hours",
    "late",
    "late_rate",
    "absent",
    "no_show_rate",
    "cost",
    "unpriced_hours",
    "currency",
];

/// The report as a CSV file: a row per group, then `total`; hours and money as decimals.
fn csv_of(report: &HoursReport, sees_costs: bool) -> Result<Vec<u8>, Error> {
    let columns = if sees_costs { HEADER.len() } else { HEADER.len() - 3 };
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(&HEADER[..columns]).map_err(Error::internal)?;
    let rows = report
        .groups
        .iter()
        .map(|group| (group.id.as_deref().unwrap_or_default(), group.name.as_str(), &group.figures));
    for (id, name, figures) in rows.chain([("", "total", &report.total)]) {
        let mut row = vec![
            report.group_by.as_str().to_owned(),
            id.to_owned(),
            cell(name),
            figures.scheduled_places.to_string(),
            hours(figures.scheduled_minutes),
            figures.records.to_string(),
            figures.checked_in.to_string(),
            hours(figures.worked_minutes),
            hours(figures.regular_minutes),
            hours(figures.overtime_minutes),
            figures.late.to_string(),
            figures.late_rate.to_string(),
            figures.absent.to_string(),
            figures.no_show_rate.to_string(),
        ];
        if let Some(costs) = figures.costs.filter(|_| sees_costs) {
            row.extend([
                money::decimal(costs.cost_minor, &report.currency),
                hours(costs.unpriced_minutes),
                report.currency.clone(),
            ]);
        }
        writer.write_record(&row).map_err(Error::internal)?;
    }
    writer.into_inner().map_err(Error::internal)
}
