//! Phone sign-in: the people a phone number reaches (gsi1 `PHONE#{e164}`, kept by every write of
//! a person) and a phone's pending code (`OTP#{e164}` in the secrets table, expiring with TTL).
//!
//! A code is stored hashed with the people it may sign in (staff of the phone, at the time it was
//! asked for) and its tries left. Each try is one conditional write that takes a try (so a burst
//! of guesses gets exactly 5); the sign-in deletes the code on the condition of its hash, with the
//! new session, a check that the organisation is active and allows phone sign-in, and one that the
//! person is still active staff with that phone, all in one transaction: of two requests with the
//! same code exactly one signs in.

use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, Delete, Put, ReturnValue, TransactWriteItem};
use serde::{Deserialize, Serialize};

use super::page::Index;
use super::people::Person;
use super::sessions::Session;
use super::tenants::Tenant;
use super::{In, Store, failed_conditions, from_item, key, keys, n, s, to_item, value};
use crate::Error;
use crate::auth::Role;

/// A code's lifetime.
pub const CODE_SECS: i64 = 5 * 60;
/// Guesses a code takes before a new one is needed.
pub const CODE_TRIES: u32 = 5;

/// One person a code may sign in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Candidate {
    pub tenant_id: String,
    pub person_id: String,
    /// Their scope when the code was sent (staff only sign in by phone: a scope narrows no more
    /// than which published shifts they browse).
    #[serde(default, skip_serializing_if = "crate::auth::Scope::is_open")]
    pub scope: crate::auth::Scope,
}

/// A phone's pending sign-in code.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SignInCode {
    /// E.164.
    pub phone: String,
    /// SHA-256 of `salt` and the code ([`crate::auth::one_time::code_hash`]).
    pub code_hash: String,
    pub salt: String,
    pub candidates: Vec<Candidate>,
    pub tries_left: u32,
    pub created_at: String,
    /// Epoch seconds; also the table's TTL attribute. TTL deletes late, so tries check it too.
    pub expires_at: i64,
}

/// Why a sign-in with a right code did not happen.
#[derive(Debug, PartialEq, Eq)]
pub enum SignInRefused {
    /// The code was used meanwhile (or replaced by a new one).
    CodeGone,
    /// The organisation is not active, or no longer allows phone sign-in.
    Organisation,
    /// The person is no longer active staff with this phone.
    Person,
}

impl Store {
    /// The people of every organisation whose phone is `e164` (gsi1, eventually consistent).
    pub async fn people_by_phone(&self, e164: &str) -> Result<Vec<Person>, Error> {
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(Index::Gsi1.name().unwrap_or("gsi1"))
            .key_condition_expression("gsi1pk = :phone")
            .expression_attribute_values(":phone", s(keys::phone(e164)))
            .limit(50)
            .send()
            .await?;
        output.items.unwrap_or_default().into_iter().map(from_item).collect()
    }

    /// The organisations `ids`, strongly consistent, in one `BatchGetItem` (missing ones left out).
    pub async fn tenants_among(&self, ids: &[&str]) -> Result<Vec<Tenant>, Error> {
        let wanted: Vec<_> = ids.iter().map(|id| (In::Main, key(keys::tenant(id), keys::TENANT_SK))).collect();
        self.batch_get_from(&wanted).await?.into_iter().flatten().map(from_item).collect()
    }

    /// Stores `code` as the phone's pending code, replacing any other.
    pub async fn put_sign_in_code(&self, code: &SignInCode) -> Result<(), Error> {
        let item = to_item(code, &[("pk", keys::sign_in_code(&code.phone)), ("sk", keys::SIGN_IN_CODE_SK.into())])?;
        self.client.put_item().table_name(self.secrets()?).set_item(Some(item)).send().await?;
        Ok(())
    }

    /// Takes one try of the phone's code, while it has tries left and has not expired: the code
    /// as it is after the try; none when there is no such code.
    pub async fn try_sign_in_code(&self, e164: &str, now: i64) -> Result<Option<SignInCode>, Error> {
        let result = self
            .client
            .update_item()
            .table_name(self.secrets()?)
            .set_key(Some(key(keys::sign_in_code(e164), keys::SIGN_IN_CODE_SK)))
            .update_expression("SET tries_left = tries_left - :one")
            .condition_expression("tries_left >= :one AND expires_at > :now")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":now", n(now))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match result {
            Ok(output) => output.attributes.map(from_item).transpose(),
            Err(error) if super::condition_failed(&error) => Ok(None),
            Err(error) => Err(error.into()),
        }
    }

    /// Signs `session` in with the phone's code `code_hash`, in one transaction: the code
    /// deleted (while it is still that code), the session written, the organisation active and
    /// allowing phone sign-in, the person active staff with a phone.
    pub async fn sign_in_with_code(
        &self,
        e164: &str,
        code_hash: &str,
        session: &Session,
    ) -> Result<Result<(), SignInRefused>, Error> {
        let delete = Delete::builder()
            .table_name(self.secrets()?)
            .set_key(Some(key(keys::sign_in_code(e164), keys::SIGN_IN_CODE_SK)))
            .condition_expression("code_hash = :hash")
            .expression_attribute_values(":hash", s(code_hash))
            .build()
            .map_err(Error::internal)?;
        let put = Put::builder()
            .table_name(self.secrets()?)
            .set_item(Some(self.session_item(session)?))
            .build()
            .map_err(Error::internal)?;
        let organisation = ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::tenant(&session.tenant_id), keys::TENANT_SK)))
            .condition_expression("#status = :active AND settings.phone_sign_in = :yes")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":active", s("active"))
            .expression_attribute_values(":yes", AttributeValue::Bool(true))
            .build()
            .map_err(Error::internal)?;
        let person = ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::tenant(&session.tenant_id), keys::person_sk(&session.person_id))))
            .condition_expression("#status = :active AND #role = :staff AND gsi1pk = :phone")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#role", "role")
            .expression_attribute_values(":active", s("active"))
            .expression_attribute_values(":staff", value(&Role::Staff)?)
            .expression_attribute_values(":phone", s(keys::phone(e164)))
            .build()
            .map_err(Error::internal)?;
        let result = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().delete(delete).build())
            .transact_items(TransactWriteItem::builder().put(put).build())
            .transact_items(TransactWriteItem::builder().condition_check(organisation).build())
            .transact_items(TransactWriteItem::builder().condition_check(person).build())
            .send()
            .await;
        match result {
            Ok(_) => Ok(Ok(())),
            Err(error) => match failed_conditions(&error) {
                Some(failed) if failed.contains(&0) => Ok(Err(SignInRefused::CodeGone)),
                Some(failed) if failed.contains(&2) => Ok(Err(SignInRefused::Organisation)),
                Some(failed) if failed.contains(&3) => Ok(Err(SignInRefused::Person)),
                _ => Err(error.into()),
            },
        }
    }
}
