//! People, their email claims and their credentials.
//!
//! The person's profile lives under the tenant (`T#{t}` / `PERSON#{p}`). Their email claim lives
//! under the platform-wide `EMAIL#{email}` key (main table), which makes emails unique across
//! tenants and names the person, tenant, role and status. Claim and credential are made when the
//! person joins (confirms a sign-up, accepts an invitation; an invitation only claims the address
//! within its organisation, see [`super::links`]); role or status changes of a person who joined
//! update person and claim in one transaction (the people function does). The password hash is
//! not on the claim: it is the [`Credential`] in the secrets table (`CRED#{email}`), which only
//! the auth function reaches. Login reads claim and credential in one `BatchGetItem` across the
//! two tables, and trusts the credential only for the person the claim names.

use std::collections::{HashMap, HashSet};

use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use serde::{Deserialize, Serialize};

use super::entities::Filter;
use super::page::{Index, Page};
use super::{In, Item, Store, from_item, key, keys, to_item, value};
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
    /// Their number in the organisation's payroll system (ADP's File #, Gusto's employee ID):
    /// what payroll exports name them by. Shown to those who see their pay.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payroll_id: Option<String>,
    #[serde(default)]
    pub weekly_hours_cap: Option<u32>,
    #[serde(default)]
    pub unit_id: Option<String>,
    #[serde(default)]
    pub emergency_contact: Option<EmergencyContact>,
    /// Kinds of notification this person does not want (account mail always arrives).
    #[serde(default)]
    pub notification_opt_outs: Vec<crate::notify::Kind>,
    /// How they want to be reached, in order (`whatsapp`, `sms`, `email`); email when empty, and
    /// after the others when not listed. SMS and WhatsApp need a `phone`.
    #[serde(default)]
    pub channels: Vec<crate::notify::ChannelKind>,
    /// When nothing but urgent messages reaches them: the rest waits until these end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quiet_hours: Option<crate::domain::quiet::QuietHours>,
    /// When they joined: accepted their invitation or confirmed their sign-up. None while
    /// invited, and for an invitation revoked before it was accepted: such a person has no
    /// credential and cannot be reactivated (invite the address again).
    #[serde(default)]
    pub joined_at: Option<String>,
    /// Sessions started at or before this instant have ended (log out everywhere, a password
    /// reset, a role or status change).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sessions_valid_after: Option<String>,
    /// The import that added this person, if one did (`GET /imports/{import_id}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub import_id: Option<String>,
    /// The organisation's permission set the person holds besides their role's
    /// (`GET /permission-sets`); changing it ends their sessions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permission_set_id: Option<String>,
    /// The locations and units they are limited to (open: everywhere).
    #[serde(default)]
    pub scope: crate::auth::Scope,
    /// Present when the organisation's identity provider provisioned the person (SCIM): its names
    /// for them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scim: Option<crate::store::scim::ScimLink>,
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
            payroll_id: None,
            weekly_hours_cap: None,
            unit_id: None,
            emergency_contact: None,
            notification_opt_outs: Vec::new(),
            channels: Vec::new(),
            quiet_hours: None,
            joined_at: None,
            sessions_valid_after: None,
            import_id: None,
            permission_set_id: None,
            scope: Default::default(),
            scim: None,
            version: 1,
            created_at: now.to_owned(),
            updated_at: now.to_owned(),
        }
    }
}

// The lower-cased name and email are kept as `search_text`, for `GET /people?q=`; a phone in
// international form puts the person in gsi1 under it (phone sign-in finds them by it); a unit
// puts them in gsi3 under it, by id (the people of a scope limited to units).
crate::entity!(
    Person,
    "PERSON#",
    "person",
    imported = true,
    extra = |person: &Person| {
        let mut extra = vec![("search_text", format!("{} {}", person.name.to_lowercase(), person.email))];
        if let Some(phone) = person.phone.as_deref().and_then(crate::phone::e164) {
            extra.push(("gsi1pk", keys::phone(&phone)));
            extra.push(("gsi1sk", format!("{}#{}", person.tenant_id, person.id)));
        }
        if let Some(unit) = &person.unit_id {
            extra.push(("gsi3pk", keys::unit_people(&person.tenant_id, unit)));
            extra.push(("gsi3sk", person.id.clone()));
        }
        extra
    }
);

#[derive(Debug, Deserialize, garde::Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "email": "sam@harbour.example", "name": "Sam Staff", "role": "staff", "position_ids": [], "hourly_rate_minor": 1450 }))]
pub struct CreatePerson {
    /// Unique across the platform; compared case-insensitively. Cannot be changed later.
    #[garde(email, length(chars, max = 254))]
    #[schema(format = Email, max_length = 254)]
    pub email: String,
    #[garde(length(chars, min = 1, max = 100), custom(crate::validate::not_blank))]
    #[schema(min_length = 1, max_length = 100, pattern = r"[^\s\x00-\x1f\x7f-\x9f]")]
    pub name: String,
    /// `owner` only by an owner.
    #[garde(skip)]
    pub role: OrganisationRole,
    /// In international form (`+44 7911 123456`; spaces, dots, dashes and brackets allowed), a valid
    /// number of its country; kept as E.164 (`+447911123456`), which SMS and WhatsApp need.
    #[garde(custom(crate::validate::international_phone))]
    #[schema(max_length = 32, pattern = r"^ *(?:\+|00)[ ().-]*[1-9](?:[ ().-]*[0-9]){7,14}[ ().-]*$")]
    pub phone: Option<String>,
    #[garde(skip)]
    pub employment_type: Option<EmploymentType>,
    #[garde(length(max = 50), inner(length(min = 1, max = 64)))]
    #[schema(schema_with = crate::validate::texts::<50, 64>)]
    #[serde(default)]
    pub position_ids: Vec<String>,
    /// Minor units of the organisation's currency per hour.
    #[garde(range(max = 10_000_000))]
    #[schema(maximum = 10_000_000)]
    pub hourly_rate_minor: Option<u64>,
    #[garde(range(min = 1, max = 168))]
    #[schema(minimum = 1, maximum = 168)]
    pub weekly_hours_cap: Option<u32>,
    #[garde(length(min = 1, max = 64))]
    #[schema(min_length = 1, max_length = 64)]
    pub unit_id: Option<String>,
    #[garde(dive)]
    pub emergency_contact: Option<EmergencyContact>,
    /// One of the organisation's permission sets, held besides the role (only by someone who
    /// holds every permission of it).
    #[garde(length(min = 1, max = 64))]
    #[schema(min_length = 1, max_length = 64)]
    #[serde(default)]
    pub permission_set_id: Option<String>,
    /// Limits the person to some locations and/or units (only within the inviter's own).
    #[garde(dive)]
    #[serde(default)]
    pub scope: Option<crate::auth::Scope>,
}

/// The roles a person of an organisation can have (platform admins come only from the ops
/// command).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrganisationRole {
    Owner,
    Admin,
    Coordinator,
    Staff,
}

impl From<OrganisationRole> for Role {
    fn from(role: OrganisationRole) -> Self {
        match role {
            OrganisationRole::Owner => Role::Owner,
            OrganisationRole::Admin => Role::Admin,
            OrganisationRole::Coordinator => Role::Coordinator,
            OrganisationRole::Staff => Role::Staff,
        }
    }
}

impl OrganisationRole {
    /// The role, when someone of role `granter` may give it: only an owner makes owners.
    pub fn granted_by(self, granter: Role) -> Option<Role> {
        match self {
            OrganisationRole::Owner if granter != Role::Owner => None,
            role => Some(role.into()),
        }
    }
}

impl CreatePerson {
    /// The person this asks for, invited, as `role` (granted already).
    pub fn into_person(self, id: String, tenant_id: String, role: Role, now: &str) -> Person {
        let email = self.email.trim().to_lowercase();
        let mut person = Person::invited(id, tenant_id, email, self.name.trim().to_owned(), role, now);
        person.phone = self.phone.map(|phone| crate::phone::stored(&phone));
        person.employment_type = self.employment_type.unwrap_or_default();
        person.position_ids = self.position_ids;
        person.hourly_rate_minor = self.hourly_rate_minor;
        person.weekly_hours_cap = self.weekly_hours_cap;
        person.unit_id = self.unit_id;
        person.emergency_contact = self.emergency_contact;
        person.permission_set_id = self.permission_set_id;
        person.scope = self.scope.unwrap_or_default().normalised();
        person
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PersonStatus {
    Invited,
    Active,
    Inactive,
}

/// An email's claim (main table): who it belongs to. Made when the person joins (the auth
/// function) and changed with their role and status (the people function); holds no secret.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EmailClaim {
    pub email: String,
    pub tenant_id: String,
    pub person_id: String,
    pub role: Role,
    pub status: PersonStatus,
    /// The person's permission set, for the tokens a login issues.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permission_set_id: Option<String>,
    /// The person's scope, for the same.
    #[serde(default, skip_serializing_if = "crate::auth::Scope::is_open")]
    pub scope: crate::auth::Scope,
}

impl EmailClaim {
    /// The claim of `person`'s address, as they are.
    pub fn of(person: &Person) -> Self {
        Self {
            email: person.email.clone(),
            tenant_id: person.tenant_id.clone(),
            person_id: person.id.clone(),
            role: person.role,
            status: person.status,
            permission_set_id: person.permission_set_id.clone(),
            scope: person.scope.clone(),
        }
    }
}

/// An email's credential (secrets table, the auth function only): made when the person first
/// sets a password (confirming a sign-up, accepting an invitation).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Credential {
    pub email: String,
    /// The person it was made for: it counts only while the claim names them.
    pub tenant_id: String,
    pub person_id: String,
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

impl Credential {
    /// A new person's credential, with their first password.
    pub fn new(claim: &EmailClaim, password_hash: String) -> Self {
        Self {
            email: claim.email.clone(),
            tenant_id: claim.tenant_id.clone(),
            person_id: claim.person_id.clone(),
            password_hash,
            reset_hash: None,
            mfa: false,
        }
    }
}

/// What login reads for an email: the claim and, for the person it names, the credential.
#[derive(Debug, Clone)]
pub struct Login {
    pub claim: EmailClaim,
    /// `None` until the person sets a password (an invited person), and for a credential left
    /// for someone the claim no longer names.
    pub credential: Option<Credential>,
}

impl Store {
    pub(crate) fn person_item(&self, person: &Person) -> Result<Item, Error> {
        self.entity_item(person)
    }

    /// The people of some units (gsi3, one partition each, merged), in id order: one page, with
    /// `filter` applied within each unit and people of imports not committed left out.
    pub async fn people_of_units(
        &self,
        tenant_id: &str,
        units: &[String],
        filter: Filter,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> Result<Page<Person>, Error> {
        let partitions = units.iter().map(|unit| keys::unit_people(tenant_id, unit)).collect();
        let list = format!("{}#PEOPLE", keys::tenant(tenant_id));
        let (mut page, staged) = tokio::try_join!(
            self.merged::<Person>(Index::Gsi3, partitions, &list, (None, None), filter, limit, cursor),
            self.staged_imports(tenant_id)
        )?;
        page.items.retain(|person| !person.import_id.as_ref().is_some_and(|id| staged.contains(id)));
        Ok(page)
    }

    pub(crate) fn claim_item(&self, claim: &EmailClaim) -> Result<Item, Error> {
        to_item(claim, &[("pk", keys::email(&claim.email)), ("sk", keys::EMAIL_SK.into())])
    }

    pub(crate) fn credential_item(&self, credential: &Credential) -> Result<Item, Error> {
        to_item(credential, &[("pk", keys::credential(&credential.email)), ("sk", keys::CREDENTIAL_SK.into())])
    }

    pub(crate) fn credential_key(email: &str) -> Item {
        key(keys::credential(email), keys::CREDENTIAL_SK)
    }

    /// The person's email claim, new: refused (in a transaction) if the email belongs to anyone
    /// already.
    pub fn claim_put(&self, claim: &EmailClaim) -> Result<TransactWriteItem, Error> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(self.claim_item(claim)?))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(Error::internal)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// The claim following a role, status, permission set or scope change of its person, for the same
    /// transaction.
    pub fn claim_access(&self, person: &Person) -> Result<TransactWriteItem, Error> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::email(&person.email), keys::EMAIL_SK)))
            .update_expression("SET #role = :role, #status = :status, permission_set_id = :set, #scope = :scope")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#role", "role")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":role", value(&person.role)?)
            .expression_attribute_values(":status", value(&person.status)?)
            .expression_attribute_values(":set", value(&person.permission_set_id)?)
            .expression_attribute_names("#scope", "scope")
            .expression_attribute_values(":scope", value(&person.scope)?)
            .build()
            .map_err(Error::internal)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    pub async fn email_claim(&self, email: &str) -> Result<Option<EmailClaim>, Error> {
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

    /// The platform-wide claims of those of `emails` that have one, by email: `BatchGetItem`s of
    /// 100 keys, several at once (one round trip).
    pub async fn email_claims_among(&self, emails: &[&str]) -> Result<HashMap<String, EmailClaim>, Error> {
        let wanted: Vec<Item> = emails.iter().map(|email| key(keys::email(email), keys::EMAIL_SK)).collect();
        let found = self.batch_get_all(&wanted).await?;
        found.into_iter().map(from_item::<EmailClaim>).map(|claim| claim.map(|c| (c.email.clone(), c))).collect()
    }

    /// Which of `emails` are the organisation's already: invited (an invitation waits) or joined
    /// (their claim names it). `BatchGetItem`s of 100 keys, several at once.
    pub async fn members_among(&self, tenant_id: &str, emails: &[&str]) -> Result<HashSet<String>, Error> {
        let invitations: Vec<Item> =
            emails.iter().map(|email| key(keys::tenant(tenant_id), keys::invitation_sk(email))).collect();
        let (invited, claims) = tokio::try_join!(self.batch_get_all(&invitations), self.email_claims_among(emails))?;
        let mut members: HashSet<String> =
            claims.into_values().filter(|claim| claim.tenant_id == tenant_id).map(|claim| claim.email).collect();
        for item in invited {
            if let Some(AttributeValue::S(email)) = item.get("email") {
                members.insert(email.clone());
            }
        }
        Ok(members)
    }

    /// The organisation's active owners, to whom its billing mail goes: its people read through
    /// a filter, page by page (a rare path, the nightly dunning, so no index of its own).
    pub async fn active_owners(&self, tenant_id: &str) -> Result<Vec<Person>, Error> {
        let query = self
            .client
            .query()
            .key_condition_expression("pk = :pk AND begins_with(sk, :people)")
            .filter_expression("#role = :owner AND #status = :active")
            .expression_attribute_names("#role", "role")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":pk", value(&keys::tenant(tenant_id))?)
            .expression_attribute_values(":people", value(&keys::person_sk(""))?)
            .expression_attribute_values(":owner", value(&Role::Owner)?)
            .expression_attribute_values(":active", value(&PersonStatus::Active)?);
        self.every(query).await?.into_iter().map(from_item).collect()
    }

    /// The email's claim and credential, strongly consistent, in one `BatchGetItem` across the
    /// two tables. `None` when no one has the email.
    pub async fn login(&self, email: &str) -> Result<Option<Login>, Error> {
        let wanted = [(In::Main, key(keys::email(email), keys::EMAIL_SK)), (In::Secrets, Self::credential_key(email))];
        let mut items = self.batch_get_from(&wanted).await?.into_iter();
        let claim: Option<EmailClaim> = items.next().flatten().map(from_item).transpose()?;
        let credential: Option<Credential> = items.next().flatten().map(from_item).transpose()?;
        Ok(claim.map(|claim| {
            let credential = credential.filter(|credential| {
                credential.person_id == claim.person_id && credential.tenant_id == claim.tenant_id
            });
            Login { claim, credential }
        }))
    }
}
