//! Events, shifts, assignments and each person's schedule.
//!
//! - An event (`EVENT#`) and a shift (`SHIFT#`) are tenant records like any other; a shift is also
//!   on gsi1 under its location and on gsi2 under the tenant, both by start, so a location's week
//!   or the organisation's day is one Query.
//! - An assignment (`ASSIGN#{shift}_{person}`) exists once per person and shift (a conditional
//!   put), and sits on gsi1 under its person by start (their calendar). It carries a copy of its
//!   shift's times, kept in step by every change of the shift.
//! - A person's schedule (`SCHED#{person}`) lists their assigned shifts around now, read strongly
//!   consistent, and carries a `version` every assignment of theirs moves on in the same
//!   transaction. The conflict check reads it and the write is conditioned on it, so two
//!   concurrent assignments of one person cannot both pass a check that saw neither (and a GSI's
//!   lag never hides a fresh assignment from the check).

use std::collections::BTreeMap;

use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::types::builders::UpdateBuilder;
use aws_sdk_dynamodb::types::{Put, TransactWriteItem, Update};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::entities::{Archivable, Entity, Filter};
use super::page::{Index, Page, PageRequest};
use super::places::{Location, Position};
use super::{Item, Store, from_item, key, keys, n, s, to_item};
use crate::Error;
use crate::domain::settings::Weekday;
use chrono::{DateTime, Utc};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EventStatus {
    Planned,
    Confirmed,
    Cancelled,
    Completed,
}

/// Something the organisation runs over one or more days (a festival, a conference, a term).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Event {
    pub id: String,
    pub tenant_id: String,
    pub title: String,
    pub location_id: Option<String>,
    /// First day, in the location's calendar (`YYYY-MM-DD`).
    pub starts_on: String,
    /// Last day, inclusive.
    pub ends_on: String,
    pub tags: Vec<String>,
    pub status: EventStatus,
    pub archived_at: Option<String>,
    pub version: u64,
    pub created_at: String,
    pub updated_at: String,
}

crate::entity!(Event, "EVENT#", "event");

impl Archivable for Event {
    fn archived(&self) -> bool {
        self.archived_at.is_some()
    }
    fn archive(&mut self, now: &str) {
        self.archived_at.get_or_insert_with(|| now.to_owned());
    }
}

/// A shift's supervisor, with the links a phone opens: WhatsApp (`https://wa.me/{digits}`, for a
/// number in E.164) and a call (`tel:`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Supervisor {
    pub person_id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub whatsapp_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tel_url: Option<String>,
}

impl Supervisor {
    pub fn of(person: &crate::store::people::Person) -> Self {
        let phone = person.phone.clone();
        let e164 = phone.as_deref().and_then(crate::phone::e164);
        Self {
            person_id: person.id.clone(),
            name: person.name.clone(),
            whatsapp_url: e164.map(|phone| format!("https://wa.me/{}", phone.trim_start_matches('+'))),
            tel_url: phone.as_deref().map(|phone| format!("tel:{}", phone.replace([' ', '(', ')', '.'], ""))),
            phone,
        }
    }
}

/// `draft` (only coordinators see it, nobody can claim it) → `published` → `cancelled`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ShiftStatus {
    Draft,
    Published,
    Cancelled,
}

/// Where a shift is worked: the location's point and geofence radius. A shift keeps them as they
/// were when it was made (like its zone), so a check-in is judged without reading the location.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Site {
    /// WGS 84 degrees.
    pub lat: f64,
    pub lng: f64,
    pub radius_m: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Shift {
    pub id: String,
    pub tenant_id: String,
    pub location_id: String,
    pub position_id: String,
    /// The location's and position's names when the shift was made (or its position changed).
    pub location_name: String,
    pub position_name: String,
    /// The location's geofence when the shift was made: where its check-ins are judged.
    pub site: Site,
    pub event_id: Option<String>,
    /// UTC instant, `YYYY-MM-DDTHH:MM:SSZ`.
    pub start: String,
    pub end: String,
    /// The location's zone when the shift was made: `start_local` and `end_local` are in it.
    pub time_zone: String,
    /// `start` as the location's clock shows it, with the offset (`2030-03-30T22:00:00+00:00`).
    pub start_local: String,
    pub end_local: String,
    /// Real minutes from start to end (a DST night counts what the clock skips or repeats).
    pub duration_minutes: i64,
    /// Unpaid break within the shift.
    pub break_minutes: u32,
    /// How many people the shift needs.
    pub headcount: u32,
    /// How many hold it now (offered or accepted); never above `headcount`.
    pub assigned_count: u32,
    pub status: ShiftStatus,
    pub notes: Option<String>,
    /// Who runs it on site, as they were when named: staff call or message them from the shift.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supervisor: Option<Supervisor>,
    /// When a draft left unpublished 30 days past its start was archived by the scheduled job:
    /// kept (and audited), but no longer listed.
    #[serde(default)]
    pub archived_at: Option<String>,
    /// The import that added this shift, if one did (`GET /imports/{import_id}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub import_id: Option<String>,
    pub version: u64,
    pub created_at: String,
    pub updated_at: String,
}

/// The most people one shift needs: a change of the shift updates every assignee in one
/// transaction (at most 100 items).
pub const MAX_HEADCOUNT: u32 = 40;

impl Shift {
    /// A new draft shift of `position` at `location` from `start` to `end` (whole seconds,
    /// checked by the caller), in the location's zone as it is now.
    #[allow(clippy::too_many_arguments)]
    pub fn draft(
        id: String,
        (location, position): (&Location, &Position),
        event_id: Option<String>,
        (start, end): (DateTime<Utc>, DateTime<Utc>),
        headcount: u32,
        break_minutes: u32,
        notes: Option<String>,
        now: &str,
    ) -> Result<Self, Error> {
        let mut shift = Shift {
            id,
            tenant_id: location.tenant_id.clone(),
            location_id: location.id.clone(),
            position_id: position.id.clone(),
            location_name: location.name.clone(),
            position_name: position.name.clone(),
            site: Site { lat: location.lat, lng: location.lng, radius_m: location.radius_m },
            event_id,
            start: String::new(),
            end: String::new(),
            time_zone: location.time_zone.clone(),
            start_local: String::new(),
            end_local: String::new(),
            duration_minutes: 0,
            break_minutes,
            headcount,
            assigned_count: 0,
            status: ShiftStatus::Draft,
            notes,
            supervisor: None,
            archived_at: None,
            import_id: None,
            version: 1,
            created_at: now.to_owned(),
            updated_at: now.to_owned(),
        };
        shift.set_times(start, end)?;
        Ok(shift)
    }

    /// Sets the shift's instants and everything derived from them.
    pub fn set_times(&mut self, start: DateTime<Utc>, end: DateTime<Utc>) -> Result<(), Error> {
        let zone: chrono_tz::Tz = self
            .time_zone
            .parse()
            .map_err(|_| Error::internal(format!("a stored time zone does not parse: {}", self.time_zone)))?;
        self.start = crate::clock::instant(start);
        self.end = crate::clock::instant(end);
        self.start_local = crate::domain::time::local_rfc3339(start, zone);
        self.end_local = crate::domain::time::local_rfc3339(end, zone);
        self.duration_minutes = crate::domain::time::minutes_between(start, end);
        Ok(())
    }
}

crate::entity!(
    Shift,
    "SHIFT#",
    "shift",
    imported = true,
    extra = |shift: &Shift| {
        let sort = format!("{}#{}", shift.start, shift.id);
        let mut keys = vec![
            ("gsi1pk", keys::location_shifts(&shift.tenant_id, &shift.location_id)),
            ("gsi1sk", sort.clone()),
            ("gsi2pk", keys::shifts(&shift.tenant_id)),
            ("gsi2sk", sort.clone()),
        ];
        if let Some(event) = &shift.event_id {
            keys.extend([("gsi3pk", keys::event_shifts(&shift.tenant_id, event)), ("gsi3sk", sort)]);
        }
        keys
    }
);

impl Archivable for Shift {
    fn archived(&self) -> bool {
        self.archived_at.is_some()
    }
    fn archive(&mut self, now: &str) {
        self.archived_at.get_or_insert_with(|| now.to_owned());
    }
}

impl Shift {
    /// A draft this many days past its start is archived by the scheduled job.
    pub const STALE_DRAFT_DAYS: i64 = 30;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AssignmentStatus {
    /// Assigned, waiting for the person's answer.
    Offered,
    Accepted,
    Declined,
}

/// One person on one shift. Its id is `{shift_id}_{person_id}`: a person holds a shift once.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Assignment {
    pub id: String,
    pub tenant_id: String,
    pub shift_id: String,
    pub person_id: String,
    pub status: AssignmentStatus,
    /// Placed despite warnings (`force=true`); the audit entry keeps what was overridden.
    pub forced: bool,
    /// Who placed them: the coordinator who offered it, or the person who claimed it.
    pub assigned_by: String,
    /// The shift's, copied so a person's calendar is one Query.
    pub start: String,
    pub end: String,
    pub location_id: String,
    pub position_id: String,
    pub location_name: String,
    pub position_name: String,
    /// The shift's event, if it has one (a shift's event never changes).
    pub event_id: Option<String>,
    /// The shift's supervisor, kept in step with it: who to call or message from the gate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supervisor: Option<Supervisor>,
    pub shift_status: ShiftStatus,
    pub version: u64,
    pub created_at: String,
    pub updated_at: String,
}

crate::entity!(
    Assignment,
    "ASSIGN#",
    "assignment",
    extra = |assignment: &Assignment| {
        let sort = format!("{}#{}", assignment.start, assignment.shift_id);
        let mut keys = vec![
            ("gsi1pk", keys::person_shifts(&assignment.tenant_id, &assignment.person_id)),
            ("gsi2pk", keys::assignments(&assignment.tenant_id)),
            ("gsi2sk", format!("{sort}#{}", assignment.person_id)),
        ];
        if let Some(event) = &assignment.event_id {
            keys.extend([
                ("gsi3pk", keys::event_shifts(&assignment.tenant_id, event)),
                ("gsi3sk", format!("{sort}#{}", assignment.person_id)),
            ]);
        }
        keys.push(("gsi1sk", sort));
        keys
    }
);

impl Assignment {
    /// `person_id`'s new assignment to `shift`, placed by `by` (forced past warnings or not).
    pub fn new(
        shift: &Shift,
        person_id: &str,
        status: AssignmentStatus,
        (by, forced): (&str, bool),
        now: &str,
    ) -> Self {
        Self {
            id: Self::id_of(&shift.id, person_id),
            tenant_id: shift.tenant_id.clone(),
            shift_id: shift.id.clone(),
            person_id: person_id.to_owned(),
            status,
            forced,
            assigned_by: by.to_owned(),
            start: shift.start.clone(),
            end: shift.end.clone(),
            location_id: shift.location_id.clone(),
            position_id: shift.position_id.clone(),
            location_name: shift.location_name.clone(),
            position_name: shift.position_name.clone(),
            event_id: shift.event_id.clone(),
            supervisor: shift.supervisor.clone(),
            shift_status: shift.status,
            version: 1,
            created_at: now.to_owned(),
            updated_at: now.to_owned(),
        }
    }

    pub fn id_of(shift_id: &str, person_id: &str) -> String {
        format!("{shift_id}_{person_id}")
    }

    /// The shift and person of an assignment id, if it is one.
    pub fn parts(id: &str) -> Option<(&str, &str)> {
        id.split_once('_').filter(|(shift, person)| !shift.is_empty() && !person.is_empty())
    }
}

/// A shift as a person's schedule keeps it: what the conflict rules need.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Booked {
    pub start: String,
    pub end: String,
    pub break_minutes: u32,
    pub position_id: String,
    pub time_zone: String,
    /// The shift's event: whose dashboard a release changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
}

impl Booked {
    pub fn of(shift: &Shift) -> Self {
        Self {
            start: shift.start.clone(),
            end: shift.end.clone(),
            break_minutes: shift.break_minutes,
            position_id: shift.position_id.clone(),
            time_zone: shift.time_zone.clone(),
            event_id: shift.event_id.clone(),
        }
    }
}

/// Approved time off as a person's schedule keeps it: local dates, both included.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Away {
    pub from: String,
    pub to: String,
}

/// A person's assigned, not cancelled shifts by id (those that ended within
/// [`Schedule::KEPT_DAYS`] and later ones), their approved time off by request id, and the
/// version each change of either moves on. Shift entries are set and removed one by one
/// (`SET shifts.#id`), so a shift's change updates its assignees' schedules without reading them.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Schedule {
    pub version: u64,
    pub shifts: BTreeMap<String, Booked>,
    #[serde(default)]
    pub time_off: BTreeMap<String, Away>,
}

impl Schedule {
    /// Shifts that ended longer ago than this are dropped from the schedule (the assignments
    /// stay): no rule looks further back than a month of consecutive days.
    pub const KEPT_DAYS: i64 = 35;

    /// The shift ids whose entries are past keeping at `now`.
    pub fn expired(&self, now: chrono::DateTime<chrono::Utc>) -> Vec<String> {
        let horizon = crate::clock::instant(now - chrono::Duration::days(Self::KEPT_DAYS));
        self.shifts.iter().filter(|(_, booked)| booked.end < horizon).map(|(id, _)| id.clone()).collect()
    }
}

impl Store {
    /// An event's shifts, each followed by its assignments (declined ones included), by start:
    /// one Query of the event's own index, page after page.
    pub async fn event_shifts(&self, tenant_id: &str, event_id: &str) -> Result<Vec<(Shift, Vec<Assignment>)>, Error> {
        let query = self
            .client
            .query()
            .index_name("gsi3")
            .key_condition_expression("gsi3pk = :pk")
            .expression_attribute_values(":pk", s(keys::event_shifts(tenant_id, event_id)));
        let mut shifts: Vec<Shift> = Vec::new();
        let mut assignments: BTreeMap<String, Vec<Assignment>> = BTreeMap::new();
        let (items, staged) = tokio::try_join!(self.every(query), self.staged_imports(tenant_id))?;
        for item in items {
            if item.get("sk").and_then(|sk| sk.as_s().ok()).is_some_and(|sk| sk.starts_with(Shift::PREFIX)) {
                shifts.push(from_item(item)?);
            } else {
                let assignment: Assignment = from_item(item)?;
                assignments.entry(assignment.shift_id.clone()).or_default().push(assignment);
            }
        }
        // Shifts of an import that has not committed are not seen (see `super::imports`).
        shifts.retain(|shift| !shift.import_id.as_ref().is_some_and(|id| staged.contains(id)));
        Ok(shifts
            .into_iter()
            .map(|shift| {
                let held = assignments.remove(&shift.id).unwrap_or_default();
                (shift, held)
            })
            .collect())
    }

    /// Every shift starting within `[from, to)` with its assignments (declined ones included), of
    /// the whole organisation or, with `locations`, of theirs: the organisation's shifts and its
    /// assignments by start (gsi2 both), two Queries in parallel, page after page.
    pub async fn shifts_with_assignments_between(
        &self,
        tenant_id: &str,
        locations: Option<&[String]>,
        range: (&str, &str),
    ) -> Result<Vec<(Shift, Vec<Assignment>)>, Error> {
        let read = |partition: String| {
            let query = self.by_start_query(Index::Gsi2, partition, (Some(range.0), Some(range.1)));
            let filter = match locations {
                Some(locations) => Filter::default().and_among("location_id", locations),
                None => Filter::default(),
            };
            self.every(filter.apply(query).0)
        };
        let (shifts, assignments, staged) = tokio::try_join!(
            read(keys::shifts(tenant_id)),
            read(keys::assignments(tenant_id)),
            self.staged_imports(tenant_id)
        )?;
        let mut held: BTreeMap<String, Vec<Assignment>> = BTreeMap::new();
        for item in assignments {
            let assignment: Assignment = from_item(item)?;
            held.entry(assignment.shift_id.clone()).or_default().push(assignment);
        }
        let mut found = Vec::new();
        for item in shifts {
            let shift: Shift = from_item(item)?;
            // Shifts of an import that has not committed are not seen (see `super::imports`).
            if !shift.import_id.as_ref().is_some_and(|id| staged.contains(id)) {
                let assignments = held.remove(&shift.id).unwrap_or_default();
                found.push((shift, assignments));
            }
        }
        Ok(found)
    }

    /// A shift and its assignments, strongly consistent: two requests in parallel.
    pub async fn shift_with_assignments(
        &self,
        tenant_id: &str,
        shift_id: &str,
    ) -> Result<Option<(Shift, Vec<Assignment>)>, Error> {
        let (shift, assignments) =
            tokio::try_join!(self.entity::<Shift>(tenant_id, shift_id), self.shift_assignments(tenant_id, shift_id))?;
        Ok(shift.map(|shift| (shift, assignments)))
    }

    /// Adds `shifts` to a person's schedule read at `read` (and drops its expired entries), only
    /// if nobody changed it since: the write that makes a checked assignment safe.
    pub fn schedule_add(
        &self,
        tenant_id: &str,
        person_id: &str,
        read: &Schedule,
        shifts: &[(&str, Booked)],
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<TransactWriteItem, Error> {
        let key = key(keys::tenant(tenant_id), keys::schedule_sk(person_id));
        if read.version == 0 {
            let shifts = shifts.iter().map(|(id, booked)| ((*id).to_owned(), booked.clone())).collect();
            return self.schedule_first(key, &Schedule { version: 1, shifts, time_off: BTreeMap::new() });
        }
        let mut update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key))
            .condition_expression("version = :read")
            .expression_attribute_values(":read", n(read.version))
            .expression_attribute_values(":next", n(read.version + 1));
        let mut sets = vec!["version = :next".to_owned()];
        for (i, (id, booked)) in shifts.iter().enumerate() {
            sets.push(format!("shifts.#add{i} = :add{i}"));
            update = update
                .expression_attribute_names(format!("#add{i}"), *id)
                .expression_attribute_values(format!(":add{i}"), super::value(booked)?);
        }
        let mut expired = read.expired(now);
        expired.retain(|old| !shifts.iter().any(|(id, _)| id == old));
        let (update, expression) = removing_shifts(update, format!("SET {}", sets.join(", ")), &expired);
        let update = update.update_expression(expression).build().map_err(Error::internal)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// The first write of a person's schedule: a put, only where there is none yet.
    fn schedule_first(&self, key: Item, schedule: &Schedule) -> Result<TransactWriteItem, Error> {
        let mut item = to_item(schedule, &[])?;
        item.extend(key);
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(Error::internal)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// Sets (`Some`) or removes (`None`) one shift of a person's schedule without reading it,
    /// moving its version on so a check based on the old schedule cannot commit.
    pub fn schedule_change(
        &self,
        tenant_id: &str,
        person_id: &str,
        shift_id: &str,
        booked: Option<&Booked>,
    ) -> Result<TransactWriteItem, Error> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::tenant(tenant_id), keys::schedule_sk(person_id))))
            .expression_attribute_names("#shift", shift_id)
            .expression_attribute_values(":one", n(1))
            .condition_expression("attribute_exists(pk)");
        let update = match booked {
            Some(booked) => update
                .update_expression("SET shifts.#shift = :booked ADD version :one")
                .expression_attribute_values(":booked", super::value(booked)?),
            None => update.update_expression("REMOVE shifts.#shift ADD version :one"),
        };
        Ok(TransactWriteItem::builder().update(update.build().map_err(Error::internal)?).build())
    }

    /// Takes `shift_ids` off a person's schedule without reading it, moving its version on: an
    /// import that failed gives back the places its earlier run booked.
    pub fn schedule_remove(
        &self,
        tenant_id: &str,
        person_id: &str,
        shift_ids: &[String],
    ) -> Result<TransactWriteItem, Error> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::tenant(tenant_id), keys::schedule_sk(person_id))))
            .expression_attribute_values(":one", n(1))
            .condition_expression("attribute_exists(pk)");
        let (update, expression) = removing_shifts(update, "ADD version :one".to_owned(), shift_ids);
        let update = update.update_expression(expression).build().map_err(Error::internal)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// Replaces a person's approved time off (read with the schedule at `read`) with `time_off`
    /// and drops the shifts `released` from it, only if nobody changed the schedule since: an
    /// approval judged on what the schedule held.
    pub fn schedule_time_off(
        &self,
        tenant_id: &str,
        person_id: &str,
        read: &Schedule,
        time_off: &BTreeMap<String, Away>,
        released: &[String],
    ) -> Result<TransactWriteItem, Error> {
        let key = key(keys::tenant(tenant_id), keys::schedule_sk(person_id));
        if read.version == 0 {
            return self
                .schedule_first(key, &Schedule { version: 1, shifts: BTreeMap::new(), time_off: time_off.clone() });
        }
        // The whole map is written: a schedule made before time off existed has none to set into.
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key))
            .condition_expression("version = :read")
            .expression_attribute_values(":read", n(read.version))
            .expression_attribute_values(":next", n(read.version + 1))
            .expression_attribute_values(":time_off", super::value(time_off)?);
        let (update, expression) =
            removing_shifts(update, "SET version = :next, time_off = :time_off".to_owned(), released);
        let update = update.update_expression(expression).build().map_err(Error::internal)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// Takes `places` more places of the shift: only while it is not cancelled and at most
    /// `headcount - places` are taken, so concurrent assignments never exceed the headcount.
    /// Moves the shift's version on, so an edit based on an older read is refused.
    pub fn shift_places_taken(&self, shift: &Shift, places: u32) -> Result<TransactWriteItem, Error> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::tenant(&shift.tenant_id), format!("SHIFT#{}", shift.id))))
            .update_expression("SET assigned_count = assigned_count + :places, version = version + :one")
            .condition_expression("assigned_count <= :most AND #status <> :cancelled")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":places", n(places))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":most", n(shift.headcount.saturating_sub(places)))
            .expression_attribute_values(":cancelled", s("cancelled"))
            .build()
            .map_err(Error::internal)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// Gives one place of the shift back (an assignment removed).
    pub fn shift_place_freed(&self, tenant_id: &str, shift_id: &str) -> Result<TransactWriteItem, Error> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::tenant(tenant_id), format!("SHIFT#{shift_id}"))))
            .update_expression("SET assigned_count = assigned_count - :one, version = version + :one")
            .condition_expression("assigned_count >= :one")
            .expression_attribute_values(":one", n(1))
            .build()
            .map_err(Error::internal)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// Deletes a person's assignment to a shift that holds a place (not declined), without
    /// reading it: approved time off taking them off the shift. The caller's condition on the
    /// person's schedule version is what makes this safe.
    pub fn assignment_release(
        &self,
        tenant_id: &str,
        shift_id: &str,
        person_id: &str,
    ) -> Result<TransactWriteItem, Error> {
        let delete = aws_sdk_dynamodb::types::Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::tenant(tenant_id), format!("ASSIGN#{}", Assignment::id_of(shift_id, person_id)))))
            .condition_expression("attribute_exists(pk) AND #status <> :declined")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":declined", s("declined"))
            .build()
            .map_err(Error::internal)?;
        Ok(TransactWriteItem::builder().delete(delete).build())
    }

    /// Deletes an assignment, only if it is still at `expected_version`.
    pub fn assignment_delete(&self, assignment: &Assignment) -> Result<TransactWriteItem, Error> {
        let delete = aws_sdk_dynamodb::types::Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::tenant(&assignment.tenant_id), format!("ASSIGN#{}", assignment.id))))
            .condition_expression("version = :expected")
            .expression_attribute_values(":expected", n(assignment.version))
            .build()
            .map_err(Error::internal)?;
        Ok(TransactWriteItem::builder().delete(delete).build())
    }

    /// Shifts by start within `[from, to)` (either open), one page: of the whole organisation
    /// (`locations` `None`, gsi2) or of some locations (gsi1, one partition each, merged), with
    /// `filter` applied within each partition.
    pub async fn shifts(
        &self,
        tenant_id: &str,
        locations: Option<&[String]>,
        range: (Option<&str>, Option<&str>),
        filter: Filter,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> Result<Page<Shift>, Error> {
        let page = async {
            match locations {
                None => self.by_start(Index::Gsi2, keys::shifts(tenant_id), range, filter, limit, cursor).await,
                Some([location]) => {
                    let partition = keys::location_shifts(tenant_id, location);
                    self.by_start(Index::Gsi1, partition, range, filter, limit, cursor).await
                }
                Some(locations) => {
                    let partitions =
                        locations.iter().map(|location| keys::location_shifts(tenant_id, location)).collect();
                    self.merged(Index::Gsi1, partitions, &keys::shifts(tenant_id), range, filter, limit, cursor).await
                }
            }
        };
        let (mut page, staged) = tokio::try_join!(page, self.staged_imports(tenant_id))?;
        page.items.retain(|shift: &Shift| !shift.import_id.as_ref().is_some_and(|id| staged.contains(id)));
        Ok(page)
    }

    /// A person's assignments on published and cancelled shifts by start within `[from, to)`
    /// (and ending after `ends_after`, when given), one page: their calendar.
    #[allow(clippy::too_many_arguments)]
    pub async fn person_assignments(
        &self,
        tenant_id: &str,
        person_id: &str,
        range: (Option<&str>, Option<&str>),
        ends_after: Option<&str>,
        newest_first: bool,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> Result<Page<Assignment>, Error> {
        let mut filter = Filter::default().and("shift_status <> :draft", ("", ""), (":draft", s("draft")));
        if let Some(instant) = ends_after {
            filter = filter.and("#end > :ends_after", ("#end", "end"), (":ends_after", s(instant)));
        }
        let partition = keys::person_shifts(tenant_id, person_id);
        let request = PageRequest::new(limit, cursor, Index::Gsi1, &partition)?;
        let (condition, bounds) = start_range("gsi1sk", range);
        let mut query = self
            .client
            .query()
            .key_condition_expression(format!("gsi1pk = :pk{condition}"))
            .expression_attribute_values(":pk", s(partition))
            .scan_index_forward(!newest_first);
        for (placeholder, value) in bounds {
            query = query.expression_attribute_values(placeholder, s(value));
        }
        let (query, filtered) = filter.apply(query);
        self.page(query, request, Index::Gsi1, filtered).await
    }

    /// One page of the items of an index partition sorted by `{start}#{id}`, with starts within
    /// `[from, to)` (either open) and `filter` applied within the partition.
    pub(crate) async fn by_start<T: serde::de::DeserializeOwned + ToSchema>(
        &self,
        index: Index,
        partition: String,
        range: (Option<&str>, Option<&str>),
        filter: Filter,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> Result<Page<T>, Error> {
        if let (Some(from), Some(to)) = range
            && to < from
        {
            // DynamoDB refuses a BETWEEN whose bounds are the wrong way round.
            return Err(Error::field("to", "must not be before from"));
        }
        let request = PageRequest::new(limit, cursor, index, &partition)?;
        let (query, filtered) = filter.apply(self.by_start_query(index, partition, range));
        self.page(query, request, index, filtered).await
    }

    /// A Query of one index partition sorted by `{start}#{id}`, for starts within `[from, to)`
    /// (either open).
    pub(crate) fn by_start_query(
        &self,
        index: Index,
        partition: String,
        range: (Option<&str>, Option<&str>),
    ) -> QueryFluentBuilder {
        let [.., pk, sort] = index.attributes() else { unreachable!("every index has a key") };
        let (condition, bounds) = start_range(sort, range);
        let mut query = self
            .client
            .query()
            .table_name(&self.table)
            .set_index_name(index.name().map(Into::into))
            .key_condition_expression(format!("{pk} = :pk{condition}"))
            .expression_attribute_values(":pk", s(partition));
        for (placeholder, value) in bounds {
            query = query.expression_attribute_values(placeholder, s(value));
        }
        query
    }
}

/// The key condition on a `{start}#{id}` sort key for starts within `[from, to)`.
pub(crate) fn start_range(sort: &str, range: (Option<&str>, Option<&str>)) -> (String, Vec<(&'static str, String)>) {
    match range {
        (Some(from), Some(to)) => {
            (format!(" AND {sort} BETWEEN :from AND :to"), vec![(":from", from.to_owned()), (":to", before(to))])
        }
        (Some(from), None) => (format!(" AND {sort} >= :from"), vec![(":from", from.to_owned())]),
        (None, Some(to)) => (format!(" AND {sort} <= :to"), vec![(":to", before(to))]),
        (None, None) => (String::new(), Vec::new()),
    }
}

/// A bound above every `{start}#{id}` key whose start is before `to` and below those starting at
/// `to` (`!` sorts below `#`).
fn before(to: &str) -> String {
    format!("{to}!")
}

/// `expression` with ` REMOVE shifts.#gone0, …` for the shift ids `gone` (none: as it was), and
/// the update naming them.
fn removing_shifts(mut update: UpdateBuilder, mut expression: String, gone: &[String]) -> (UpdateBuilder, String) {
    if !gone.is_empty() {
        let removes: Vec<String> = (0..gone.len()).map(|i| format!("shifts.#gone{i}")).collect();
        expression.push_str(&format!(" REMOVE {}", removes.join(", ")));
        for (i, id) in gone.iter().enumerate() {
            update = update.expression_attribute_names(format!("#gone{i}"), id);
        }
    }
    (update, expression)
}

/// One weekly window a person can work, on the clock of wherever the shift is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct WeeklyWindow {
    pub weekday: Weekday,
    /// `HH:MM`.
    pub start_local: String,
    /// `HH:MM`; at or before the start, the window runs past midnight.
    pub end_local: String,
    /// When they would rather work: auto-fill favours shifts inside their preferred windows.
    #[serde(default)]
    pub preferred: bool,
}

/// Days a person cannot work at all, inclusive (`YYYY-MM-DD`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Blackout {
    pub from: String,
    pub to: String,
}

/// When a person says they can work: weekly windows (none: any time) and blackout days.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Availability {
    pub person_id: String,
    pub weekly: Vec<WeeklyWindow>,
    pub blackouts: Vec<Blackout>,
    /// When it was last set; absent when never.
    pub updated_at: Option<String>,
}

impl Availability {
    pub fn none_set(person_id: &str) -> Self {
        Self { person_id: person_id.to_owned(), ..Self::default() }
    }
}

impl Store {
    /// A person's availability (any time, when never set).
    pub async fn availability(&self, tenant_id: &str, person_id: &str) -> Result<Availability, Error> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::tenant(tenant_id), keys::availability_sk(person_id))))
            .send()
            .await?;
        Ok(output.item.map(from_item).transpose()?.unwrap_or_else(|| Availability::none_set(person_id)))
    }

    /// A put of a person's availability, replacing what was there.
    pub fn availability_put(&self, tenant_id: &str, availability: &Availability) -> Result<TransactWriteItem, Error> {
        let keys = [("pk", keys::tenant(tenant_id)), ("sk", keys::availability_sk(&availability.person_id))];
        let put = Put::builder().table_name(&self.table).set_item(Some(to_item(availability, &keys)?));
        Ok(TransactWriteItem::builder().put(put.build().map_err(Error::internal)?).build())
    }
}
