//! Attendance: one record per person and shift (`ATT#{shift}_{person}`), derived from an
//! append-only log of its events (check-in, check-out, override, review decision, the window's
//! closing). The record and its log share a partition of their own (`T#{t}#ATTLOG#{id}`): a
//! busy gate writes as many partitions as people. Every event is written in the same transaction
//! as the record it folds into, so the record is always its log's fold ([`Attendance::apply`])
//! and nothing is edited away.
//! Check-ins that need a person's eye wait in the review queue (`T#{t}#FACEREVIEWS`) until
//! decided.

use aws_sdk_dynamodb::types::{Delete, TransactWriteItem};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::page::{Index, Page, PageRequest};
use super::people::Person;
use super::schedule::{Assignment, Shift};
use super::tenants::Tenant;
use super::{Store, from_item, key, keys, put_new, s, to_item};
use crate::Error;
use crate::domain::attendance::{REVIEW_AT, Status, verdict, worked_minutes};
use crate::domain::dashboard::{self as presence, Presence};
use crate::domain::settings::Settings;
use crate::store::entities::{Entity, Filter, Refused};

/// A check-in or check-out as the device reported it and the rules judged it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Mark {
    /// When it was made (server time, UTC).
    pub at: String,
    pub lat: f64,
    pub lng: f64,
    /// The device's stated accuracy radius, in metres.
    pub accuracy_m: f64,
    /// Metres from the shift's location.
    pub distance_m: u32,
    /// The shift's geofence radius it was judged against.
    pub radius_m: u32,
    /// Accepted but doubtful: outside the geofence (in `flag` mode), or a position coarser than
    /// the radius.
    pub flagged: bool,
    /// The photo taken with it, in the files bucket.
    pub photo_key: Option<String>,
    /// 0–100: how much the mark needs a person's eye (distance, accuracy, photo); from 50 it is
    /// sent to review.
    pub risk_score: u8,
    /// This check-in answered an offer: the assignment became accepted with it.
    #[serde(default)]
    pub accepted_offer: bool,
}

impl Mark {
    /// Whether a reviewer should look at it.
    pub fn needs_review(&self) -> bool {
        self.flagged || self.risk_score >= REVIEW_AT
    }
}

/// A coordinator's correction: new times and/or a status, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Correction {
    pub check_in_at: Option<String>,
    pub check_out_at: Option<String>,
    /// A status to keep whatever the times say (until the next correction).
    pub status: Option<Status>,
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReviewOutcome {
    Verified,
    Rejected,
}

/// A reviewer's decision on a risky check-in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ReviewDecision {
    pub decision: ReviewOutcome,
    pub note: Option<String>,
}

/// What happened, by kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Happening {
    CheckIn(Mark),
    CheckOut(Mark),
    Override(Correction),
    Review(ReviewDecision),
    /// The check-in window closed without a check-out (or a check-in): the scheduled job's entry,
    /// after which the record is `incomplete` and flagged (or `absent`).
    WindowClosed,
}

/// Who the scheduled job's entries are by, in a record's log (as a person's id and name).
pub const SCHEDULED_JOB: (&str, &str) = ("rota", "Rota (scheduled job)");

/// One entry of a record's log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AttendanceEvent {
    pub id: String,
    pub attendance_id: String,
    /// When it was recorded.
    pub at: String,
    /// Who recorded it: the person checking in or out, the coordinator or reviewer, or `rota`
    /// (the scheduled job).
    pub by: String,
    pub by_name: String,
    pub happening: Happening,
}

impl AttendanceEvent {
    pub fn new(attendance_id: &str, by: (&str, &str), at: &str, happening: Happening) -> Self {
        Self {
            id: ulid::Ulid::new().to_string(),
            attendance_id: attendance_id.to_owned(),
            at: at.to_owned(),
            by: by.0.to_owned(),
            by_name: by.1.to_owned(),
            happening,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReviewState {
    Pending,
    Verified,
    Rejected,
}

/// Where a record stands in review.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Review {
    pub state: ReviewState,
    /// When it entered the queue: its place there.
    pub queued_at: String,
    pub decided_by: Option<String>,
    pub decided_at: Option<String>,
    pub note: Option<String>,
}

/// A person's attendance of one shift, as its events add up. Its id is `{shift_id}_{person_id}`,
/// the id of the assignment it follows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Attendance {
    pub id: String,
    pub tenant_id: String,
    pub shift_id: String,
    pub person_id: String,
    pub person_name: String,
    pub event_id: Option<String>,
    pub location_id: String,
    pub location_name: String,
    pub position_id: String,
    pub position_name: String,
    /// The shift's start and end (UTC) and unpaid break, when the record began.
    pub shift_start: String,
    pub shift_end: String,
    pub break_minutes: u32,
    /// The day the shift starts on its location's calendar (`YYYY-MM-DD`).
    #[serde(default)]
    pub shift_date: String,
    /// The person's own hourly rate when the record began, in minor units: what the event
    /// dashboard prices their worked minutes at (without one, the position's default). Shown to
    /// those who see the person's pay.
    #[serde(default)]
    pub rate_minor: Option<u64>,
    /// As made on site; corrections leave them as they were.
    pub check_in: Option<Mark>,
    pub check_out: Option<Mark>,
    /// What counts: the marks' times, or a correction's.
    pub check_in_at: Option<String>,
    pub check_out_at: Option<String>,
    /// `None` until there is something to judge.
    pub status: Option<Status>,
    /// A status a correction set, kept over what the times say.
    pub status_override: Option<Status>,
    pub late_minutes: i64,
    pub early_minutes: i64,
    /// Check-out − check-in − unpaid break, never negative; 0 until both are known.
    pub worked_minutes: i64,
    /// Whether a coordinator corrected it.
    pub overridden: bool,
    /// Whether a mark was accepted but doubtful.
    pub flagged: bool,
    /// The highest of its marks' risk scores.
    pub risk_score: u8,
    pub review: Option<Review>,
    /// Whether the scheduled job closed it: the window closed without a check-out.
    #[serde(default)]
    pub window_closed: bool,
    pub version: u64,
    pub created_at: String,
    pub updated_at: String,
}

crate::entity!(
    Attendance,
    "ATT#",
    "attendance",
    partition = keys::attendance_record,
    extra = |record: &Attendance| {
        let sort = format!("{}#{}", record.shift_start, record.shift_id);
        vec![
            ("gsi1pk", keys::person_attendance(&record.tenant_id, &record.person_id)),
            ("gsi1sk", sort.clone()),
            ("gsi2pk", keys::attendance(&record.tenant_id)),
            ("gsi2sk", sort.clone()),
            ("gsi3pk", keys::location_attendance(&record.tenant_id, &record.location_id)),
            ("gsi3sk", sort),
        ]
    }
);

fn parse(instant: &str) -> Option<DateTime<Utc>> {
    instant.parse().ok()
}

impl Attendance {
    /// The empty record of `assignment`'s person on `shift`, before its first event, priced at
    /// `rate_minor`.
    pub fn of(shift: &Shift, assignment: &Assignment, person_name: &str, rate_minor: Option<u64>, now: &str) -> Self {
        Self {
            id: assignment.id.clone(),
            tenant_id: shift.tenant_id.clone(),
            shift_id: shift.id.clone(),
            person_id: assignment.person_id.clone(),
            person_name: person_name.to_owned(),
            event_id: shift.event_id.clone(),
            location_id: shift.location_id.clone(),
            location_name: shift.location_name.clone(),
            position_id: shift.position_id.clone(),
            position_name: shift.position_name.clone(),
            shift_start: shift.start.clone(),
            shift_end: shift.end.clone(),
            break_minutes: shift.break_minutes,
            shift_date: shift.start_local.get(..10).unwrap_or_default().to_owned(),
            rate_minor,
            check_in: None,
            check_out: None,
            check_in_at: None,
            check_out_at: None,
            status: None,
            status_override: None,
            late_minutes: 0,
            early_minutes: 0,
            worked_minutes: 0,
            overridden: false,
            flagged: false,
            risk_score: 0,
            review: None,
            window_closed: false,
            version: 0,
            created_at: now.to_owned(),
            updated_at: now.to_owned(),
        }
    }

    /// Folds one event into the record: the only way a record changes. `now` is the event's
    /// moment; the status is judged as of then.
    pub fn apply(&mut self, event: &AttendanceEvent, settings: &Settings) {
        match &event.happening {
            Happening::CheckIn(mark) => {
                self.check_in_at = Some(mark.at.clone());
                self.check_in = Some(mark.clone());
                self.marked(mark);
            }
            Happening::CheckOut(mark) => {
                self.check_out_at = Some(mark.at.clone());
                self.check_out = Some(mark.clone());
                self.marked(mark);
            }
            Happening::Override(correction) => {
                if let Some(at) = &correction.check_in_at {
                    self.check_in_at = Some(at.clone());
                }
                if let Some(at) = &correction.check_out_at {
                    self.check_out_at = Some(at.clone());
                }
                self.status_override = correction.status;
                self.overridden = true;
            }
            Happening::Review(decision) => {
                if let Some(review) = &mut self.review {
                    review.state = match decision.decision {
                        ReviewOutcome::Verified => ReviewState::Verified,
                        ReviewOutcome::Rejected => ReviewState::Rejected,
                    };
                    review.decided_by = Some(event.by.clone());
                    review.decided_at = Some(event.at.clone());
                    review.note = decision.note.clone();
                }
            }
            Happening::WindowClosed => {
                self.window_closed = true;
                // Checked in, never out: a coordinator should look (absent needs no second look).
                self.flagged |= self.check_in_at.is_some();
            }
        }
        self.judge(&event.at, settings);
        self.touch(&event.at);
    }

    fn marked(&mut self, mark: &Mark) {
        self.flagged |= mark.flagged;
        self.risk_score = self.risk_score.max(mark.risk_score);
        if mark.needs_review() && self.review.is_none() {
            self.review = Some(Review {
                state: ReviewState::Pending,
                queued_at: mark.at.clone(),
                decided_by: None,
                decided_at: None,
                note: None,
            });
        }
    }

    /// Status, lateness and worked minutes from the times that count.
    fn judge(&mut self, now: &str, settings: &Settings) {
        let (Some(start), Some(end), Some(now)) = (parse(&self.shift_start), parse(&self.shift_end), parse(now)) else {
            return;
        };
        let check_in = self.check_in_at.as_deref().and_then(parse);
        let check_out = self.check_out_at.as_deref().and_then(parse);
        let judged = verdict(start, end, check_in, check_out, now, settings);
        self.status = self.status_override.or(judged.status);
        self.late_minutes = judged.late_minutes;
        self.early_minutes = judged.early_minutes;
        self.worked_minutes = match (check_in, check_out) {
            (Some(check_in), Some(check_out)) => worked_minutes(check_in, check_out, self.break_minutes, (start, end)),
            _ => 0,
        };
    }

    /// The local date (in `zone`) a record's worked minutes count on: its check-in's day.
    pub fn worked_on(&self, zone: chrono_tz::Tz) -> Option<(chrono::NaiveDate, i64)> {
        let check_in = parse(self.check_in_at.as_deref()?)?;
        Some((crate::domain::time::local_date(check_in, zone), self.worked_minutes))
    }

    /// Whether the scheduled job still has to close it once its window has closed: nobody
    /// checked out and it has not closed it already.
    pub fn open_after_window(&self) -> bool {
        !self.window_closed && self.check_out_at.is_none()
    }

    /// Whether this record is in the review queue now.
    pub fn awaiting_review(&self) -> bool {
        self.review.as_ref().is_some_and(|review| review.state == ReviewState::Pending)
    }

    /// What it counts for on its shift's dashboard tally.
    pub fn presence(&self) -> Presence {
        Presence::of(&presence::Record {
            checked_in: self.check_in_at.is_some(),
            checked_out: self.check_out_at.is_some(),
            window_closed: self.window_closed,
            absent: self.status == Some(Status::Absent),
            late_minutes: self.late_minutes,
            awaiting_review: self.awaiting_review(),
            worked_minutes: self.worked_minutes,
            rate_minor: self.rate_minor,
        })
    }
}

/// A record waiting in the review queue, with what a reviewer needs to decide.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct FaceReview {
    /// The organisation (entries queued before it was kept have none: the platform's queue lists
    /// only entries that have it).
    #[serde(default)]
    pub tenant_id: String,
    pub attendance_id: String,
    pub person_id: String,
    pub person_name: String,
    pub shift_id: String,
    pub shift_start: String,
    #[serde(default)]
    pub location_id: String,
    pub location_name: String,
    /// When the check-in (or check-out) that sent it here was made.
    pub queued_at: String,
    pub risk_score: u8,
    pub distance_m: u32,
    pub radius_m: u32,
    pub accuracy_m: f64,
    pub flagged: bool,
    pub photo_key: Option<String>,
}

impl FaceReview {
    pub fn of(record: &Attendance, mark: &Mark) -> Self {
        Self {
            tenant_id: record.tenant_id.clone(),
            attendance_id: record.id.clone(),
            person_id: record.person_id.clone(),
            person_name: record.person_name.clone(),
            shift_id: record.shift_id.clone(),
            shift_start: record.shift_start.clone(),
            location_id: record.location_id.clone(),
            location_name: record.location_name.clone(),
            queued_at: mark.at.clone(),
            risk_score: mark.risk_score,
            distance_m: mark.distance_m,
            radius_m: mark.radius_m,
            accuracy_m: mark.accuracy_m,
            flagged: mark.flagged,
            photo_key: mark.photo_key.clone(),
        }
    }
}

/// A request's answer kept under its `Idempotency-Key` for a day: the same request again gets it
/// back; another request under the key is refused.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Replay {
    /// What the request was (operation and body), hashed.
    pub fingerprint: String,
    pub status: u16,
    pub body: String,
}

/// How long an answer is kept for its `Idempotency-Key`.
pub const REPLAY_SECS: i64 = 24 * 3600;

/// What a check-in or check-out needs, read in one round trip.
pub struct Desk {
    pub person: Option<Person>,
    pub assignment: Option<Assignment>,
    pub shift: Option<Shift>,
    pub tenant: Option<Tenant>,
    pub record: Option<Attendance>,
    pub replay: Option<Replay>,
}

impl Store {
    /// The person, their assignment to the shift, the shift, the organisation (its rules), the
    /// attendance record and, with an idempotency key, its kept answer: one `BatchGetItem`.
    pub async fn desk(
        &self,
        tenant_id: &str,
        shift_id: &str,
        person_id: &str,
        idempotency_key: Option<&str>,
    ) -> Result<Desk, Error> {
        let partition = keys::tenant(tenant_id);
        let id = Assignment::id_of(shift_id, person_id);
        let mut wanted = vec![
            key(partition.clone(), keys::person_sk(person_id)),
            key(partition.clone(), format!("ASSIGN#{id}")),
            key(partition.clone(), format!("SHIFT#{shift_id}")),
            key(partition, keys::TENANT_SK),
            Attendance::key(tenant_id, &id),
        ];
        if let Some(idempotency_key) = idempotency_key {
            wanted.push(key(keys::replay(tenant_id, person_id, idempotency_key), keys::REPLAY_SK));
        }
        let mut found = self.batch_get(&wanted).await?.into_iter();
        let mut next = || found.next().flatten();
        Ok(Desk {
            person: next().map(from_item).transpose()?,
            assignment: next().map(from_item).transpose()?,
            shift: next().map(from_item).transpose()?,
            tenant: next().map(from_item).transpose()?,
            record: next().map(from_item).transpose()?,
            replay: next().map(from_item).transpose()?,
        })
    }

    /// A record, its assignment and shift, and the organisation: what a correction needs (one
    /// `BatchGetItem`).
    pub async fn correcting(&self, tenant_id: &str, attendance_id: &str) -> Result<Desk, Error> {
        let Some((shift_id, person_id)) = Assignment::parts(attendance_id) else {
            return Ok(Desk { person: None, assignment: None, shift: None, tenant: None, record: None, replay: None });
        };
        self.desk(tenant_id, shift_id, person_id, None).await
    }

    /// The answer kept under an idempotency key, read on its own: after losing a race to the
    /// request that kept it.
    pub async fn replay(
        &self,
        tenant_id: &str,
        person_id: &str,
        idempotency_key: &str,
    ) -> Result<Option<Replay>, Error> {
        let wanted = [key(keys::replay(tenant_id, person_id, idempotency_key), keys::REPLAY_SK)];
        self.batch_get(&wanted).await?.pop().flatten().map(from_item).transpose()
    }

    /// An answer to keep for a day under its key, only if no answer is kept there yet.
    pub fn replay_put(
        &self,
        tenant_id: &str,
        person_id: &str,
        idempotency_key: &str,
        replay: &Replay,
        now_epoch: i64,
    ) -> Result<TransactWriteItem, Error> {
        let mut item = to_item(
            replay,
            &[("pk", keys::replay(tenant_id, person_id, idempotency_key)), ("sk", keys::REPLAY_SK.to_owned())],
        )?;
        item.insert("expires_at".into(), super::n(now_epoch + REPLAY_SECS));
        put_new(&self.table, item)
    }

    /// One more entry of a record's log.
    pub fn attendance_event_put(&self, tenant_id: &str, event: &AttendanceEvent) -> Result<TransactWriteItem, Error> {
        let item = to_item(
            event,
            &[
                ("pk", keys::attendance_record(tenant_id, &event.attendance_id)),
                ("sk", format!("{}#{}", event.at, event.id)),
            ],
        )?;
        put_new(&self.table, item)
    }

    /// A record and its log, oldest first: one Query of the record's partition (a record has a
    /// handful of events).
    pub async fn attendance_with_events(
        &self,
        tenant_id: &str,
        attendance_id: &str,
    ) -> Result<Option<(Attendance, Vec<AttendanceEvent>)>, Error> {
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s(Attendance::partition(tenant_id, attendance_id)))
            .consistent_read(true)
            .send()
            .await?;
        let (mut record, mut events) = (None, Vec::new());
        for item in output.items.unwrap_or_default() {
            let is_record =
                item.get("sk").and_then(|sk| sk.as_s().ok()).is_some_and(|sk| sk.starts_with(Attendance::PREFIX));
            if is_record {
                record = Some(from_item(item)?);
            } else {
                events.push(from_item(item)?);
            }
        }
        Ok(record.map(|record| (record, events)))
    }

    /// Moves the organisation's attendance records still kept in its own partition, as they were
    /// before each had one of its own, each to its own partition with its log (indexes and fields
    /// as they were); one Query when none is left. A record written at its own key meanwhile is
    /// kept and the old one dropped. Returns how many it found. (The nightly closing runs it
    /// first, so every deployment moves its records within the hour; remove it once all have.)
    pub async fn attendance_moved_home(&self, tenant_id: &str) -> Result<usize, Error> {
        let found = self.every(self.organisation_query(tenant_id, Attendance::PREFIX)).await?;
        for old in &found {
            let record: Attendance = from_item(old.clone())?;
            let mut moved = old.clone();
            moved.insert("pk".into(), s(Attendance::partition(tenant_id, &record.id)));
            let dropped = Delete::builder()
                .table_name(&self.table)
                .set_key(Some(key(keys::tenant(tenant_id), format!("{}{}", Attendance::PREFIX, record.id))))
                .condition_expression("version = :version")
                .expression_attribute_values(":version", super::n(record.version))
                .build()
                .map_err(Error::internal)?;
            let dropped = TransactWriteItem::builder().delete(dropped).build();
            // Refused at the put alone: the record has been written at its own key since.
            if let Err(Refused(failed)) = self.transact(vec![put_new(&self.table, moved)?, dropped.clone()]).await?
                && failed == [0]
            {
                self.transact(vec![dropped]).await?.ok();
            }
        }
        Ok(found.len())
    }

    /// Puts `review` in the queue.
    pub fn review_queued(&self, tenant_id: &str, review: &FaceReview) -> Result<TransactWriteItem, Error> {
        let everywhere = format!("{}#{tenant_id}#{}", review.queued_at, review.attendance_id);
        let item = to_item(
            review,
            &[
                ("pk", keys::face_reviews(tenant_id)),
                ("sk", format!("{}#{}", review.queued_at, review.attendance_id)),
                ("gsi1pk", keys::FACE_REVIEWS_EVERYWHERE.to_owned()),
                ("gsi1sk", everywhere),
            ],
        )?;
        put_new(&self.table, item)
    }

    /// Takes a record out of the queue, where it went at `queued_at`.
    pub fn review_dequeued(
        &self,
        tenant_id: &str,
        attendance_id: &str,
        queued_at: &str,
    ) -> Result<TransactWriteItem, Error> {
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::face_reviews(tenant_id), format!("{queued_at}#{attendance_id}"))))
            .condition_expression("attribute_exists(pk)")
            .build()
            .map_err(Error::internal)?;
        Ok(TransactWriteItem::builder().delete(delete).build())
    }

    /// The review queue, oldest first: one page; with `locations`, only theirs (the queue is
    /// short-lived and small: its partition read, the rest filtered out).
    pub async fn face_reviews(
        &self,
        tenant_id: &str,
        locations: Option<&[String]>,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> Result<Page<FaceReview>, Error> {
        let partition = keys::face_reviews(tenant_id);
        let request = PageRequest::new(limit, cursor, Index::Table, &partition)?;
        let query =
            self.client.query().key_condition_expression("pk = :pk").expression_attribute_values(":pk", s(partition));
        let (query, filtered) = match locations {
            Some(locations) => Filter::default().and_among("location_id", locations).apply(query),
            None => (query, false),
        };
        self.page(query, request, Index::Table, filtered).await
    }

    /// Every organisation's check-ins waiting for review, oldest first, one page (the platform
    /// admin's queue).
    pub async fn face_reviews_everywhere(
        &self,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> Result<Page<FaceReview>, Error> {
        let partition = keys::FACE_REVIEWS_EVERYWHERE.to_owned();
        self.partition_page(Index::Gsi1, partition, Filter::default(), true, limit, cursor).await
    }

    /// Records by shift start within `[from, to)`, one page: one person's (gsi1) or everyone's,
    /// of the whole organisation (`locations` `None`, gsi2) or of some locations (gsi3, one
    /// partition each, merged), with `filter` applied within each partition.
    pub async fn attendance_records(
        &self,
        tenant_id: &str,
        (person_id, locations): (Option<&str>, Option<&[String]>),
        range: (Option<&str>, Option<&str>),
        filter: Filter,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> Result<Page<Attendance>, Error> {
        match (person_id, locations) {
            (_, Some([])) => {
                self.merged(Index::Gsi3, Vec::new(), &keys::attendance(tenant_id), range, filter, limit, cursor).await
            }
            (Some(person), locations) => {
                let filter = match locations {
                    Some(locations) => filter.and_among("location_id", locations),
                    None => filter,
                };
                let partition = keys::person_attendance(tenant_id, person);
                self.by_start(Index::Gsi1, partition, range, filter, limit, cursor).await
            }
            (None, None) => self.by_start(Index::Gsi2, keys::attendance(tenant_id), range, filter, limit, cursor).await,
            (None, Some([location])) => {
                let partition = keys::location_attendance(tenant_id, location);
                self.by_start(Index::Gsi3, partition, range, filter, limit, cursor).await
            }
            (None, Some(locations)) => {
                let partitions =
                    locations.iter().map(|location| keys::location_attendance(tenant_id, location)).collect();
                self.merged(Index::Gsi3, partitions, &keys::attendance(tenant_id), range, filter, limit, cursor).await
            }
        }
    }

    /// Every record of one person (or everyone, `None`) whose shift starts within `[from, to)`,
    /// for sums, pay and exports: DynamoDB's own pages of up to 1 MB (about 700 records each),
    /// one after another. With `locations`, only theirs: each location's partition (gsi3) read
    /// in parallel, the records in shift start order.
    pub async fn all_attendance(
        &self,
        tenant_id: &str,
        (person_id, locations): (Option<&str>, Option<&[String]>),
        range: (&str, &str),
        filter: Filter,
    ) -> Result<Vec<Attendance>, Error> {
        let (filter, partitions) = match (person_id, locations) {
            (_, Some([])) => return Ok(Vec::new()),
            (Some(person), locations) => {
                let filter = match locations {
                    Some(locations) => filter.and_among("location_id", locations),
                    None => filter,
                };
                (filter, vec![(Index::Gsi1, keys::person_attendance(tenant_id, person))])
            }
            (None, None) => (filter, vec![(Index::Gsi2, keys::attendance(tenant_id))]),
            (None, Some(locations)) => {
                let partitions =
                    locations.iter().map(|location| (Index::Gsi3, keys::location_attendance(tenant_id, location)));
                (filter, partitions.collect())
            }
        };
        let reads = partitions.into_iter().map(|(index, partition)| {
            let query = self.by_start_query(index, partition, (Some(range.0), Some(range.1)));
            self.every(filter.clone().apply(query).0)
        });
        let items = futures_util::future::try_join_all(reads).await?.into_iter().flatten();
        let mut records: Vec<Attendance> = items.map(from_item).collect::<Result<_, _>>()?;
        if locations.is_some_and(|locations| locations.len() > 1) {
            records.sort_by(|a, b| (&a.shift_start, &a.shift_id).cmp(&(&b.shift_start, &b.shift_id)));
        }
        Ok(records)
    }
}

/// A record of person `P` on shift `S` from `start` to `end`, before any event: for the unit tests
/// of the rules that read records.
#[cfg(test)]
pub(crate) fn sample(start: &str, end: &str, break_minutes: u32) -> Attendance {
    Attendance {
        id: "S_P".into(),
        tenant_id: "T".into(),
        shift_id: "S".into(),
        person_id: "P".into(),
        person_name: "Sam".into(),
        event_id: None,
        location_id: "L".into(),
        location_name: "Hall".into(),
        position_id: "X".into(),
        position_name: "Usher".into(),
        shift_start: start.into(),
        shift_end: end.into(),
        break_minutes,
        shift_date: start.get(..10).unwrap_or_default().into(),
        rate_minor: None,
        check_in: None,
        check_out: None,
        check_in_at: None,
        check_out_at: None,
        status: None,
        status_override: None,
        late_minutes: 0,
        early_minutes: 0,
        worked_minutes: 0,
        overridden: false,
        flagged: false,
        risk_score: 0,
        review: None,
        window_closed: false,
        version: 0,
        created_at: start.into(),
        updated_at: start.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mark(at: &str, risk_score: u8, flagged: bool) -> Mark {
        Mark {
            at: at.into(),
            lat: 53.8,
            lng: -1.55,
            accuracy_m: 10.0,
            distance_m: 20,
            radius_m: 150,
            flagged,
            photo_key: None,
            risk_score,
            accepted_offer: false,
        }
    }

    fn record() -> Attendance {
        sample("2030-03-30T22:00:00Z", "2030-03-31T06:00:00Z", 30)
    }

    fn event(at: &str, happening: Happening) -> AttendanceEvent {
        AttendanceEvent::new("S_P", ("P", "Sam"), at, happening)
    }

    #[test]
    fn a_record_is_the_fold_of_its_events_and_a_correction_keeps_the_marks() {
        let settings = Settings::default();
        let log = [
            event("2030-03-30T22:07:00.000Z", Happening::CheckIn(mark("2030-03-30T22:07:00.000Z", 10, false))),
            event("2030-03-31T06:00:00.000Z", Happening::CheckOut(mark("2030-03-31T06:00:00.000Z", 10, false))),
        ];
        let mut record = record();
        for event in &log {
            record.apply(event, &settings);
        }
        assert_eq!(record.status, Some(Status::Late));
        assert_eq!((record.late_minutes, record.worked_minutes, record.version), (7, 8 * 60 - 7 - 30, 2));
        let correction = Correction {
            check_in_at: Some("2030-03-30T22:00:00.000Z".into()),
            check_out_at: None,
            status: None,
            reason: "badge reader was down".into(),
        };
        record.apply(&event("2030-04-01T09:00:00.000Z", Happening::Override(correction)), &settings);
        assert_eq!(record.status, Some(Status::OnTime));
        assert_eq!(record.worked_minutes, 8 * 60 - 30);
        assert_eq!(record.check_in.as_ref().map(|mark| mark.at.as_str()), Some("2030-03-30T22:07:00.000Z"));
        assert!(record.overridden && record.review.is_none());
    }

    #[test]
    fn a_closed_window_makes_a_record_absent_or_incomplete_once() {
        let settings = Settings::default(); // the window closes 60 minutes after the end
        let closed = "2030-03-31T07:00:01.000Z";
        let mut absent = record();
        assert!(absent.open_after_window());
        absent.apply(&event(closed, Happening::WindowClosed), &settings);
        assert_eq!((absent.status, absent.flagged, absent.version), (Some(Status::Absent), false, 1));
        assert!(!absent.open_after_window());
        let mut incomplete = record();
        incomplete.apply(
            &event("2030-03-30T21:58:00.000Z", Happening::CheckIn(mark("2030-03-30T21:58:00.000Z", 0, false))),
            &settings,
        );
        assert_eq!(incomplete.status, Some(Status::OnTime));
        incomplete.apply(&event(closed, Happening::WindowClosed), &settings);
        assert_eq!((incomplete.status, incomplete.flagged), (Some(Status::Incomplete), true));
        assert!(!incomplete.open_after_window());
        let mut done = record();
        done.apply(
            &event("2030-03-31T06:00:00.000Z", Happening::CheckOut(mark("2030-03-31T06:00:00.000Z", 0, false))),
            &settings,
        );
        assert!(!done.open_after_window(), "checked out: nothing to close");
    }

    #[test]
    fn a_risky_mark_waits_for_review_until_decided() {
        let settings = Settings::default();
        let mut record = record();
        record.apply(
            &event("2030-03-30T21:58:00.000Z", Happening::CheckIn(mark("2030-03-30T21:58:00.000Z", 50, false))),
            &settings,
        );
        assert!(record.awaiting_review());
        assert_eq!(record.status, Some(Status::OnTime));
        let decision = ReviewDecision { decision: ReviewOutcome::Rejected, note: Some("not them".into()) };
        record.apply(&event("2030-03-31T08:00:00.000Z", Happening::Review(decision)), &settings);
        let review = record.review.clone().unwrap();
        assert_eq!((review.state, review.queued_at.as_str()), (ReviewState::Rejected, "2030-03-30T21:58:00.000Z"));
        assert!(!record.awaiting_review());
        let mut flagged = self::record();
        flagged.apply(
            &event("2030-03-30T21:58:00.000Z", Happening::CheckIn(mark("2030-03-30T21:58:00.000Z", 40, true))),
            &settings,
        );
        assert!(flagged.awaiting_review() && flagged.flagged);
        let mut fine = self::record();
        fine.apply(
            &event("2030-03-30T21:58:00.000Z", Happening::CheckIn(mark("2030-03-30T21:58:00.000Z", 49, false))),
            &settings,
        );
        assert!(fine.review.is_none());
    }
}
