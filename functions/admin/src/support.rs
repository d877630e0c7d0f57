//! Support tickets, the platform's side: every organisation's tickets by status (the queue,
//! oldest first) or one organisation's; reading, replying, assigning, prioritising and moving
//! a ticket on. The requester is mailed of every reply and change of status.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::Utc;
use garde::Validate;
use rota::auth::{Caller, Permission};
use rota::error::Problem;
use rota::http::{ValidJson, ValidQuery};
use rota::notify::{Envelope, Message};
use rota::records::unchanged_since;
use rota::store::entities::Entity;
use rota::store::page::Page;
use rota::store::people::Person;
use rota::store::platform::PLATFORM_TENANT;
use rota::store::support::{Priority, Side, Ticket, TicketMessage, TicketStatus, TicketThread};
use rota::validate::{not_blank, nullable};
use rota::{AppState, Error};
use serde::Deserialize;
use utoipa::ToSchema;

rota::list_query! {
    pub struct SupportQueueQuery {
        /// Tickets in this status; `open` (the queue) unless given, or every status of one
        /// organisation's.
        #[garde(skip)]
        #[param(inline)]
        pub status: Option<TicketStatus>,
        /// One organisation's tickets, newest first.
        #[garde(length(min = 1, max = 64))]
        #[param(min_length = 1, max_length = 64)]
        pub tenant_id: Option<String>,
    }
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "body": "Thanks — the app update of today fixes the upload; please try again.", "status": "solved" }))]
pub struct PlatformReply {
    #[garde(length(chars, min = 1, max = 10000), custom(not_blank))]
    #[schema(min_length = 1, max_length = 10000, pattern = r"[^\s\x00-\x1f\x7f-\x9f]")]
    pub body: String,
    /// Where the reply leaves the ticket: `pending` (waiting on the organisation) unless given;
    /// `solved` when it answers it.
    #[garde(custom(not_closed))]
    pub status: Option<TicketStatus>,
}

fn not_closed(status: &Option<TicketStatus>, _: &()) -> garde::Result {
    match status {
        Some(TicketStatus::Closed) => {
            Err(garde::Error::new("a reply does not close a ticket: reply, then PATCH it closed"))
        }
        _ => Ok(()),
    }
}

/// What changes; omitted fields stay as they are.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "status": "pending", "priority": "high" }))]
pub struct TicketChange {
    #[garde(skip)]
    pub status: Option<TicketStatus>,
    #[garde(skip)]
    pub priority: Option<Priority>,
    /// A platform admin's id; `null` leaves it unassigned.
    #[serde(default, deserialize_with = "nullable")]
    #[garde(inner(inner(length(min = 1, max = 64))))]
    #[schema(value_type = Option<String>, nullable, min_length = 1, max_length = 64)]
    pub assignee_id: Option<Option<String>>,
    /// The `version` last read; when given, a stale write answers 409.
    #[garde(range(max = rota::validate::MAX_VERSION))]
    pub version: Option<u64>,
}

/// The requester's mail of a change on their ticket by `author`.
fn news_for_requester(ticket: &Ticket, author: &str, excerpt: Option<&str>) -> Envelope {
    let message = Message::SupportTicket {
        tenant_id: ticket.tenant_id.clone(),
        ticket_id: ticket.id.clone(),
        subject: ticket.subject.clone(),
        organisation: ticket.organisation.clone(),
        author: author.to_owned(),
        status: ticket.status,
        excerpt: excerpt.map(|text| text.chars().take(500).collect()),
        to_platform: false,
    };
    Envelope::to_person(&ticket.tenant_id, &ticket.requester_id, message)
}

/// Every organisation's tickets in a status, oldest first (the queue: `open` unless asked), or
/// one organisation's, newest first (platform admins).
#[utoipa::path(get, path = "/admin/support/tickets", tag = "platform", security(("bearer" = ["platform.manage"])),
    params(SupportQueueQuery),
    responses((status = 200, description = "A page of tickets", body = Page<Ticket>)))]
pub async fn support_queue(
    State(state): State<AppState>,
    caller: Caller,
    ValidQuery(query): ValidQuery<SupportQueueQuery>,
) -> Result<Json<Page<Ticket>>, Error> {
    caller.require(Permission::PlatformManage)?;
    let (limit, cursor) = (query.limit, query.cursor.as_deref());
    let page = match &query.tenant_id {
        Some(tenant_id) => state.store.tickets(tenant_id, None, query.status, limit, cursor).await?,
        None => state.store.support_queue(query.status.unwrap_or(TicketStatus::Open), limit, cursor).await?,
    };
    Ok(Json(page))
}

/// A ticket with its whole thread (platform admins).
#[utoipa::path(get, path = "/admin/tenants/{tenant_id}/support/tickets/{ticket_id}", tag = "platform", security(("bearer" = ["platform.manage"])),
    params(("tenant_id" = String, Path), ("ticket_id" = String, Path)),
    responses(
        (status = 200, description = "The ticket and its thread", body = TicketThread),
        (status = 404, description = "No such ticket", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_ticket(
    State(state): State<AppState>,
    caller: Caller,
    Path((tenant_id, ticket_id)): Path<(String, String)>,
) -> Result<Json<TicketThread>, Error> {
    caller.require(Permission::PlatformManage)?;
    let (ticket, messages) = state.store.ticket_with_messages(&tenant_id, &ticket_id).await?.ok_or(Error::NotFound)?;
    Ok(Json(TicketThread::of(ticket, messages, &state.files, Utc::now()).await?))
}

/// Replies on a ticket as the platform (platform admins): it waits on the organisation
/// (`pending`) unless the reply solves it; the requester is mailed.
#[utoipa::path(post, path = "/admin/tenants/{tenant_id}/support/tickets/{ticket_id}/messages", tag = "platform", security(("bearer" = ["platform.manage"])),
    params(("tenant_id" = String, Path), ("ticket_id" = String, Path)),
    request_body = PlatformReply,
    responses(
        (status = 201, description = "The message", body = TicketMessage),
        (status = 404, description = "No such ticket", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The ticket is closed, or holds 200 messages", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn reply(
    State(state): State<AppState>,
    caller: Caller,
    Path((tenant_id, ticket_id)): Path<(String, String)>,
    ValidJson(reply): ValidJson<PlatformReply>,
) -> Result<(StatusCode, Json<TicketMessage>), Error> {
    caller.require(Permission::PlatformManage)?;
    // Round trip 1, in parallel: the ticket and the admin's name.
    let (ticket, me) = tokio::try_join!(
        state.store.entity::<Ticket>(&tenant_id, &ticket_id),
        state.store.entity::<Person>(PLATFORM_TENANT, &caller.person_id),
    )?;
    let (mut ticket, me) = (ticket.ok_or(Error::NotFound)?, me.ok_or(Error::NotFound)?);
    let at = rota::clock::iso(Utc::now());
    let message = TicketMessage::new(&ticket.id, Side::Platform, (me.id, me.name), reply.body, Vec::new(), &at);
    let status = reply.status.unwrap_or(TicketStatus::Pending);
    // Round trip 2: the message with the ticket's count and status, or neither.
    if !state.store.ticket_reply(&ticket, &message, status).await? {
        return Err(Error::Conflict("the ticket is closed, or holds 200 messages"));
    }
    ticket.status = status;
    state.outbox.send(&news_for_requester(&ticket, "Rota support", Some(&message.body))).await?;
    Ok((StatusCode::CREATED, Json(message)))
}

/// Moves a ticket on, reprioritises or assigns it (platform admins); the requester is mailed
/// when its status changes.
#[utoipa::path(patch, path = "/admin/tenants/{tenant_id}/support/tickets/{ticket_id}", tag = "platform", security(("bearer" = ["platform.manage"])),
    params(("tenant_id" = String, Path), ("ticket_id" = String, Path)),
    request_body = TicketChange,
    responses(
        (status = 200, description = "The ticket as it is now", body = Ticket),
        (status = 404, description = "No such ticket", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Changed by someone else since `version`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`assignee_id` is no platform admin", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update_ticket(
    State(state): State<AppState>,
    caller: Caller,
    Path((tenant_id, ticket_id)): Path<(String, String)>,
    ValidJson(change): ValidJson<TicketChange>,
) -> Result<Json<Ticket>, Error> {
    caller.require(Permission::PlatformManage)?;
    let assignee_id = change.assignee_id.clone().flatten();
    // Round trip 1, in parallel: the ticket and the admin it is given to.
    let (ticket, assignee) = tokio::try_join!(state.store.entity::<Ticket>(&tenant_id, &ticket_id), async {
        match &assignee_id {
            Some(id) => state.store.entity::<Person>(PLATFORM_TENANT, id).await,
            None => Ok(None),
        }
    })?;
    let before = ticket.ok_or(Error::NotFound)?;
    unchanged_since(change.version, &before)?;
    let mut after = before.clone();
    if let Some(status) = change.status {
        after.status = status;
    }
    if let Some(priority) = change.priority {
        after.priority = priority;
    }
    if let Some(given) = change.assignee_id {
        let assignee = match given {
            Some(_) => Some(assignee.ok_or_else(|| Error::field("assignee_id", "is no platform admin"))?),
            None => None,
        };
        after.assignee_id = assignee.as_ref().map(|person| person.id.clone());
        after.assignee_name = assignee.map(|person| person.name);
    }
    after.version += 1;
    after.updated_at = rota::clock::iso(Utc::now());
    // Round trip 2: the ticket, only if nobody changed it since it was read.
    let put = state.store.entity_put(&after, Some(before.version))?;
    state.store.transact(vec![put]).await?.map_err(|_| Error::Conflict(Ticket::STALE))?;
    if after.status != before.status {
        state.outbox.send(&news_for_requester(&after, "Rota support", None)).await?;
    }
    Ok(Json(after))
}
