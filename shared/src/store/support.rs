//! Support tickets between an organisation and the platform's operator.
//!
//! A ticket (`TICKET#{id}` in the organisation's partition) is on gsi1 under its requester (their
//! tickets, newest first), on gsi2 under its organisation (every ticket of it, for its admins)
//! and on gsi3 under its status across organisations (`SUPPORT#{status}`, oldest first: the
//! platform's queue). Its messages are its own partition (`T#{t}#TICKET#{id}`, by id: oldest
//! first). A reply and the ticket's count, status and last reply are one transaction, the
//! count bounded by the ticket's own condition.

use aws_sdk_dynamodb::types::{Put, TransactWriteItem, Update};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::entities::{Entity, Filter};
use super::page::{Index, Page};
use super::{Store, from_item, keys, n, s, to_item};
use crate::Error;

/// Messages a ticket holds at most: a thread that long is better started afresh.
pub const MAX_MESSAGES: u32 = 200;

/// `open` (the operator's turn) → `pending` (waiting on the organisation) → `solved` → `closed`.
/// A reply from the organisation opens it again, until it is closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TicketStatus {
    Open,
    Pending,
    Solved,
    Closed,
}

impl TicketStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Pending => "pending",
            Self::Solved => "solved",
            Self::Closed => "closed",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    Low,
    Normal,
    High,
    Urgent,
}

/// Which side wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    Organisation,
    Platform,
}

impl Side {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Organisation => "organisation",
            Self::Platform => "platform",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Ticket {
    pub id: String,
    pub tenant_id: String,
    pub organisation: String,
    pub requester_id: String,
    pub requester_name: String,
    pub subject: String,
    pub priority: Priority,
    pub status: TicketStatus,
    /// The platform admin looking after it.
    pub assignee_id: Option<String>,
    pub assignee_name: Option<String>,
    pub messages: u32,
    pub last_message_at: String,
    pub last_message_by: Side,
    pub version: u64,
    pub created_at: String,
    pub updated_at: String,
}

crate::entity!(
    Ticket,
    "TICKET#",
    "ticket",
    extra = |ticket: &Ticket| {
        vec![
            ("gsi1pk", keys::person_tickets(&ticket.tenant_id, &ticket.requester_id)),
            ("gsi1sk", ticket.id.clone()),
            ("gsi2pk", keys::tickets(&ticket.tenant_id)),
            ("gsi2sk", ticket.id.clone()),
            ("gsi3pk", keys::support_queue(ticket.status.as_str())),
            ("gsi3sk", format!("{}#{}", ticket.id, ticket.tenant_id)),
        ]
    }
);

/// A file sent with a message, uploaded under the ticket's folder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Attachment {
    pub key: String,
    pub file_name: String,
}

/// One message of a ticket's thread.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TicketMessage {
    pub id: String,
    pub ticket_id: String,
    pub side: Side,
    pub author_id: String,
    pub author_name: String,
    pub body: String,
    pub attachments: Vec<Attachment>,
    pub created_at: String,
}

impl TicketMessage {
    /// A new message of `author` (`(id, name)`) on `ticket_id`, written `at`.
    pub fn new(
        ticket_id: &str,
        side: Side,
        author: (String, String),
        body: String,
        attachments: Vec<Attachment>,
        at: &str,
    ) -> Self {
        Self {
            id: ulid::Ulid::new().to_string(),
            ticket_id: ticket_id.to_owned(),
            side,
            author_id: author.0,
            author_name: author.1,
            body,
            attachments,
            created_at: at.to_owned(),
        }
    }
}

impl Store {
    /// A new ticket with its first message: all or nothing.
    pub async fn ticket_create(&self, ticket: &Ticket, message: &TicketMessage) -> Result<(), Error> {
        let items = vec![self.entity_put(ticket, None)?, self.ticket_message_put(ticket, message)?];
        self.transact(items).await?.map_err(|_| Error::Conflict("the ticket exists already"))
    }

    /// A reply and what it changes on its ticket: the count (up to [`MAX_MESSAGES`]), the status
    /// the reply leaves it in, who wrote last and when — refused (`Ok(false)`) once the ticket is
    /// closed or full.
    pub async fn ticket_reply(
        &self,
        ticket: &Ticket,
        message: &TicketMessage,
        status: TicketStatus,
    ) -> Result<bool, Error> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(Ticket::key(&ticket.tenant_id, &ticket.id)))
            .update_expression(
                "SET #status = :status, gsi3pk = :queue, last_message_at = :at, last_message_by = :side, \
                 updated_at = :at ADD messages :one, version :one",
            )
            .condition_expression("attribute_exists(pk) AND #status <> :closed AND messages < :max")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":status", s(status.as_str()))
            .expression_attribute_values(":queue", s(keys::support_queue(status.as_str())))
            .expression_attribute_values(":at", s(&message.created_at))
            .expression_attribute_values(":side", s(message.side.as_str()))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":closed", s(TicketStatus::Closed.as_str()))
            .expression_attribute_values(":max", n(MAX_MESSAGES))
            .build()
            .map_err(Error::internal)?;
        let items =
            vec![TransactWriteItem::builder().update(update).build(), self.ticket_message_put(ticket, message)?];
        Ok(self.transact(items).await?.is_ok())
    }

    fn ticket_message_put(&self, ticket: &Ticket, message: &TicketMessage) -> Result<TransactWriteItem, Error> {
        let keys = [("pk", keys::ticket_messages(&ticket.tenant_id, &ticket.id)), ("sk", message.id.clone())];
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(to_item(message, &keys)?))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(Error::internal)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// A ticket with its thread, oldest message first: two reads in parallel.
    pub async fn ticket_with_messages(
        &self,
        tenant_id: &str,
        ticket_id: &str,
    ) -> Result<Option<(Ticket, Vec<TicketMessage>)>, Error> {
        let messages = self
            .client
            .query()
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s(keys::ticket_messages(tenant_id, ticket_id)));
        let (ticket, messages) = tokio::try_join!(self.entity::<Ticket>(tenant_id, ticket_id), self.every(messages))?;
        let messages = messages.into_iter().map(from_item).collect::<Result<Vec<_>, _>>()?;
        Ok(ticket.map(|ticket| (ticket, messages)))
    }

    /// One page of tickets, newest first: a person's own (`requester_id`), or an organisation's.
    pub async fn tickets(
        &self,
        tenant_id: &str,
        requester_id: Option<&str>,
        status: Option<TicketStatus>,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> Result<Page<Ticket>, Error> {
        let (index, partition) = match requester_id {
            Some(person) => (Index::Gsi1, keys::person_tickets(tenant_id, person)),
            None => (Index::Gsi2, keys::tickets(tenant_id)),
        };
        self.tickets_on(index, partition, status, false, limit, cursor).await
    }

    /// One page of every organisation's tickets in `status`, oldest first: the platform's queue.
    pub async fn support_queue(
        &self,
        status: TicketStatus,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> Result<Page<Ticket>, Error> {
        self.tickets_on(Index::Gsi3, keys::support_queue(status.as_str()), None, true, limit, cursor).await
    }

    async fn tickets_on(
        &self,
        index: Index,
        partition: String,
        status: Option<TicketStatus>,
        oldest_first: bool,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> Result<Page<Ticket>, Error> {
        let filter = match status {
            Some(status) => {
                Filter::default().and("#status = :status", ("#status", "status"), (":status", s(status.as_str())))
            }
            None => Filter::default(),
        };
        self.partition_page(index, partition, filter, oldest_first, limit, cursor).await
    }
}

/// What an attachment may be, and at most how big.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum AttachmentType {
    #[serde(rename = "image/jpeg")]
    Jpeg,
    #[serde(rename = "image/png")]
    Png,
    #[serde(rename = "image/webp")]
    Webp,
    #[serde(rename = "application/pdf")]
    Pdf,
    #[serde(rename = "text/plain")]
    Text,
    #[serde(rename = "text/csv")]
    Csv,
}

/// An attachment's size at most: 10 MiB.
pub const MAX_ATTACHMENT_BYTES: u64 = 10 * 1024 * 1024;

impl AttachmentType {
    pub fn mime(self) -> &'static str {
        match self {
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
            Self::Webp => "image/webp",
            Self::Pdf => "application/pdf",
            Self::Text => "text/plain",
            Self::Csv => "text/csv",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Self::Jpeg => "jpg",
            Self::Png => "png",
            Self::Webp => "webp",
            Self::Pdf => "pdf",
            Self::Text => "txt",
            Self::Csv => "csv",
        }
    }
}

/// Where `person_id`'s support attachments are uploaded: a message may only carry files from
/// its author's own folder.
pub fn attachment_folder(tenant_id: &str, person_id: &str) -> String {
    format!("tenants/{tenant_id}/support/{person_id}/")
}

/// A ticket as its reader sees it: with its thread, oldest first, each attachment with a link.
#[derive(Debug, Serialize, ToSchema)]
pub struct TicketThread {
    #[serde(flatten)]
    pub ticket: Ticket,
    pub thread: Vec<ShownMessage>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ShownMessage {
    pub id: String,
    pub side: Side,
    pub author_name: String,
    pub body: String,
    pub attachments: Vec<ShownAttachment>,
    pub created_at: String,
}

/// An attachment with a presigned download (15 minutes).
#[derive(Debug, Serialize, ToSchema)]
pub struct ShownAttachment {
    pub file_name: String,
    pub url: String,
    pub expires_at: String,
}

impl TicketThread {
    pub async fn of(
        ticket: Ticket,
        messages: Vec<TicketMessage>,
        files: &crate::files::Files,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Self, Error> {
        let mut thread = Vec::with_capacity(messages.len());
        for message in messages {
            let mut attachments = Vec::with_capacity(message.attachments.len());
            for attachment in message.attachments {
                let download = files.download(attachment.key, now).await?;
                attachments.push(ShownAttachment {
                    file_name: attachment.file_name,
                    url: download.url,
                    expires_at: download.expires_at,
                });
            }
            thread.push(ShownMessage {
                id: message.id,
                side: message.side,
                author_name: message.author_name,
                body: message.body,
                attachments,
                created_at: message.created_at,
            });
        }
        Ok(Self { ticket, thread })
    }
}
