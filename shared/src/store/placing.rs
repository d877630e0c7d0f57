//! What the conflict engine ([`crate::domain::conflicts`]) is given: each person's record,
//! schedule and availability, read together ([`Store::placing`]), and the engine's views of the
//! stored shift, booking, availability and organisation. The schedule function and the importer
//! check placements through these alike.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use chrono_tz::Tz;

use super::people::{Person, PersonStatus};
use super::schedule::{Availability, Booked, Schedule, Shift, ShiftStatus, WeeklyWindow};
use super::tenants::Tenant;
use super::{Item, Store, from_item, key, keys};
use crate::Error;
use crate::domain::conflicts::{self, Candidate, DateRange, Rules, Slot, Window};

/// What the conflict check needs of each person: the person, their schedule and availability.
pub struct Placing {
    pub person: Option<Person>,
    pub schedule: Schedule,
    pub availability: Availability,
}

impl Store {
    /// Each person's record, schedule and availability, strongly consistent, in the order of
    /// `person_ids`: `BatchGetItem`s of at most 100 keys, all in parallel (one round trip).
    pub async fn placing(&self, tenant_id: &str, person_ids: &[String]) -> Result<Vec<Placing>, Error> {
        let sorts = [keys::person_sk as fn(&str) -> String, keys::schedule_sk, keys::availability_sk];
        let found = self.per_person(tenant_id, person_ids, &sorts, true).await?;
        person_ids
            .iter()
            .zip(found.chunks(3))
            .map(|(id, items)| placing(id, items[0].clone().map(from_item).transpose()?, &items[1..]))
            .collect()
    }

    /// As [`Store::placing`] for `people` already read (their records are not read again), and
    /// eventually consistent (half the read units): for ranking who could take a place, which
    /// assigning judges again on strong reads.
    pub async fn placing_to_rank(&self, tenant_id: &str, people: &[Person]) -> Result<Vec<Placing>, Error> {
        let ids: Vec<String> = people.iter().map(|person| person.id.clone()).collect();
        let found = self.per_person(tenant_id, &ids, &[keys::schedule_sk, keys::availability_sk], false).await?;
        people
            .iter()
            .zip(found.chunks(2))
            .map(|(person, items)| placing(&person.id, Some(person.clone()), items))
            .collect()
    }

    /// For each of `person_ids` in order, its items under `sorts` in the organisation's
    /// partition (in that order): `BatchGetItem`s of at most 100 keys, all in parallel.
    async fn per_person(
        &self,
        tenant_id: &str,
        person_ids: &[String],
        sorts: &[fn(&str) -> String],
        consistent: bool,
    ) -> Result<Vec<Option<Item>>, Error> {
        let partition = keys::tenant(tenant_id);
        let wanted: Vec<Item> =
            person_ids.iter().flat_map(|id| sorts.iter().map(|sort| key(partition.clone(), sort(id)))).collect();
        let batches = wanted.chunks(100).map(|batch| self.batch_get_read(batch, consistent));
        Ok(futures_util::future::try_join_all(batches).await?.into_iter().flatten().collect())
    }
}

/// A person's placing from their record and their `[schedule, availability]` items.
fn placing(id: &str, person: Option<Person>, items: &[Option<Item>]) -> Result<Placing, Error> {
    Ok(Placing {
        person,
        schedule: items[0].clone().map(from_item).transpose()?.unwrap_or_default(),
        availability: items[1].clone().map(from_item).transpose()?.unwrap_or_else(|| Availability::none_set(id)),
    })
}

/// The conflict rules' view of a stored shift.
pub fn slot(shift: &Shift) -> Result<Slot, Error> {
    Ok(Slot {
        id: shift.id.clone(),
        start: parse(&shift.start)?,
        end: parse(&shift.end)?,
        break_minutes: shift.break_minutes,
        position_id: shift.position_id.clone(),
        zone: zone(&shift.time_zone)?,
        status: match shift.status {
            ShiftStatus::Draft => conflicts::ShiftStatus::Draft,
            ShiftStatus::Published => conflicts::ShiftStatus::Published,
            ShiftStatus::Cancelled => conflicts::ShiftStatus::Cancelled,
        },
    })
}

/// The conflict rules' view of a shift a person's schedule holds.
pub fn booked_slot(id: &str, booked: &Booked) -> Result<Slot, Error> {
    Ok(Slot {
        id: id.to_owned(),
        start: parse(&booked.start)?,
        end: parse(&booked.end)?,
        break_minutes: booked.break_minutes,
        position_id: booked.position_id.clone(),
        zone: zone(&booked.time_zone)?,
        status: conflicts::ShiftStatus::Published,
    })
}

/// The organisation's rules (its settings, zone and week).
pub fn rules(tenant: &Tenant) -> Result<Rules, Error> {
    Ok(Rules::from_settings(&tenant.settings, zone(&tenant.time_zone)?, tenant.week_start))
}

/// The conflict rules' view of a person, `None` when they are not in this organisation.
pub fn candidate(person_id: &str, placing: &Placing) -> Result<Option<Candidate>, Error> {
    let Some(person) = &placing.person else { return Ok(None) };
    let shifts =
        placing.schedule.shifts.iter().map(|(id, booked)| booked_slot(id, booked)).collect::<Result<_, _>>()?;
    Ok(Some(Candidate {
        person_id: person_id.to_owned(),
        // Invited people can be scheduled before they accept; deactivated ones cannot.
        active: person.status != PersonStatus::Inactive,
        position_ids: person.position_ids.clone(),
        weekly_hours_cap: person.weekly_hours_cap,
        availability: availability_view(&placing.availability),
        time_off: placing
            .schedule
            .time_off
            .values()
            .map(|away| Ok(DateRange { from: date(&away.from)?, to: date(&away.to)? }))
            .collect::<Result<_, Error>>()?,
        shifts,
    }))
}

/// The conflict rules' view of a stored availability (stored values were checked on the way in).
pub fn availability_view(availability: &Availability) -> conflicts::Availability {
    let date = |text: &str| text.parse::<NaiveDate>().ok();
    conflicts::Availability {
        weekly: windows(availability.weekly.iter()),
        blackouts: availability
            .blackouts
            .iter()
            .filter_map(|blackout| Some(DateRange { from: date(&blackout.from)?, to: date(&blackout.to)? }))
            .collect(),
    }
}

/// The windows a person marked preferred (auto-fill favours shifts inside them).
pub fn preferred_windows(availability: &Availability) -> Vec<Window> {
    windows(availability.weekly.iter().filter(|window| window.preferred))
}

fn windows<'a>(stored: impl Iterator<Item = &'a WeeklyWindow>) -> Vec<Window> {
    let time = |text: &str| NaiveTime::parse_from_str(text, "%H:%M").ok();
    stored
        .filter_map(|window| {
            Some(Window {
                weekday: window.weekday,
                start_local: time(&window.start_local)?,
                end_local: time(&window.end_local)?,
            })
        })
        .collect()
}

/// A stored instant (never malformed: a failure is ours, a 500).
pub fn parse(stored: &str) -> Result<DateTime<Utc>, Error> {
    stored.parse().map_err(Error::internal)
}

/// A stored date.
pub fn date(stored: &str) -> Result<NaiveDate, Error> {
    stored.parse().map_err(Error::internal)
}

/// A stored time zone.
pub fn zone(name: &str) -> Result<Tz, Error> {
    name.parse().map_err(|_| Error::internal(format!("a stored time zone does not parse: {name}")))
}
