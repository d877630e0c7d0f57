//! Support tickets, the organisation's side: anyone signed in opens one and follows it; the
//! organisation's admins see all of its tickets. Files go straight to S3 through a presigned
//! upload under the author's own folder. The platform's side is the admin function's.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::Utc;
use garde::Validate;
use rota::auth::{Caller, Permission};
use rota::error::Problem;
use rota::files::Upload;
use rota::http::{ValidJson, ValidQuery};
use rota::notify::{Envelope, Message};
use rota::store::page::Page;
use rota::store::people::{Person, PersonStatus};
use rota::store::platform::PLATFORM_TENANT;
use rota::store::support::{
    Attachment, AttachmentType, MAX_ATTACHMENT_BYTES, Priority, Side, Ticket, TicketMessage, TicketStatus,
    TicketThread, attachment_folder,
};
use rota::validate::not_blank;
use rota::{AppState, Error};
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "subject": "Check-in photos fail on one phone", "body": "Since Monday Sam's phone cannot upload the photo at the gate.", "priority": "high" }))]
pub struct NewTicket {
    #[garde(length(chars, min = 1, max = 200), custom(not_blank))]
    #[schema(min_length = 1, max_length = 200, pattern = r"[^\s\x00-\x1f\x7f-\x9f]")]
    pub subject: String,
    #[garde(length(chars, min = 1, max = 10000), custom(not_blank))]
    #[schema(min_length = 1, max_length = 10000, pattern = r"[^\s\x00-\x1f\x7f-\x9f]")]
    pub body: String,
    /// `normal` unless given.
    #[garde(skip)]
    pub priority: Option<Priority>,
    /// Files uploaded through `POST /support/attachments` (at most 5).
    #[garde(length(max = 5), dive)]
    #[schema(max_items = 5)]
    pub attachments: Option<Vec<NewAttachment>>,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "body": "It works again since the app update, thank you.", "attachments": [] }))]
pub struct NewMessage {
    #[garde(length(chars, min = 1, max = 10000), custom(not_blank))]
    #[schema(min_length = 1, max_length = 10000, pattern = r"[^\s\x00-\x1f\x7f-\x9f]")]
    pub body: String,
    #[garde(length(max = 5), dive)]
    #[schema(max_items = 5)]
    pub attachments: Option<Vec<NewAttachment>>,
}

/// A file uploaded for a message: the `key` its upload answered, and the name to show.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAttachment {
    #[garde(length(min = 1, max = 300))]
    #[schema(min_length = 1, max_length = 300)]
    pub key: String,
    #[garde(length(chars, min = 1, max = 200), custom(not_blank))]
    #[schema(min_length = 1, max_length = 200, pattern = r"[^\s\x00-\x1f\x7f-\x9f]")]
    pub file_name: String,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "content_type": "image/png", "content_length": 48213 }))]
pub struct AttachmentUpload {
    #[garde(skip)]
    pub content_type: AttachmentType,
    /// The file's exact size in bytes, at most 10 MiB.
    #[garde(range(min = 1, max = MAX_ATTACHMENT_BYTES))]
    #[schema(minimum = 1, maximum = 10485760)]
    pub content_length: u64,
}

rota::list_query! {
    pub struct TicketsQuery {
        #[garde(skip)]
        #[param(inline)]
        pub status: Option<TicketStatus>,
    }
}

/// The attachments of a message by `caller`: only files from their own folder.
fn attachments_of(caller: &Caller, given: Option<Vec<NewAttachment>>) -> Result<Vec<Attachment>, Error> {
    let folder = attachment_folder(&caller.tenant_id, &caller.person_id);
    given
        .unwrap_or_default()
        .into_iter()
        .map(|attachment| match attachment.key.strip_prefix(&folder) {
            Some(rest) if !rest.is_empty() && !rest.contains('/') => {
                Ok(Attachment { key: attachment.key, file_name: attachment.file_name })
            }
            _ => Err(Error::field("attachments", "must be files you uploaded through POST /support/attachments")),
        })
        .collect()
}

/// Who on the platform hears of the organisation's news on a ticket: its assignee, else every
/// active platform admin.
fn platform_mail(ticket: &Ticket, admins: &[Person], message: &Message) -> Vec<Envelope> {
    admins
        .iter()
        .filter(|admin| admin.status == PersonStatus::Active)
        .filter(|admin| ticket.assignee_id.as_ref().is_none_or(|assignee| *assignee == admin.id))
        .map(|admin| Envelope::to_person(PLATFORM_TENANT, &admin.id, message.clone()))
        .collect()
}

/// The mail of a message of the organisation's on `ticket`.
fn news_for_platform(ticket: &Ticket, message: &TicketMessage) -> Message {
    Message::SupportTicket {
        tenant_id: ticket.tenant_id.clone(),
        ticket_id: ticket.id.clone(),
        subject: ticket.subject.clone(),
        organisation: ticket.organisation.clone(),
        author: message.author_name.clone(),
        status: ticket.status,
        excerpt: Some(message.body.chars().take(500).collect()),
        to_platform: true,
    }
}

/// A presigned upload of a file to send with a ticket's message (15 minutes): a screenshot, a
/// PDF, a text or CSV file up to 10 MiB, in the caller's own support folder.
#[utoipa::path(post, path = "/support/attachments", tag = "support", security(("bearer" = [])),
    request_body = AttachmentUpload,
    responses((status = 201, description = "PUT the file to `url` with exactly `headers`, then send its `key` with the message", body = Upload)))]
pub async fn attachment_upload(
    State(state): State<AppState>,
    caller: Caller,
    ValidJson(upload): ValidJson<AttachmentUpload>,
) -> Result<(StatusCode, Json<Upload>), Error> {
    let folder = attachment_folder(&caller.tenant_id, &caller.person_id);
    let key = format!("{folder}{}.{}", ulid::Ulid::new(), upload.content_type.extension());
    let upload = state.files.upload(key, upload.content_type.mime(), upload.content_length, Utc::now()).await?;
    Ok((StatusCode::CREATED, Json(upload)))
}

/// Opens a support ticket (anyone signed in) with its first message; the platform's support
/// admins are mailed.
#[utoipa::path(post, path = "/support/tickets", tag = "support", security(("bearer" = [])),
    request_body = NewTicket,
    responses((status = 201, description = "The ticket with its thread", body = TicketThread)))]
pub async fn open_ticket(
    State(state): State<AppState>,
    caller: Caller,
    ValidJson(new): ValidJson<NewTicket>,
) -> Result<(StatusCode, Json<TicketThread>), Error> {
    let attachments = attachments_of(&caller, new.attachments)?;
    // Round trip 1, in parallel: the organisation's and the caller's names, and the platform's
    // admins to tell.
    let (tenant, me, admins) = tokio::try_join!(
        state.store.tenant(&caller.tenant_id),
        state.store.entity::<Person>(&caller.tenant_id, &caller.person_id),
        state.store.all::<Person>(PLATFORM_TENANT),
    )?;
    let (tenant, me) = (tenant.ok_or(Error::NotFound)?, me.ok_or(Error::NotFound)?);
    let now = Utc::now();
    let at = rota::clock::iso(now);
    let ticket = Ticket {
        id: ulid::Ulid::new().to_string(),
        tenant_id: tenant.id,
        organisation: tenant.name,
        requester_id: me.id.clone(),
        requester_name: me.name.clone(),
        subject: new.subject,
        priority: new.priority.unwrap_or(Priority::Normal),
        status: TicketStatus::Open,
        assignee_id: None,
        assignee_name: None,
        messages: 1,
        last_message_at: at.clone(),
        last_message_by: Side::Organisation,
        version: 1,
        created_at: at.clone(),
        updated_at: at.clone(),
    };
    let message = TicketMessage::new(&ticket.id, Side::Organisation, (me.id, me.name), new.body, attachments, &at);
    // Round trip 2: the ticket and its first message, together.
    state.store.ticket_create(&ticket, &message).await?;
    state.outbox.send_all(&platform_mail(&ticket, &admins, &news_for_platform(&ticket, &message))).await?;
    let thread = TicketThread::of(ticket, vec![message], &state.files, now).await?;
    Ok((StatusCode::CREATED, Json(thread)))
}

/// Support tickets, newest first: the organisation's admins see all of its tickets, anyone else
/// their own.
#[utoipa::path(get, path = "/support/tickets", tag = "support", security(("bearer" = [])), params(TicketsQuery),
    responses((status = 200, description = "A page of tickets", body = Page<Ticket>)))]
pub async fn list_tickets(
    State(state): State<AppState>,
    caller: Caller,
    ValidQuery(query): ValidQuery<TicketsQuery>,
) -> Result<Json<Page<Ticket>>, Error> {
    let requester = caller.require(Permission::OrganisationManage).is_err().then_some(caller.person_id.as_str());
    let page =
        state.store.tickets(&caller.tenant_id, requester, query.status, query.limit, query.cursor.as_deref()).await?;
    Ok(Json(page))
}

/// A ticket the caller may read and answer: theirs, or any of the organisation's for its
/// admins; anyone else's is not found.
fn readable(caller: &Caller, ticket: Option<Ticket>) -> Result<Ticket, Error> {
    ticket
        .filter(|ticket| {
            ticket.requester_id == caller.person_id || caller.require(Permission::OrganisationManage).is_ok()
        })
        .ok_or(Error::NotFound)
}

/// A ticket with its whole thread, oldest message first (its requester, or the organisation's
/// admins).
#[utoipa::path(get, path = "/support/tickets/{ticket_id}", tag = "support", security(("bearer" = [])),
    params(("ticket_id" = String, Path)),
    responses(
        (status = 200, description = "The ticket and its thread", body = TicketThread),
        (status = 404, description = "No such ticket of the caller's (or, for admins, of the organisation's)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_ticket(
    State(state): State<AppState>,
    caller: Caller,
    Path(ticket_id): Path<String>,
) -> Result<Json<TicketThread>, Error> {
    let found = state.store.ticket_with_messages(&caller.tenant_id, &ticket_id).await?;
    let (ticket, messages) = found.unzip();
    let ticket = readable(&caller, ticket)?;
    let messages = messages.unwrap_or_default();
    Ok(Json(TicketThread::of(ticket, messages, &state.files, Utc::now()).await?))
}

/// Replies on a ticket (its requester, or the organisation's admins): it is the platform's turn
/// again (`open`), also when it was solved; the platform's support admins are mailed. A closed
/// ticket takes no more replies.
#[utoipa::path(post, path = "/support/tickets/{ticket_id}/messages", tag = "support", security(("bearer" = [])),
    params(("ticket_id" = String, Path)),
    request_body = NewMessage,
    responses(
        (status = 201, description = "The message, as the thread shows it", body = TicketMessage),
        (status = 404, description = "No such ticket of the caller's", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The ticket is closed (open a new one), or holds 200 messages", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn reply(
    State(state): State<AppState>,
    caller: Caller,
    Path(ticket_id): Path<String>,
    ValidJson(new): ValidJson<NewMessage>,
) -> Result<(StatusCode, Json<TicketMessage>), Error> {
    let attachments = attachments_of(&caller, new.attachments)?;
    // Round trip 1, in parallel: the ticket, the caller's name and the platform's admins.
    let (ticket, me, admins) = tokio::try_join!(
        state.store.entity::<Ticket>(&caller.tenant_id, &ticket_id),
        state.store.entity::<Person>(&caller.tenant_id, &caller.person_id),
        state.store.all::<Person>(PLATFORM_TENANT),
    )?;
    let mut ticket = readable(&caller, ticket)?;
    let me = me.ok_or(Error::NotFound)?;
    let at = rota::clock::iso(Utc::now());
    let message = TicketMessage::new(&ticket.id, Side::Organisation, (me.id, me.name), new.body, attachments, &at);
    // Round trip 2: the message with the ticket's count and status, or neither.
    if !state.store.ticket_reply(&ticket, &message, TicketStatus::Open).await? {
        return Err(Error::Conflict("the ticket is closed (open a new one), or holds 200 messages"));
    }
    ticket.status = TicketStatus::Open;
    state.outbox.send_all(&platform_mail(&ticket, &admins, &news_for_platform(&ticket, &message))).await?;
    Ok((StatusCode::CREATED, Json(message)))
}
