//! Requests staff make of their organisation: time off, and handing a shift to a colleague.
//!
//! A request (`REQUEST#{id}`) is on gsi1 under its requester (their requests, newest first) and,
//! while someone still has to act on it, on gsi2 under its status: `open` swaps wait for a
//! colleague, `pending` requests for a coordinator. A decided request leaves gsi2, so a review
//! queue is one Query of only what is waiting.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::entities::Filter;
use aws_sdk_dynamodb::types::{ConditionCheck, TransactWriteItem};

use super::page::{Index, Page};
use super::schedule::{Booked, Shift};
use super::{Store, key, keys, n, s};
use crate::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RequestKind {
    TimeOff,
    Swap,
}

/// `open` (a swap waiting for a colleague to take it) → `pending` (waiting for a coordinator) →
/// `approved` or `rejected`; the requester may cancel until it is decided (and approved time off
/// after, which gives the days back).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RequestStatus {
    Open,
    Pending,
    Approved,
    Rejected,
    Cancelled,
}

impl RequestStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RequestStatus::Open => "open",
            RequestStatus::Pending => "pending",
            RequestStatus::Approved => "approved",
            RequestStatus::Rejected => "rejected",
            RequestStatus::Cancelled => "cancelled",
        }
    }

    /// Whether someone still has to act on it.
    pub fn waiting(self) -> bool {
        matches!(self, RequestStatus::Open | RequestStatus::Pending)
    }
}

/// Who decided a request, when, and what they said.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Decision {
    pub by: String,
    pub by_name: String,
    pub at: String,
    pub note: Option<String>,
}

/// A time-off or swap request. Time off has `from`, `to` and `reason`; a swap has the
/// assignment it hands over and its shift's times, and the colleague (`to_person_id`: the one
/// it was offered to, or whoever took an offer to anyone eligible).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Request {
    pub id: String,
    pub tenant_id: String,
    pub kind: RequestKind,
    pub status: RequestStatus,
    pub requester_id: String,
    pub requester_name: String,
    /// The requester's unit when they asked: whose coordinators, limited to units, see it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requester_unit_id: Option<String>,
    /// Time off: first and last day off (`YYYY-MM-DD`, inclusive, on the clock of wherever the
    /// person works).
    pub from: Option<String>,
    pub to: Option<String>,
    pub reason: Option<String>,
    /// Swap: the requester's assignment and its shift.
    pub assignment_id: Option<String>,
    pub shift: Option<SwapShift>,
    /// Swap: the colleague; absent while an offer to anyone eligible is open.
    pub to_person_id: Option<String>,
    /// Swap: offered to anyone eligible (not one named colleague), so every colleague saw it
    /// while it was open.
    #[serde(default)]
    pub offered_to_anyone: bool,
    pub to_person_name: Option<String>,
    /// When the colleague took the swap.
    pub accepted_at: Option<String>,
    /// The approval or rejection (for a swap that needs no approval: the colleague taking it).
    pub decision: Option<Decision>,
    /// Approved time off: the shifts it took the person off (their places opened again).
    pub released_shift_ids: Vec<String>,
    pub version: u64,
    pub created_at: String,
    pub updated_at: String,
}

/// The shift a swap hands over, as it was when the swap was asked for (or approved): what the
/// colleague sees and what the rules judge. Handing it over is conditioned on the shift still
/// being so.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SwapShift {
    pub id: String,
    pub location_id: String,
    pub location_name: String,
    pub position_id: String,
    pub position_name: String,
    pub start: String,
    pub end: String,
    pub start_local: String,
    pub end_local: String,
    pub time_zone: String,
    pub break_minutes: u32,
    pub event_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supervisor: Option<super::schedule::Supervisor>,
}

impl SwapShift {
    pub fn of(shift: &Shift) -> Self {
        Self {
            id: shift.id.clone(),
            location_id: shift.location_id.clone(),
            location_name: shift.location_name.clone(),
            position_id: shift.position_id.clone(),
            position_name: shift.position_name.clone(),
            start: shift.start.clone(),
            end: shift.end.clone(),
            start_local: shift.start_local.clone(),
            end_local: shift.end_local.clone(),
            time_zone: shift.time_zone.clone(),
            break_minutes: shift.break_minutes,
            event_id: shift.event_id.clone(),
            supervisor: shift.supervisor.clone(),
        }
    }

    pub fn booked(&self) -> Booked {
        Booked {
            start: self.start.clone(),
            end: self.end.clone(),
            break_minutes: self.break_minutes,
            position_id: self.position_id.clone(),
            time_zone: self.time_zone.clone(),
            event_id: self.event_id.clone(),
        }
    }
}

/// On gsi2's `open` partition, who may take a swap: its colleague, or anyone (`*`).
const ANYONE: &str = "*";

crate::entity!(
    Request,
    "REQUEST#",
    "request",
    extra = |request: &Request| {
        let mut attributes = vec![
            ("gsi1pk", keys::person_requests(&request.tenant_id, &request.requester_id)),
            ("gsi1sk", request.id.clone()),
        ];
        if request.status.waiting() {
            attributes.push(("gsi2pk", keys::requests(&request.tenant_id, request.status.as_str())));
            attributes.push(("gsi2sk", request.id.clone()));
            attributes.push(("offered_to", request.to_person_id.clone().unwrap_or_else(|| ANYONE.to_owned())));
        }
        attributes
    }
);

impl Store {
    /// A person's own requests, newest first.
    pub async fn my_requests(
        &self,
        tenant_id: &str,
        person_id: &str,
        filter: Filter,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> Result<Page<Request>, Error> {
        self.requests_on(Index::Gsi1, keys::person_requests(tenant_id, person_id), filter, limit, cursor).await
    }

    /// Requests waiting in `status` (`open` or `pending`), oldest first; `open` ones only those
    /// `person_id` may take (offered to them or to anyone, and not their own).
    pub async fn waiting_requests(
        &self,
        tenant_id: &str,
        status: RequestStatus,
        person_id: Option<&str>,
        filter: Filter,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> Result<Page<Request>, Error> {
        let filter = match person_id {
            // Each condition brings the placeholders it introduces.
            Some(person) => filter.and("requester_id <> :me", ("", ""), (":me", s(person))).and(
                "offered_to IN (:me, :anyone)",
                ("", ""),
                (":anyone", s(ANYONE)),
            ),
            None => filter,
        };
        let partition = keys::requests(tenant_id, status.as_str());
        self.requests_on(Index::Gsi2, partition, filter, limit, cursor).await
    }

    /// A check that the shift is published with the times and position of `shift`, so a swap
    /// judged on them hands over that shift and no other version of it.
    pub fn shift_unchanged(&self, tenant_id: &str, shift: &SwapShift) -> Result<TransactWriteItem, Error> {
        let check = ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::tenant(tenant_id), format!("SHIFT#{}", shift.id))))
            .condition_expression(
                "#status = :published AND #start = :start AND #end = :end AND position_id = :position \
                 AND break_minutes = :break",
            )
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#start", "start")
            .expression_attribute_names("#end", "end")
            .expression_attribute_values(":published", s("published"))
            .expression_attribute_values(":start", s(&shift.start))
            .expression_attribute_values(":end", s(&shift.end))
            .expression_attribute_values(":position", s(&shift.position_id))
            .expression_attribute_values(":break", n(shift.break_minutes))
            .build()
            .map_err(Error::internal)?;
        Ok(TransactWriteItem::builder().condition_check(check).build())
    }

    /// A put of the colleague's assignment a swap makes: only where they have none, or one they
    /// declined.
    pub fn swap_assignment_put(&self, assignment: &super::schedule::Assignment) -> Result<TransactWriteItem, Error> {
        let put = aws_sdk_dynamodb::types::Put::builder()
            .table_name(&self.table)
            .set_item(Some(self.entity_item(assignment)?))
            .condition_expression("attribute_not_exists(pk) OR #status = :declined")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":declined", s("declined"))
            .build()
            .map_err(Error::internal)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// Takes the time off of request `request_id` out of a person's schedule, without reading it.
    pub fn time_off_removed(
        &self,
        tenant_id: &str,
        person_id: &str,
        request_id: &str,
    ) -> Result<TransactWriteItem, Error> {
        let update = aws_sdk_dynamodb::types::Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::tenant(tenant_id), keys::schedule_sk(person_id))))
            .update_expression("REMOVE time_off.#request ADD version :one")
            .condition_expression("attribute_exists(time_off)")
            .expression_attribute_names("#request", request_id)
            .expression_attribute_values(":one", n(1))
            .build()
            .map_err(Error::internal)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    async fn requests_on(
        &self,
        index: Index,
        partition: String,
        filter: Filter,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> Result<Page<Request>, Error> {
        // Ids are ULIDs: a person's own list reads newest first, a queue oldest first.
        self.partition_page(index, partition, filter, index != Index::Gsi1, limit, cursor).await
    }
}

impl Request {
    /// Whether `person_id` may take this swap now: it is open, not theirs, and offered to them
    /// or to anyone.
    pub fn open_to(&self, person_id: &str) -> bool {
        self.kind == RequestKind::Swap
            && self.status == RequestStatus::Open
            && self.requester_id != person_id
            && self.to_person_id.as_deref().is_none_or(|to| to == person_id)
    }
}
