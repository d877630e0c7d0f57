//! People and their login credentials.
//!
//! The person's profile lives under the tenant (`T#{t}` / `PERSON#{p}`). The credential lives
//! under the platform-wide `EMAIL#{email}` key, which makes emails unique across tenants and lets
//! login find person, tenant, role and password hash in one read. Role or status changes must
//! update both items in one transaction.

use aws_sdk_dynamodb::types::ReturnValue;
use serde::{Deserialize, Serialize};

use super::{Item, Store, condition_failed, from_item, key, keys, n, s, to_item};
use crate::Error;
use crate::auth::Role;

/// A person of a tenant. Holds no secrets (the password hash lives on [`Credential`]), so it is
/// also what the API returns.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Person {
    pub id: String,
    pub tenant_id: String,
    pub email: String,
    pub name: String,
    pub phone: Option<String>,
    pub role: Role,
    pub status: PersonStatus,
    /// Incremented by every change; send it back on update to refuse overwriting someone
    /// else's change (409).
    pub version: u64,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PersonStatus {
    Invited,
    Active,
    Inactive,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Credential {
    pub email: String,
    pub tenant_id: String,
    pub person_id: String,
    pub role: Role,
    pub status: PersonStatus,
    pub password_hash: String,
    /// Two-factor authentication is on: a right password gets a login token for the second
    /// factor, not a session. (A copy of the enrolment's state, so login stays one read; the
    /// enrolment and this change in one transaction.)
    #[serde(default)]
    pub mfa: bool,
}

/// A change to a person's own contact details; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ContactChange {
    pub name: Option<String>,
    pub phone: Option<String>,
    /// When given, the write only happens if the stored version still matches.
    pub expected_version: Option<u64>,
    pub updated_at: String,
}

impl Store {
    pub(crate) fn person_item(&self, person: &Person) -> Result<Item, Error> {
        to_item(person, &[("pk", keys::tenant(&person.tenant_id)), ("sk", keys::person_sk(&person.id))])
    }

    pub(crate) fn credential_item(&self, credential: &Credential) -> Result<Item, Error> {
        to_item(credential, &[("pk", keys::email(&credential.email)), ("sk", keys::EMAIL_SK.into())])
    }

    pub async fn person(&self, tenant_id: &str, person_id: &str) -> Result<Option<Person>, Error> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::tenant(tenant_id), keys::person_sk(person_id))))
            .send()
            .await?;
        output.item.map(from_item).transpose()
    }

    pub async fn credential(&self, email: &str) -> Result<Option<Credential>, Error> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::email(email), keys::EMAIL_SK)))
            .consistent_read(true)
            .send()
            .await?;
        output.item.map(from_item).transpose()
    }

    /// Applies a contact change in one conditional write and returns the updated person.
    /// `NotFound` if the person does not exist, `Conflict` if `expected_version` is stale.
    pub async fn update_contact(
        &self,
        tenant_id: &str,
        person_id: &str,
        change: ContactChange,
    ) -> Result<Person, Error> {
        let mut sets = vec!["version = version + :one", "updated_at = :now"];
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::tenant(tenant_id), keys::person_sk(person_id))))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":now", s(change.updated_at))
            .return_values(ReturnValue::AllNew);
        if let Some(name) = change.name {
            sets.push("#name = :name");
            request = request.expression_attribute_names("#name", "name").expression_attribute_values(":name", s(name));
        }
        if let Some(phone) = change.phone {
            sets.push("phone = :phone");
            request = request.expression_attribute_values(":phone", s(phone));
        }
        let mut condition = "attribute_exists(pk)".to_owned();
        if let Some(version) = change.expected_version {
            condition.push_str(" AND version = :expected");
            request = request.expression_attribute_values(":expected", n(version));
        }
        let result =
            request.update_expression(format!("SET {}", sets.join(", "))).condition_expression(condition).send().await;
        match result {
            Ok(output) => from_item(output.attributes.unwrap_or_default()),
            Err(error) if condition_failed(&error) && change.expected_version.is_some() => {
                // Either it is gone or someone else changed it first; one read tells which.
                match self.person(tenant_id, person_id).await? {
                    Some(_) => Err(Error::Conflict("the profile was changed by someone else; reload and retry")),
                    None => Err(Error::NotFound),
                }
            }
            Err(error) if condition_failed(&error) => Err(Error::NotFound),
            Err(error) => Err(error.into()),
        }
    }
}
