//! People and their login credentials.
//!
//! The person's profile lives under the tenant (`T#{t}` / `PERSON#{p}`). The credential lives
//! under the platform-wide `EMAIL#{email}` key, which makes emails unique across tenants and lets
//! login find person, tenant, role and password hash in one read. It is made when the person
//! joins (an invitation only claims the address within its organisation, see
//! [`super::links`]). Role or status changes of a person who joined update both items in one
//! transaction.

use aws_sdk_dynamodb::types::{Put, TransactWriteItem, Update};
use serde::{Deserialize, Serialize};

use super::{Item, Store, from_item, key, keys, to_item, value};
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
    #[serde(default)]
    pub employment_type: EmploymentType,
    /// The positions (job roles) this person can work.
    #[serde(default)]
    pub position_ids: Vec<String>,
    /// Pay per hour in minor units of the tenant's currency (cents for EUR). Shown to admins and
    /// the person themself only, as their pay stubs are.
    #[serde(default)]
    pub hourly_rate_minor: Option<u64>,
    /// Most hours a week this person may be scheduled; the tenant's setting when absent.
    #[serde(default)]
    pub weekly_hours_cap: Option<u32>,
    #[serde(default)]
    pub unit_id: Option<String>,
    #[serde(default)]
    pub emergency_contact: Option<EmergencyContact>,
    /// Kinds of notification this person does not want (account mail always arrives).
    #[serde(default)]
    pub notification_opt_outs: Vec<crate::notify::Kind>,
    /// When they joined: accepted their invitation or confirmed their sign-up. None while
    /// invited, and for an invitation revoked before it was accepted: such a person has no
    /// credential and cannot be reactivated (invite the address again).
    #[serde(default)]
    pub joined_at: Option<String>,
    /// Sessions started at or before this instant have ended (log out everywhere, a password
    /// reset, a role or status change).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sessions_valid_after: Option<String>,
    /// Incremented by every change; send it back on update to refuse overwriting someone
    /// else's change (409).
    pub version: u64,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EmploymentType {
    #[default]
    Staff,
    Volunteer,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, garde::Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmergencyContact {
    #[garde(length(chars, min = 1, max = 100), custom(crate::validate::not_blank))]
    #[schema(min_length = 1, max_length = 100, pattern = r"[^\s\x00-\x1f\x7f-\x9f]")]
    pub name: String,
    #[garde(custom(crate::validate::phone_number))]
    #[schema(max_length = 32, pattern = r"^[ +\-.()]*(?:[0-9][ +\-.()]*){5,20}$")]
    pub phone: String,
}

impl Person {
    /// A person as an admin adds them: invited, until they accept the emailed invitation.
    pub fn invited(id: String, tenant_id: String, email: String, name: String, role: Role, now: &str) -> Self {
        Self {
            id,
            tenant_id,
            email,
            name,
            phone: None,
            role,
            status: PersonStatus::Invited,
            employment_type: EmploymentType::Staff,
            position_ids: Vec::new(),
            hourly_rate_minor: None,
            weekly_hours_cap: None,
            unit_id: None,
            emergency_contact: None,
            notification_opt_outs: Vec::new(),
            joined_at: None,
            sessions_valid_after: None,
            version: 1,
            created_at: now.to_owned(),
            updated_at: now.to_owned(),
        }
    }
}

// The lower-cased name and email are kept as `search_text`, for `GET /people?q=`.
crate::entity!(
    Person,
    "PERSON#",
    "person",
    extra = |person: &Person| vec![("search_text", format!("{} {}", person.name.to_lowercase(), person.email))]
);

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
    /// The hash of the password-reset link that is still valid; a new request replaces it.
    #[serde(default)]
    pub reset_hash: Option<String>,
    /// Two-factor authentication is on: a right password gets a login token for the second
    /// factor, not a session. (A copy of the enrolment's state, so login stays one read; the
    /// enrolment and this change in one transaction.)
    #[serde(default)]
    pub mfa: bool,
}

impl Store {
    pub(crate) fn person_item(&self, person: &Person) -> Result<Item, Error> {
        self.entity_item(person)
    }

    pub(crate) fn credential_item(&self, credential: &Credential) -> Result<Item, Error> {
        to_item(credential, &[("pk", keys::email(&credential.email)), ("sk", keys::EMAIL_SK.into())])
    }

    /// The person's email claim and credential, new: refused (in a transaction) if the email
    /// belongs to anyone already.
    pub fn credential_put(&self, credential: &Credential) -> Result<TransactWriteItem, Error> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(self.credential_item(credential)?))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(Error::internal)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// The credential following a role or status change of its person, for the same transaction.
    pub fn credential_access(&self, person: &Person) -> Result<TransactWriteItem, Error> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::email(&person.email), keys::EMAIL_SK)))
            .update_expression("SET #role = :role, #status = :status")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#role", "role")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":role", value(&person.role)?)
            .expression_attribute_values(":status", value(&person.status)?)
            .build()
            .map_err(Error::internal)?;
        Ok(TransactWriteItem::builder().update(update).build())
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
}
