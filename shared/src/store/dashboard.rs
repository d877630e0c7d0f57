//! What the event dashboard and the on-site list read, kept where things change so that reading
//! them costs one Query whatever the event's size.
//!
//! - An event's tally (`T#{t}#EVENT#{e}#TALLY`): one small item per shift (by its id). The
//!   shift's own writes set its day, places and paid minutes ([`Store::shift_tally`]), each
//!   placement and removal adds to its filled places ([`Store::filled_changed`]), and every
//!   attendance write adds what its record's [`Presence`] changed ([`Store::attendance_put`]):
//!   each in the transaction of the write it follows, so a tally never counts what did not
//!   happen. 2,000 shifts come to about 400 KB: one page.
//! - Who is on site at a location (`T#{t}#LOC#{l}#ONSITE`): a marker per record that is checked
//!   in and not out, put and deleted by the same attendance writes.

use aws_sdk_dynamodb::types::{Delete, Put, TransactWriteItem, Update};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::attendance::{Attendance, AttendanceEvent};
use super::page::{Index, Page, PageRequest};
use super::schedule::{Shift, ShiftStatus, Supervisor};
use super::{Store, from_item, key, keys, n, s, to_item};
use crate::Error;
use crate::domain::dashboard::{Presence, ShiftTally};

/// Someone on site now, as the list of a location shows them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct OnSite {
    pub attendance_id: String,
    pub person_id: String,
    pub person_name: String,
    /// When they checked in (what counts: a correction's time, if one moved it).
    pub since: String,
    pub shift_id: String,
    pub shift_start: String,
    pub shift_end: String,
    pub position_name: String,
    pub event_id: Option<String>,
    /// Who runs the shift on site, as the shift named them when they checked in.
    pub supervisor: Option<Supervisor>,
    /// A mark of theirs was accepted but doubtful, or waits for review.
    pub flagged: bool,
}

impl OnSite {
    fn of(record: &Attendance, supervisor: Option<&Supervisor>) -> Self {
        Self {
            attendance_id: record.id.clone(),
            person_id: record.person_id.clone(),
            person_name: record.person_name.clone(),
            since: record.check_in_at.clone().unwrap_or_default(),
            shift_id: record.shift_id.clone(),
            shift_start: record.shift_start.clone(),
            shift_end: record.shift_end.clone(),
            position_name: record.position_name.clone(),
            event_id: record.event_id.clone(),
            supervisor: supervisor.cloned(),
            flagged: record.flagged || record.awaiting_review(),
        }
    }
}

impl Store {
    /// A shift's own part of its event's tally (none for a shift of no event): its day, places,
    /// filled places and paid minutes as the shift now has them; with `default_rate` (the shift's
    /// position was read), the rate its estimate is priced at. The shift's write must be
    /// conditioned on its version, so `assigned_count` is what the table holds.
    pub fn shift_tally(
        &self,
        shift: &Shift,
        default_rate: Option<Option<u64>>,
    ) -> Result<Option<TransactWriteItem>, Error> {
        let Some(event_id) = &shift.event_id else { return Ok(None) };
        let cancelled = shift.status == ShiftStatus::Cancelled;
        let mut set = vec![
            "shift_id = :shift",
            "#date = :date",
            "places = :places",
            "filled = :filled",
            "cancelled = :cancelled",
            "paid_minutes = :paid",
        ];
        let mut update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::event_tally(&shift.tenant_id, event_id), &shift.id)))
            .expression_attribute_names("#date", "date")
            .expression_attribute_values(":shift", s(&shift.id))
            .expression_attribute_values(":date", s(shift.start_local.get(..10).unwrap_or_default()))
            .expression_attribute_values(":places", n(if cancelled { 0 } else { shift.headcount }))
            .expression_attribute_values(":filled", n(shift.assigned_count))
            .expression_attribute_values(":cancelled", aws_sdk_dynamodb::types::AttributeValue::Bool(cancelled))
            .expression_attribute_values(":paid", n((shift.duration_minutes - i64::from(shift.break_minutes)).max(0)));
        let mut remove = "";
        match default_rate {
            Some(Some(rate)) => {
                set.push("rate_minor = :rate");
                update = update.expression_attribute_values(":rate", n(rate));
            }
            Some(None) => remove = " REMOVE rate_minor",
            None => {}
        }
        let update =
            update.update_expression(format!("SET {}{remove}", set.join(", "))).build().map_err(Error::internal)?;
        Ok(Some(TransactWriteItem::builder().update(update).build()))
    }

    /// The tally item of an imported shift, for the import's batches (its import id keeps it out
    /// of the dashboard until the import commits).
    pub fn shift_tally_item(&self, shift: &Shift, default_rate: Option<u64>) -> Result<Option<super::Item>, Error> {
        let Some(event_id) = &shift.event_id else { return Ok(None) };
        let tally = ShiftTally {
            shift_id: shift.id.clone(),
            date: shift.start_local.get(..10).unwrap_or_default().to_owned(),
            places: i64::from(shift.headcount),
            filled: i64::from(shift.assigned_count),
            paid_minutes: (shift.duration_minutes - i64::from(shift.break_minutes)).max(0),
            rate_minor: default_rate,
            import_id: shift.import_id.clone(),
            ..ShiftTally::default()
        };
        to_item(&tally, &[("pk", keys::event_tally(&shift.tenant_id, event_id)), ("sk", shift.id.clone())]).map(Some)
    }

    /// `places` more (or fewer) filled places on a shift of `event_id` (none for no event).
    pub fn filled_changed(
        &self,
        tenant_id: &str,
        event_id: Option<&str>,
        shift_id: &str,
        places: i64,
    ) -> Result<Option<TransactWriteItem>, Error> {
        let Some(event_id) = event_id else { return Ok(None) };
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::event_tally(tenant_id, event_id), shift_id)))
            .update_expression("SET shift_id = :shift ADD filled :places")
            .expression_attribute_values(":shift", s(shift_id))
            .expression_attribute_values(":places", n(places))
            .build()
            .map_err(Error::internal)?;
        Ok(Some(TransactWriteItem::builder().update(update).build()))
    }

    /// An attendance record written (only if still at `before`'s version, or new) with the event
    /// it folded in, and what follows from it: its shift's tally moved by what its presence
    /// changed, and its on-site marker put or taken away (`supervisor`: the shift's, for a new
    /// marker). The record and its event come first, in that order.
    pub fn attendance_put(
        &self,
        before: Option<&Attendance>,
        after: &Attendance,
        event: &AttendanceEvent,
        supervisor: Option<&Supervisor>,
    ) -> Result<Vec<TransactWriteItem>, Error> {
        let tenant_id = &after.tenant_id;
        let mut items = vec![
            self.entity_put(after, before.map(|before| before.version))?,
            self.attendance_event_put(tenant_id, event)?,
        ];
        let was = before.map(Attendance::presence).unwrap_or_default();
        let now = after.presence();
        let changes = now.less(&was);
        if let Some(event_id) = &after.event_id
            && changes.iter().any(|change| *change != 0)
        {
            let mut adds = Vec::new();
            let mut update = Update::builder()
                .table_name(&self.table)
                .set_key(Some(key(keys::event_tally(tenant_id, event_id), &after.shift_id)))
                .expression_attribute_names("#date", "date")
                .expression_attribute_values(":shift", s(&after.shift_id))
                .expression_attribute_values(":date", s(&after.shift_date));
            for (field, change) in Presence::FIELDS.iter().zip(changes).filter(|(_, change)| *change != 0) {
                adds.push(format!("{field} :{field}"));
                update = update.expression_attribute_values(format!(":{field}"), n(change));
            }
            let expression =
                format!("SET shift_id = :shift, #date = if_not_exists(#date, :date) ADD {}", adds.join(", "));
            let update = update.update_expression(expression).build().map_err(Error::internal)?;
            items.push(TransactWriteItem::builder().update(update).build());
        }
        let marker = (keys::on_site(tenant_id, &after.location_id), after.id.clone());
        match (was.on_site, now.on_site) {
            (0, 1) => {
                let item = to_item(&OnSite::of(after, supervisor), &[("pk", marker.0), ("sk", marker.1)])?;
                let put =
                    Put::builder().table_name(&self.table).set_item(Some(item)).build().map_err(Error::internal)?;
                items.push(TransactWriteItem::builder().put(put).build());
            }
            (1, 0) => {
                let delete = Delete::builder()
                    .table_name(&self.table)
                    .set_key(Some(key(marker.0, marker.1)))
                    .build()
                    .map_err(Error::internal)?;
                items.push(TransactWriteItem::builder().delete(delete).build());
            }
            _ => {}
        }
        Ok(items)
    }

    /// Every shift's tally of an event (imports not yet committed left out): one Query, page
    /// after page (one page up to about 2,000 shifts).
    pub async fn event_tallies(&self, tenant_id: &str, event_id: &str) -> Result<Vec<ShiftTally>, Error> {
        let query = self
            .client
            .query()
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s(keys::event_tally(tenant_id, event_id)));
        let (items, staged) = tokio::try_join!(self.every(query), self.staged_imports(tenant_id))?;
        let tallies = items.into_iter().map(from_item::<ShiftTally>).collect::<Result<Vec<_>, _>>()?;
        Ok(tallies
            .into_iter()
            .filter(|tally| !tally.import_id.as_ref().is_some_and(|id| staged.contains(id)))
            .collect())
    }

    /// Who is on site at a location now, one page (by record id: shift, then person).
    pub async fn on_site(
        &self,
        tenant_id: &str,
        location_id: &str,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> Result<Page<OnSite>, Error> {
        let partition = keys::on_site(tenant_id, location_id);
        let request = PageRequest::new(limit, cursor, Index::Table, &partition)?;
        let query =
            self.client.query().key_condition_expression("pk = :pk").expression_attribute_values(":pk", s(partition));
        self.page(query, request, Index::Table, false).await
    }
}
