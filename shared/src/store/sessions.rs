//! Refresh sessions: one item per device session (token family), under the tenant's prefix,
//! listed per person through gsi1. The current token's hash is all that identifies a live token;
//! a rotated-away token no longer matches, and presenting it revokes the session.

use aws_sdk_dynamodb::types::{DeleteRequest, WriteRequest};
use serde::{Deserialize, Serialize};

use super::{Item, Store, from_item, key, keys, n, s, to_item, written};
use crate::Error;
use crate::auth::Role;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Session {
    pub id: String,
    pub tenant_id: String,
    pub person_id: String,
    pub role: Role,
    pub token_hash: String,
    pub created_at: String,
    pub last_used_at: String,
    /// Epoch seconds; also the table's TTL attribute. TTL deletes late, so reads check it too.
    pub expires_at: i64,
    pub user_agent: Option<String>,
}

/// What a rotation writes.
pub struct Rotation<'a> {
    pub old_hash: &'a str,
    pub new_hash: &'a str,
    pub used_at: &'a str,
    pub expires_at: i64,
}

impl Store {
    pub(crate) fn session_item(&self, session: &Session) -> Result<Item, Error> {
        to_item(
            session,
            &[
                ("pk", keys::session(&session.tenant_id, &session.id)),
                ("sk", keys::SESSION_SK.into()),
                ("gsi1pk", keys::person_sessions(&session.tenant_id, &session.person_id)),
                ("gsi1sk", format!("{}#{}", session.created_at, session.id)),
            ],
        )
    }

    pub async fn put_session(&self, session: &Session) -> Result<(), Error> {
        self.client.put_item().table_name(&self.table).set_item(Some(self.session_item(session)?)).send().await?;
        Ok(())
    }

    /// A live (unexpired) session.
    pub async fn session(&self, tenant_id: &str, session_id: &str, now: i64) -> Result<Option<Session>, Error> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::session(tenant_id, session_id), keys::SESSION_SK)))
            .consistent_read(true)
            .send()
            .await?;
        let session: Option<Session> = output.item.map(from_item).transpose()?;
        Ok(session.filter(|session| session.expires_at > now))
    }

    /// Swaps the session's token hash, only if it still holds `old_hash`: of two concurrent
    /// uses of one token, exactly one wins. `false` when it lost.
    pub async fn rotate_session(&self, session: &Session, rotation: Rotation<'_>) -> Result<bool, Error> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::session(&session.tenant_id, &session.id), keys::SESSION_SK)))
            .update_expression("SET token_hash = :new, last_used_at = :used, expires_at = :expires")
            .condition_expression("token_hash = :old")
            .expression_attribute_values(":new", s(rotation.new_hash))
            .expression_attribute_values(":old", s(rotation.old_hash))
            .expression_attribute_values(":used", s(rotation.used_at))
            .expression_attribute_values(":expires", n(rotation.expires_at))
            .send()
            .await;
        written(result)
    }

    /// Deletes a session of `person_id`. `false` when there was no such session of theirs.
    pub async fn delete_session(&self, tenant_id: &str, person_id: &str, session_id: &str) -> Result<bool, Error> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::session(tenant_id, session_id), keys::SESSION_SK)))
            .condition_expression("person_id = :person")
            .expression_attribute_values(":person", s(person_id))
            .send()
            .await;
        written(result)
    }

    /// A person's live sessions, newest first.
    pub async fn sessions_of(&self, tenant_id: &str, person_id: &str, now: i64) -> Result<Vec<Session>, Error> {
        let mut sessions = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .index_name("gsi1")
                .key_condition_expression("gsi1pk = :pk")
                .expression_attribute_values(":pk", s(keys::person_sessions(tenant_id, person_id)))
                .scan_index_forward(false)
                .set_exclusive_start_key(start)
                .send()
                .await?;
            for item in page.items.unwrap_or_default() {
                sessions.push(from_item::<Session>(item)?);
            }
            start = page.last_evaluated_key;
            if start.is_none() {
                break;
            }
        }
        sessions.retain(|session| session.expires_at > now);
        Ok(sessions)
    }

    /// Deletes the given sessions, 25 per batch, the batches in parallel.
    pub async fn delete_sessions(&self, sessions: &[Session]) -> Result<(), Error> {
        let mut batches = tokio::task::JoinSet::new();
        for chunk in sessions.chunks(25) {
            let mut requests: Vec<WriteRequest> = chunk
                .iter()
                .map(|session| {
                    let delete = DeleteRequest::builder()
                        .set_key(Some(key(keys::session(&session.tenant_id, &session.id), keys::SESSION_SK)))
                        .build()
                        .map_err(Error::internal)?;
                    Ok(WriteRequest::builder().delete_request(delete).build())
                })
                .collect::<Result<_, Error>>()?;
            let (client, table) = (self.client.clone(), self.table.clone());
            batches.spawn(super::round_trips::in_current_request(async move {
                // DynamoDB may hand back part of a batch as unprocessed; send that part again.
                while !requests.is_empty() {
                    let output = client.batch_write_item().request_items(&table, requests).send().await?;
                    requests = output.unprocessed_items.and_then(|mut items| items.remove(&table)).unwrap_or_default();
                }
                Ok::<_, Error>(())
            }));
        }
        while let Some(result) = batches.join_next().await {
            result.map_err(Error::internal)??;
        }
        Ok(())
    }
}
