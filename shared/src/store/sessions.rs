//! Refresh sessions: one item per device session (token family), under the tenant's prefix,
//! listed per person through gsi1, in the secrets table (the auth function only). The current
//! token's hash identifies the live token; the hashes of the few tokens rotated away before it
//! tell a repeated refresh from a replay (see [`crate::auth::refresh`]).

use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    ConditionCheck, DeleteRequest, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem, WriteRequest,
};
use serde::{Deserialize, Serialize};

use super::mfa::Enrolment;
use super::people::PersonStatus;
use super::tenants::TenantGate;
use super::{In, Item, Store, condition_failed, failed_conditions, from_item, key, keys, n, s, to_item, written};
use crate::Error;
use crate::auth::Role;
use crate::auth::refresh::Rotated;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Session {
    pub id: String,
    pub tenant_id: String,
    pub person_id: String,
    pub role: Role,
    pub token_hash: String,
    /// Tokens rotated away, newest first.
    #[serde(default)]
    pub rotated: Vec<Rotated>,
    pub created_at: String,
    pub last_used_at: String,
    /// Epoch seconds; also the table's TTL attribute. TTL deletes late, so reads check it too.
    pub expires_at: i64,
    /// Epoch seconds: the absolute end, however often the session refreshes.
    #[serde(default)]
    pub ends_at: i64,
    pub user_agent: Option<String>,
    /// The session passed two-factor authentication (its login took a second factor, or 2FA was
    /// turned on in it). Its tokens say so while 2FA stays on.
    #[serde(default)]
    pub mfa: bool,
    /// The person's permission set when the session began (changing it ends their sessions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permission_set_id: Option<String>,
    /// The person's scope when the session began (changing it ends their sessions too).
    #[serde(default, skip_serializing_if = "crate::auth::Scope::is_open")]
    pub scope: crate::auth::Scope,
}

impl Session {
    pub fn is_live(&self, now: i64) -> bool {
        self.expires_at > now && self.ends_at > now
    }
}

/// What a rotation writes.
pub struct Rotation<'a> {
    pub old_hash: &'a str,
    pub new_hash: &'a str,
    pub rotated: Vec<Rotated>,
    pub used_at: &'a str,
    pub expires_at: i64,
}

/// How a rotation went: it won, or it lost to a concurrent one, which left the session holding
/// this token hash (`None` when the session is gone).
pub enum Rotate {
    Done,
    Lost(Option<String>),
}

/// What a refresh checks besides the session: the person as they are now.
#[derive(Debug, Clone, Deserialize)]
pub struct PersonGate {
    pub role: Role,
    pub status: PersonStatus,
    /// Sessions started at or before this instant (ISO 8601) have ended: set by log out everywhere.
    #[serde(default)]
    pub sessions_valid_after: Option<String>,
    /// Their permission set (changing it ends their sessions, through `sessions_valid_after`).
    #[serde(default)]
    pub permission_set_id: Option<String>,
}

/// The session, person, organisation and 2FA enrolment a refresh token names, read in one round
/// trip.
pub struct RefreshContext {
    pub session: Option<Session>,
    pub person: Option<PersonGate>,
    pub tenant: Option<TenantGate>,
    /// The person has two-factor authentication on.
    pub mfa_on: bool,
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

    /// A new session, for a transaction.
    pub fn session_put(&self, session: &Session) -> Result<aws_sdk_dynamodb::types::TransactWriteItem, Error> {
        let put = aws_sdk_dynamodb::types::Put::builder()
            .table_name(self.secrets()?)
            .set_item(Some(self.session_item(session)?))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(Error::internal)?;
        Ok(aws_sdk_dynamodb::types::TransactWriteItem::builder().put(put).build())
    }

    pub async fn put_session(&self, session: &Session) -> Result<(), Error> {
        self.client.put_item().table_name(self.secrets()?).set_item(Some(self.session_item(session)?)).send().await?;
        Ok(())
    }

    /// A new session, written only while its organisation is active: one transaction of the put
    /// and a check of the tenant, so no session of a suspended organisation is ever stored.
    /// `false` (nothing written) when the organisation is not active.
    pub async fn put_session_if_active(&self, session: &Session) -> Result<bool, Error> {
        let put = Put::builder()
            .table_name(self.secrets()?)
            .set_item(Some(self.session_item(session)?))
            .build()
            .map_err(Error::internal)?;
        let result = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(put).build())
            .transact_items(self.tenant_is_active(&session.tenant_id)?)
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(error) if failed_conditions(&error).is_some_and(|failed| failed.contains(&1)) => Ok(false),
            Err(error) => Err(error.into()),
        }
    }

    /// A transaction's check that the organisation is active.
    pub(crate) fn tenant_is_active(&self, tenant_id: &str) -> Result<TransactWriteItem, Error> {
        let check = ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::tenant(tenant_id), keys::TENANT_SK)))
            .condition_expression("#status = :active")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":active", s("active"))
            .build()
            .map_err(Error::internal)?;
        Ok(TransactWriteItem::builder().condition_check(check).build())
    }

    /// The session (live or not: the caller decides), the person, the tenant and the person's
    /// 2FA enrolment, strongly consistent, in one `BatchGetItem`.
    pub async fn refresh_context(
        &self,
        tenant_id: &str,
        session_id: &str,
        person_id: &str,
    ) -> Result<RefreshContext, Error> {
        let wanted = [
            (In::Secrets, key(keys::session(tenant_id, session_id), keys::SESSION_SK)),
            (In::Main, key(keys::tenant(tenant_id), keys::person_sk(person_id))),
            (In::Main, key(keys::tenant(tenant_id), keys::TENANT_SK)),
            (In::Secrets, key(keys::tenant(tenant_id), keys::mfa_sk(person_id))),
        ];
        let [session, person, tenant, enrolment] = <[Option<Item>; 4]>::try_from(self.batch_get_from(&wanted).await?)
            .map_err(|_| Error::internal("batch get"))?;
        let enrolment: Option<Enrolment> = enrolment.map(from_item).transpose()?;
        Ok(RefreshContext {
            session: session.map(from_item).transpose()?,
            person: person.map(from_item).transpose()?,
            tenant: tenant.map(TenantGate::from_item).transpose()?,
            mfa_on: enrolment.is_some_and(|enrolment| enrolment.is_on()),
        })
    }

    /// Swaps the session's token hash, only if it still holds `old_hash`: of two concurrent
    /// uses of one token, exactly one wins, and the loser learns what won without another read.
    pub async fn rotate_session(&self, session: &Session, rotation: Rotation<'_>) -> Result<Rotate, Error> {
        let rotated = serde_dynamo::to_attribute_value(&rotation.rotated)?;
        let result = self
            .client
            .update_item()
            .table_name(self.secrets()?)
            .set_key(Some(key(keys::session(&session.tenant_id, &session.id), keys::SESSION_SK)))
            .update_expression("SET token_hash = :new, rotated = :rotated, last_used_at = :used, expires_at = :expires")
            .condition_expression("token_hash = :old")
            .expression_attribute_values(":new", s(rotation.new_hash))
            .expression_attribute_values(":old", s(rotation.old_hash))
            .expression_attribute_values(":rotated", rotated)
            .expression_attribute_values(":used", s(rotation.used_at))
            .expression_attribute_values(":expires", n(rotation.expires_at))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(Rotate::Done),
            Err(error) if condition_failed(&error) => {
                let current = match error.into_service_error() {
                    UpdateItemError::ConditionalCheckFailedException(failed) => failed.item,
                    _ => None,
                };
                let session: Option<Session> = current.map(from_item).transpose()?;
                Ok(Rotate::Lost(session.map(|session| session.token_hash)))
            }
            Err(error) => Err(error.into()),
        }
    }

    /// Ends every session of a person started until `now` (ISO 8601), whether or not the
    /// sessions index has caught up with it yet: refresh checks this instant. A new version, so
    /// an admin's change read before it cannot write the old instant back.
    pub async fn end_sessions_until(&self, tenant_id: &str, person_id: &str, now: &str) -> Result<(), Error> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::tenant(tenant_id), keys::person_sk(person_id))))
            .update_expression("SET sessions_valid_after = :now, version = version + :one")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":now", s(now))
            .expression_attribute_values(":one", n(1))
            .send()
            .await;
        written(result)?;
        Ok(())
    }

    /// Deletes a session of `person_id`. `false` when there was no such session of theirs.
    pub async fn delete_session(&self, tenant_id: &str, person_id: &str, session_id: &str) -> Result<bool, Error> {
        let result = self
            .client
            .delete_item()
            .table_name(self.secrets()?)
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
                .table_name(self.secrets()?)
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
        sessions.retain(|session| session.is_live(now));
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
            let (client, table) = (self.client.clone(), self.secrets()?.to_owned());
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
