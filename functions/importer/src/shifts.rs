//! A shifts file's rows, validated whole into draft shifts: location, position and event by
//! name, the date and local start and end at the location (an end not after the start is the
//! next day), as `POST /shifts` would make them. A local time the clocks skip or repeat that day
//! is named, not guessed.
//!
//! Assignees (by email) go through the conflict engine as a coordinator's assignment would,
//! against their stored schedules and the file's earlier rows. Their schedules gain the new
//! shifts after the rows are written and before the commit, each conditioned on the version the
//! check read ([`book`]): an assignment made meanwhile refuses the write and the job runs again,
//! checking anew. From then until the commit a booked shift counts against its assignee for
//! everyone's checks, though nobody can see it; an import that then fails gives the bookings
//! back ([`prepare`]).

use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use futures_util::{StreamExt, TryStreamExt};
use rota::Error;
use rota::domain::conflicts::{self, Candidate, Placement, Violation};
use rota::domain::imports::{SHIFTS, match_header};
use rota::domain::time::{MAX_SHIFT_MINUTES, minutes_between};
use rota::store::Store;
use rota::store::entities::Archivable;
use rota::store::imports::{Import, RowError};
use rota::store::people::{Person, PersonStatus};
use rota::store::places::{Location, Position};
use rota::store::placing::{candidate, rules, slot};
use rota::store::schedule::{Assignment, AssignmentStatus, Booked, Event, MAX_HEADCOUNT, Schedule, Shift};

use crate::sheet::{Cell, Cells, Sheet};
use crate::{name_key, whole_number};

/// What a valid shifts file adds.
pub struct Staffing {
    /// Each draft shift (with the id its row number gives it) and its assignments, offered: the
    /// offers go out when the shift is published.
    pub rows: Vec<(Shift, Vec<Assignment>)>,
    /// Each assignee's schedule as the check read it, and the shifts it gains.
    pub bookings: Vec<Bookings>,
    /// Placements made despite warnings (the import's `force`).
    pub forced: usize,
    /// The positions' default hourly rates, by id: what their event's dashboard estimates at.
    pub default_rates: HashMap<String, Option<u64>>,
}

pub struct Bookings {
    pub person_id: String,
    pub read: Schedule,
    pub add: Vec<(String, Booked)>,
}

/// Bookings per schedule update (an update expression holds at most 4 KB).
const BOOKINGS_PER_UPDATE: usize = 50;
/// Schedule transactions in flight at once.
const TRANSACTIONS_AT_ONCE: usize = 4;

/// What a valid file adds, or every error.
pub async fn prepare(store: &Store, import: &Import, sheet: &Sheet) -> Result<Result<Staffing, Vec<RowError>>, Error> {
    let columns = match match_header(SHIFTS, &sheet.header) {
        Ok(columns) => columns,
        Err(errors) => return Ok(Err(errors)),
    };
    let tenant_id = &import.tenant_id;
    let (locations, positions, events) = tokio::try_join!(
        store.all::<Location>(tenant_id),
        store.all::<Position>(tenant_id),
        store.all::<Event>(tenant_id)
    )?;
    let mut names = Names::default();
    for location in locations.into_iter().filter(|location| !location.archived()) {
        names.locations.insert(name_key(&location.name), location);
    }
    for position in positions.into_iter().filter(|position| !position.archived()) {
        names.positions.insert(name_key(&position.name), position);
    }
    for event in events.into_iter().filter(|event| !event.archived()) {
        names.events.entry(name_key(&event.title)).or_default().push(event.id);
    }
    let mut errors = Vec::new();
    let mut rows = Vec::with_capacity(sheet.rows.len());
    let mut first_row_of: HashMap<(String, String, String, String), usize> = HashMap::new();
    for (index, row) in sheet.rows.iter().enumerate() {
        let cells = Cells { row, columns: SHIFTS, positions: &columns };
        match shift_of(&cells, &names, import, crate::row_id(&import.id, index)) {
            Ok(shift) => {
                let slot =
                    (shift.location_id.clone(), shift.position_id.clone(), shift.start.clone(), shift.end.clone());
                match first_row_of.get(&slot) {
                    Some(first) => errors.push(RowError::new(
                        row.number,
                        None,
                        "duplicate_in_file",
                        format!("the same shift as row {first}: raise its headcount instead"),
                    )),
                    None => {
                        first_row_of.insert(slot, row.number);
                        rows.push(Row { number: row.number, assignees: assignees_of(cells.get("assignees")), shift });
                    }
                }
            }
            Err(row_errors) => errors.extend(row_errors),
        }
    }
    let own: HashSet<String> = (0..sheet.rows.len()).map(|index| crate::row_id(&import.id, index)).collect();
    let (mut staffing, leftovers) = staff(store, import, rows, &own, &mut errors).await?;
    staffing.default_rates =
        names.positions.into_values().map(|position| (position.id, position.default_hourly_rate_minor)).collect();
    if errors.is_empty() {
        return Ok(Ok(staffing));
    }
    give_back(store, &import.tenant_id, leftovers).await?;
    errors.sort_by_key(|error| error.row);
    Ok(Err(errors))
}

/// A row that made a shift, and its assignees' addresses.
struct Row {
    number: usize,
    shift: Shift,
    assignees: Vec<String>,
}

/// The addresses of an `assignees` cell: separated by `;`, `,` or white space, any case, each once.
fn assignees_of(cell: &Cell) -> Vec<String> {
    let mut seen = BTreeSet::new();
    cell.text()
        .split(|c: char| c == ';' || c == ',' || c.is_whitespace())
        .filter(|address| !address.is_empty())
        .map(str::to_lowercase)
        .filter(|address| seen.insert(address.clone()))
        .collect()
}

/// Places each row's assignees through the conflict engine, in file order (each placement
/// counts for the rows after it), recording every refusal in `errors`. Answers what the file
/// adds, and the bookings an earlier run of this import left in schedules (the `own` shift ids),
/// to give back if it fails.
async fn staff(
    store: &Store,
    import: &Import,
    rows: Vec<Row>,
    own: &HashSet<String>,
    errors: &mut Vec<RowError>,
) -> Result<(Staffing, Vec<(String, Vec<String>)>), Error> {
    let tenant_id = &import.tenant_id;
    let addresses: BTreeSet<&str> = rows.iter().flat_map(|row| row.assignees.iter().map(String::as_str)).collect();
    if addresses.is_empty() {
        let rows = rows.into_iter().map(|row| (row.shift, Vec::new())).collect();
        return Ok((Staffing { rows, bookings: Vec::new(), forced: 0, default_rates: HashMap::new() }, Vec::new()));
    }
    // Every person record, not the address claims: someone imported a minute ago has no
    // invitation yet. A deactivated record gives way to a newer one of the same address.
    let (tenant, everyone) = tokio::try_join!(store.tenant(tenant_id), store.all::<Person>(tenant_id))?;
    let rules = rules(&tenant.ok_or_else(|| Error::internal("the import's organisation is gone"))?)?;
    let mut members: HashMap<&str, &Person> = HashMap::new();
    for person in everyone.iter().filter(|person| addresses.contains(person.email.as_str())) {
        let kept = members.entry(person.email.as_str()).or_insert(person);
        if kept.status == PersonStatus::Inactive {
            *kept = person;
        }
    }
    let person_ids: Vec<String> =
        members.values().map(|person| person.id.clone()).collect::<BTreeSet<_>>().into_iter().collect();
    let placings = store.placing(tenant_id, &person_ids).await?;
    let mut people: HashMap<String, Assignee> = HashMap::new();
    let mut leftovers = Vec::new();
    for (person_id, placing) in person_ids.iter().zip(placings) {
        let Some(mut candidate) = candidate(person_id, &placing)? else { continue };
        // An earlier run of this import booked these: the file's own rows say where they go.
        let left: Vec<String> = placing.schedule.shifts.keys().filter(|id| own.contains(*id)).cloned().collect();
        if !left.is_empty() {
            candidate.shifts.retain(|slot| !own.contains(&slot.id));
            leftovers.push((person_id.clone(), left));
        }
        let bookings = Bookings { person_id: person_id.clone(), read: placing.schedule, add: Vec::new() };
        people.insert(person_id.clone(), Assignee { candidate, bookings });
    }
    let row_of: HashMap<&str, usize> = rows.iter().map(|row| (row.shift.id.as_str(), row.number)).collect();
    let mut forced = 0;
    let mut staffed = Vec::with_capacity(rows.len());
    for row in &rows {
        let (shift, slot) = (&row.shift, slot(&row.shift)?);
        let mut placed = Vec::new();
        for address in &row.assignees {
            let Some(assignee) = members.get(address.as_str()).and_then(|person| people.get_mut(&person.id)) else {
                errors.push(RowError::new(
                    row.number,
                    Some("assignees"),
                    "unknown_person",
                    format!("no one in the organisation has the address {address}"),
                ));
                continue;
            };
            let violations = conflicts::check(
                &slot,
                shift.headcount,
                placed.len() as u32,
                &assignee.candidate,
                &rules,
                Placement::Assign,
            );
            let warned = !violations.is_empty();
            if violations.iter().any(|violation| violation.blocking) || (warned && !import.force) {
                let told = Told { address, shift, row_of: &row_of };
                errors.extend(violations.iter().map(|violation| told.error(row.number, violation, import.force)));
                continue;
            }
            forced += usize::from(warned);
            assignee.candidate.shifts.push(slot.clone());
            assignee.bookings.add.push((shift.id.clone(), Booked::of(shift)));
            let by = (import.requested_by.as_str(), warned);
            placed.push(Assignment::new(
                shift,
                &assignee.candidate.person_id,
                AssignmentStatus::Offered,
                by,
                &shift.created_at,
            ));
        }
        staffed.push(placed);
    }
    let rows = rows
        .into_iter()
        .zip(staffed)
        .map(|(mut row, placed)| {
            row.shift.assigned_count = placed.len() as u32;
            (row.shift, placed)
        })
        .collect();
    let mut bookings: Vec<Bookings> =
        people.into_values().map(|assignee| assignee.bookings).filter(|bookings| !bookings.add.is_empty()).collect();
    bookings.sort_by(|a, b| a.person_id.cmp(&b.person_id));
    Ok((Staffing { rows, bookings, forced, default_rates: HashMap::new() }, leftovers))
}

/// An assignee as the check goes down the file.
struct Assignee {
    candidate: Candidate,
    bookings: Bookings,
}

/// A refused placement told in the file's terms: the address, the position's name, the row of
/// another shift of the file.
struct Told<'a> {
    address: &'a str,
    shift: &'a Shift,
    row_of: &'a HashMap<&'a str, usize>,
}

impl Told<'_> {
    fn error(&self, row: usize, violation: &Violation, forced: bool) -> RowError {
        let mut detail = violation
            .detail
            .replace(&violation.person_id, self.address)
            .replace(&self.shift.position_id, &self.shift.position_name);
        if let Some((other, other_row)) = violation.shift_id.as_deref().and_then(|id| Some((id, self.row_of.get(id)?)))
        {
            detail = detail.replace(&format!("shift {other}"), &format!("the shift of row {other_row}"));
        }
        let code = serde_json::to_value(violation.code).ok().and_then(|code| code.as_str().map(str::to_owned));
        let mut message = format!("{}: {detail}", self.address);
        if !violation.blocking && !forced {
            message.push_str(" (a warning: an import made with `force` places them anyway)");
        }
        RowError::new(row, Some("assignees"), code.as_deref().unwrap_or("conflict"), message)
    }
}

/// Adds each assignee's new shifts to their schedule, only if it is still at the version the
/// check read (several updates in turn for someone with many). An assignment made meanwhile
/// refuses it: the job fails and its retry checks anew.
pub async fn book(store: &Store, tenant_id: &str, bookings: &[Bookings]) -> Result<(), Error> {
    let now = chrono::Utc::now();
    let mut rounds: Vec<Vec<_>> = Vec::new();
    for booking in bookings {
        for (turn, chunk) in booking.add.chunks(BOOKINGS_PER_UPDATE).enumerate() {
            let read = match turn {
                0 => booking.read.clone(),
                turn => Schedule { version: booking.read.version + turn as u64, ..Schedule::default() },
            };
            let chunk: Vec<(&str, Booked)> = chunk.iter().map(|(id, booked)| (id.as_str(), booked.clone())).collect();
            if rounds.len() == turn {
                rounds.push(Vec::new());
            }
            rounds[turn].push(store.schedule_add(tenant_id, &booking.person_id, &read, &chunk, now)?);
        }
    }
    for round in rounds {
        let transactions: Vec<_> = round.chunks(100).map(|items| store.transact(items.to_vec())).collect();
        let outcomes: Vec<_> =
            futures_util::stream::iter(transactions).buffer_unordered(TRANSACTIONS_AT_ONCE).try_collect().await?;
        if outcomes.iter().any(Result::is_err) {
            return Err(Error::internal("an assignee's schedule changed while the import ran: it runs again"));
        }
    }
    Ok(())
}

/// Takes the shifts an earlier run of a now failed import booked off their assignees' schedules
/// (rare: a run that booked them, then a retry that found an error).
async fn give_back(store: &Store, tenant_id: &str, leftovers: Vec<(String, Vec<String>)>) -> Result<(), Error> {
    let mut removals = Vec::new();
    for (person_id, shift_ids) in &leftovers {
        for chunk in shift_ids.chunks(BOOKINGS_PER_UPDATE) {
            removals.push(store.schedule_remove(tenant_id, person_id, chunk)?);
        }
    }
    let removals: Vec<_> = removals.into_iter().map(|removal| store.transact(vec![removal])).collect();
    let outcomes: Vec<_> =
        futures_util::stream::iter(removals).buffer_unordered(TRANSACTIONS_AT_ONCE).try_collect().await?;
    // A schedule always exists where a booking was found.
    outcomes.into_iter().try_for_each(rota::records::committed)
}

#[derive(Default)]
struct Names {
    locations: HashMap<String, Location>,
    positions: HashMap<String, Position>,
    /// Events by title: two of one title cannot be told apart by it.
    events: HashMap<String, Vec<String>>,
}

fn shift_of(cells: &Cells, names: &Names, import: &Import, id: String) -> Result<Shift, Vec<RowError>> {
    let row = cells.row.number;
    let mut errors = Vec::new();
    let mut error =
        |column: &str, code: &str, message: String| errors.push(RowError::new(row, Some(column), code, message));
    let mut required = |column: &str| {
        let blank = cells.get(column).is_blank();
        if blank {
            error(column, "required", format!("`{column}` is required"));
        }
        !blank
    };
    let (has_location, has_position, has_date, has_start, has_end) =
        (required("location"), required("position"), required("date"), required("start"), required("end"));
    let location = cells.text("location");
    let location = has_location.then(|| names.locations.get(&name_key(&location))).flatten().or_else(|| {
        if has_location {
            error("location", "unknown_location", format!("no location is called `{location}`"));
        }
        None
    });
    let position = cells.text("position");
    let position = has_position.then(|| names.positions.get(&name_key(&position))).flatten().or_else(|| {
        if has_position {
            error("position", "unknown_position", format!("no position is called `{position}`"));
        }
        None
    });
    let date = has_date.then(|| date_of(cells.get("date"))).flatten().or_else(|| {
        if has_date {
            error("date", "invalid", format!("`{}` is not a date like 2027-03-01 (2000 to 2100)", cells.text("date")));
        }
        None
    });
    let mut time = |column: &str, present: bool| {
        present.then(|| time_of(cells.get(column))).flatten().or_else(|| {
            if present {
                error(column, "invalid", format!("`{}` is not a time like 18:00", cells.text(column)));
            }
            None
        })
    };
    let (start, end) = (time("start", has_start), time("end", has_end));
    let event_id = match cells.text("event") {
        title if title.is_empty() => None,
        title => match names.events.get(&name_key(&title)).map(Vec::as_slice) {
            Some([id]) => Some(id.clone()),
            Some(_) => {
                error("event", "ambiguous_event", format!("more than one event is called `{title}`"));
                None
            }
            None => {
                error("event", "unknown_event", format!("no event is called `{title}`"));
                None
            }
        },
    };
    let headcount = match cells.get("headcount") {
        cell if cell.is_blank() => Some(1),
        cell => whole_number(cell).filter(|n| (1..=MAX_HEADCOUNT).contains(n)).or_else(|| {
            error("headcount", "invalid", format!("`{}` is not a whole number from 1 to {MAX_HEADCOUNT}", cell.text()));
            None
        }),
    };
    let break_minutes = match cells.get("break_minutes") {
        cell if cell.is_blank() => Some(0),
        cell => whole_number(cell).filter(|n| *n <= 600).or_else(|| {
            error("break_minutes", "invalid", format!("`{}` is not a whole number of minutes up to 600", cell.text()));
            None
        }),
    };
    let notes = Some(cells.text("notes")).filter(|notes| !notes.is_empty());
    if notes.as_ref().is_some_and(|notes| notes.chars().count() > 1000) {
        error("notes", "invalid", "is longer than 1,000 characters".into());
    }
    let (Some(location), Some(position), Some(date), Some(start), Some(end), Some(headcount), Some(break_minutes)) =
        (location, position, date, start, end, headcount, break_minutes)
    else {
        return Err(errors);
    };
    let instants = match location.time_zone.parse::<Tz>() {
        Ok(zone) => instants(zone, date, (start, end)),
        Err(_) => {
            Err(vec![("location", "invalid", format!("the location's time zone {} is unknown", location.time_zone))])
        }
    };
    let (start, end) = match instants {
        Ok(instants) => instants,
        Err(problems) => {
            errors.extend(
                problems.into_iter().map(|(column, code, message)| RowError::new(row, Some(column), code, message)),
            );
            return Err(errors);
        }
    };
    if i64::from(break_minutes) >= minutes_between(start, end) {
        errors.push(RowError::new(row, Some("break_minutes"), "invalid", "must be shorter than the shift"));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let now = import.started_at.as_deref().unwrap_or(&import.created_at);
    let mut shift =
        Shift::draft(id, (location, position), event_id, (start, end), headcount, break_minutes, notes, now)
            .map_err(|error| vec![RowError::new(row, None, "invalid", error.to_string())])?;
    shift.import_id = Some(import.id.clone());
    Ok(shift)
}

/// A problem with one column: its name, code and message.
type Problem = (&'static str, &'static str, String);

/// The instants of a local `date` and start and end at `zone` (an end not after the start is the
/// next day), or why not: a time the clocks skip or repeat that day, a shift over 24 hours.
fn instants(
    zone: Tz,
    date: NaiveDate,
    (start, end): (NaiveTime, NaiveTime),
) -> Result<(DateTime<Utc>, DateTime<Utc>), Vec<Problem>> {
    let end_date = if end <= start { date.succ_opt().unwrap_or(date) } else { date };
    let resolve = |column: &'static str, date: NaiveDate, time: NaiveTime| -> Result<DateTime<Utc>, Problem> {
        let shown = format!("{} on {date} in {zone}", time.format("%H:%M"));
        match zone.from_local_datetime(&date.and_time(time)) {
            chrono::LocalResult::Single(at) => Ok(at.to_utc()),
            chrono::LocalResult::Ambiguous(..) => Err((
                column,
                "ambiguous_time",
                format!("{shown} happens twice (the clocks go back): pick a time outside the repeated hour"),
            )),
            chrono::LocalResult::None => Err((
                column,
                "nonexistent_time",
                format!("{shown} does not exist (the clocks go forward): pick a time outside the skipped hour"),
            )),
        }
    };
    match (resolve("start", date, start), resolve("end", end_date, end)) {
        (Ok(start), Ok(end)) if minutes_between(start, end) > MAX_SHIFT_MINUTES => {
            Err(vec![("end", "invalid", "the shift is longer than 24 hours".to_owned())])
        }
        (Ok(start), Ok(end)) => Ok((start, end)),
        (start, end) => Err([start.err(), end.err()].into_iter().flatten().collect()),
    }
}

/// A date cell, or text like `2027-03-01`, within 2000–2100.
fn date_of(cell: &Cell) -> Option<NaiveDate> {
    let date = match cell {
        Cell::DateTime(at) => at.date(),
        cell => NaiveDate::parse_from_str(&cell.text(), "%Y-%m-%d").ok()?,
    };
    (2000..=2100).contains(&date.year()).then_some(date)
}

/// A time cell, a day fraction (0.75 is 18:00), or text like `18:00` or `6:30`.
fn time_of(cell: &Cell) -> Option<NaiveTime> {
    match cell {
        Cell::DateTime(at) => Some(at.time()),
        Cell::Number(fraction) if (0.0..1.0).contains(fraction) => {
            let seconds = (fraction * 86_400.0).round() as u32;
            NaiveTime::from_num_seconds_from_midnight_opt(seconds.min(86_399), 0)
        }
        cell => {
            let text = cell.text();
            NaiveTime::parse_from_str(&text, "%H:%M").or_else(|_| NaiveTime::parse_from_str(&text, "%H:%M:%S")).ok()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(date: &str, time: &str) -> (NaiveDate, NaiveTime) {
        (date.parse().unwrap(), time.parse().unwrap())
    }

    #[test]
    fn an_end_not_after_the_start_is_the_next_day() {
        let london: Tz = "Europe/London".parse().unwrap();
        let (date, start) = at("2027-06-01", "22:00:00");
        let (start, end) = instants(london, date, (start, "06:00:00".parse().unwrap())).unwrap();
        assert_eq!(
            (start.to_rfc3339(), end.to_rfc3339()),
            ("2027-06-01T21:00:00+00:00".into(), "2027-06-02T05:00:00+00:00".into())
        );
    }

    #[test]
    fn times_the_clocks_skip_or_repeat_are_named_not_guessed() {
        let london: Tz = "Europe/London".parse().unwrap();
        let (spring, skipped) = at("2027-03-28", "01:30:00");
        let problems = instants(london, spring, (skipped, "09:00:00".parse().unwrap())).unwrap_err();
        assert_eq!((problems[0].0, problems[0].1), ("start", "nonexistent_time"));
        let (autumn, repeated) = at("2027-10-31", "01:30:00");
        let problems = instants(london, autumn, ("00:00:00".parse().unwrap(), repeated)).unwrap_err();
        assert_eq!((problems[0].0, problems[0].1), ("end", "ambiguous_time"));
    }

    #[test]
    fn dates_and_times_from_text_serials_and_fractions() {
        assert_eq!(date_of(&Cell::Text("2027-03-01".into())), Some("2027-03-01".parse().unwrap()));
        assert_eq!(date_of(&Cell::Text("01/03/2027".into())), None, "only ISO dates: 01/03 is March or January");
        assert_eq!(date_of(&Cell::Text("1999-12-31".into())), None);
        assert_eq!(time_of(&Cell::Number(0.75)), Some("18:00:00".parse().unwrap()));
        assert_eq!(time_of(&Cell::Text("6:30".into())), Some("06:30:00".parse().unwrap()));
        assert_eq!(time_of(&Cell::Text("25:00".into())), None);
        assert_eq!(time_of(&Cell::Number(1.5)), None);
    }
}
