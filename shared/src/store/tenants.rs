//! Tenants (organisations). A confirmed sign-up writes the tenant, its owner, the owner's email
//! claim and first session, and consumes the pending sign-up, in one transaction.

use aws_sdk_dynamodb::types::{Delete, Put, TransactWriteItem, Update};
use serde::{Deserialize, Serialize};

use super::audit::AuditEntry;
use super::billing::Subscription;
use super::credits::{CreditEntry, CreditKind};
use super::people::{Credential, EmailClaim, Person};
use super::sessions::Session;
use super::signups::PendingSignup;
use super::{Item, Store, failed_conditions, from_item, key, keys, n, put_new, to_item, value};
use crate::Error;
use crate::domain::settings::{Settings, Weekday};

/// An organisation. Fields added after the first tenants were stored have serde defaults, so old
/// items read as if they had been created with them.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Tenant {
    pub id: String,
    pub name: String,
    pub status: TenantStatus,
    /// Why it is suspended when Rota suspended it (an overdue payment); none when the platform
    /// did, or when it is active.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspended_for: Option<SuspendedFor>,
    /// IANA time zone of the organisation: weeks, days and pay periods are counted in it.
    #[serde(default = "utc")]
    pub time_zone: String,
    #[serde(default = "monday")]
    pub week_start: Weekday,
    /// ISO 4217 code of every amount (rates, pay stubs, costs), kept in minor units.
    #[serde(default = "euro")]
    pub currency: String,
    #[serde(default)]
    pub settings: Settings,
    /// Messages the organisation can still send (one credit each; account mail is free).
    /// Taken one at a time by the notifier; granted by the platform admin.
    #[serde(default)]
    pub message_credits: i64,
    /// People who are not deactivated (invited or active), kept by the transactions that add,
    /// deactivate and reactivate them.
    #[serde(default)]
    pub people_count: i64,
    /// Its webhook endpoints (at most [`super::webhooks::MAX_ENDPOINTS`]), counted by the
    /// transactions that add and remove them; none means no event is queued for it.
    #[serde(default)]
    pub webhook_endpoints: i64,
    /// The month (`yyyy-mm`) that `messages_used` counts: how many of the plan's messages of a
    /// month (`messages_per_month`) were sent then. Kept by the notifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub messages_month: Option<String>,
    #[serde(default)]
    pub messages_used: i64,
    /// Its plan and billing status; none when it started before any plan was the default.
    /// Written by the billing paths only (a profile or settings change leaves it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscription: Option<Subscription>,
    /// The organisation as a customer of the payment provider, once its owner has subscribed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billing_customer_id: Option<String>,
    /// Who Rota's invoices to it are made out to (its owners keep them; `PUT /billing/details`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billing_details: Option<super::invoices::Party>,
    /// The tax rate Rota's invoices to it include, in basis points (2000 = 20 %).
    #[serde(default)]
    pub tax_rate_bp: u32,
    /// Until when its payments are invoiced (the end of the last period invoiced), kept by the
    /// invoice job.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invoiced_through: Option<String>,
    /// Whether people other than owners may sign in with a password; set with the organisation's
    /// identity providers (`PUT /tenant/sso`).
    #[serde(default)]
    pub password_login: crate::store::sso::PasswordLogin,
    /// Incremented by every change; send it back on update to refuse overwriting someone
    /// else's change (409).
    #[serde(default = "first_version")]
    pub version: u64,
    pub created_at: String,
    #[serde(default)]
    pub updated_at: String,
}

/// The messages a new organisation may send before the platform grants more.
pub const TRIAL_CREDITS: i64 = 500;

fn utc() -> String {
    "UTC".into()
}
fn monday() -> Weekday {
    Weekday::Monday
}
fn euro() -> String {
    "EUR".into()
}
fn first_version() -> u64 {
    1
}

impl Tenant {
    /// The organisation's zone: its days, weeks and pay periods.
    pub fn zone(&self) -> Result<chrono_tz::Tz, Error> {
        self.time_zone
            .parse()
            .map_err(|_| Error::internal(format!("a stored time zone does not parse: {}", self.time_zone)))
    }

    /// A new, active organisation with default settings.
    pub fn new(id: String, name: String, now: &str) -> Self {
        Self {
            id,
            name,
            status: TenantStatus::Active,
            suspended_for: None,
            time_zone: utc(),
            week_start: monday(),
            currency: euro(),
            settings: Settings::default(),
            message_credits: TRIAL_CREDITS,
            people_count: 0,
            webhook_endpoints: 0,
            messages_month: None,
            messages_used: 0,
            subscription: None,
            billing_customer_id: None,
            billing_details: None,
            tax_rate_bp: 0,
            invoiced_through: None,
            password_login: Default::default(),
            version: first_version(),
            created_at: now.to_owned(),
            updated_at: now.to_owned(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TenantStatus {
    Active,
    Suspended,
}

/// Why Rota suspended an organisation on its own (the platform's suspensions have no reason
/// kept): a payment reactivates what a payment suspended, never what the platform did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SuspendedFor {
    /// Its subscription's payment stayed overdue past the grace (see `domain::dunning`).
    Payment,
}

/// The ledger's first entry: the credits a new organisation starts with.
fn first_credits(tenant: &Tenant) -> CreditEntry {
    CreditEntry::new(&tenant.id, CreditKind::Grant, tenant.message_credits, Some("trial"), &tenant.created_at)
}

/// The tenant item, listed for the platform admin by creation time (gsi1).
fn tenant_item(tenant: &Tenant) -> Result<Item, Error> {
    to_item(
        tenant,
        &[
            ("pk", keys::tenant(&tenant.id)),
            ("sk", keys::TENANT_SK.into()),
            ("gsi1pk", keys::TENANTS.into()),
            ("gsi1sk", format!("{}#{}", tenant.created_at, tenant.id)),
        ],
    )
}

/// What issuing tokens needs to know of an organisation: whether it is active, and whether its
/// owners and admins must pass two-factor authentication (`settings.require_admin_mfa`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantGate {
    pub status: TenantStatus,
    pub require_admin_mfa: bool,
    /// Whether people other than owners may sign in with a password (`PUT /tenant/sso`).
    pub password_login: crate::store::sso::PasswordLogin,
    /// The organisation's SCIM token (its hash), if an owner made one.
    pub scim_token: Option<crate::store::scim::ScimToken>,
}

/// The attributes of a tenant item a [`TenantGate`] reads (the rest may be of a newer version).
#[derive(Deserialize)]
struct GateItem {
    status: TenantStatus,
    #[serde(default)]
    settings: GateSettings,
    #[serde(default)]
    password_login: crate::store::sso::PasswordLogin,
    #[serde(default)]
    scim_token: Option<crate::store::scim::ScimToken>,
}

#[derive(Deserialize)]
struct GateSettings {
    #[serde(default = "require_admin_mfa")]
    require_admin_mfa: bool,
}

impl Default for GateSettings {
    fn default() -> Self {
        Self { require_admin_mfa: require_admin_mfa() }
    }
}

fn require_admin_mfa() -> bool {
    Settings::default().require_admin_mfa
}

impl TenantGate {
    pub(crate) fn from_item(item: Item) -> Result<Self, Error> {
        let gate: GateItem = from_item(item)?;
        Ok(Self {
            status: gate.status,
            require_admin_mfa: gate.settings.require_admin_mfa,
            password_login: gate.password_login,
            scim_token: gate.scim_token,
        })
    }

    pub fn is_active(&self) -> bool {
        self.status == TenantStatus::Active
    }
}

/// Why creating an organisation did not happen.
#[derive(Debug, PartialEq, Eq)]
pub enum NotCreated {
    /// The owner's email was claimed meanwhile (another sign-up was confirmed first).
    EmailTaken,
    /// The pending sign-up is gone: its link was used already.
    SignupUsed,
}

impl Store {
    pub async fn tenant(&self, tenant_id: &str) -> Result<Option<Tenant>, Error> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::tenant(tenant_id), keys::TENANT_SK)))
            .send()
            .await?;
        output.item.map(from_item).transpose()
    }

    /// Replaces the tenant, read at `expected_version`, with its audit entry, in one transaction.
    /// A stale version is 409.
    ///
    /// Only the profile and settings are written: counters kept on the item (message credits)
    /// change concurrently without a version and must not be overwritten with what was read.
    pub async fn update_tenant(&self, tenant: &Tenant, expected_version: u64, audit: &AuditEntry) -> Result<(), Error> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::tenant(&tenant.id), keys::TENANT_SK)))
            .update_expression(
                "SET #name = :name, time_zone = :zone, week_start = :week, currency = :currency, \
                 settings = :settings, version = :version, updated_at = :at",
            )
            .condition_expression("attribute_exists(pk) AND version = :expected")
            .expression_attribute_names("#name", "name")
            .expression_attribute_values(":name", value(&tenant.name)?)
            .expression_attribute_values(":zone", value(&tenant.time_zone)?)
            .expression_attribute_values(":week", value(&tenant.week_start)?)
            .expression_attribute_values(":currency", value(&tenant.currency)?)
            .expression_attribute_values(":settings", value(&tenant.settings)?)
            .expression_attribute_values(":version", n(tenant.version))
            .expression_attribute_values(":at", value(&tenant.updated_at)?)
            .expression_attribute_values(":expected", n(expected_version))
            .build()
            .map_err(Error::internal)?;
        let items = vec![TransactWriteItem::builder().update(update).build(), self.audit_put(audit)?];
        match self.transact(items).await? {
            Ok(()) => Ok(()),
            Err(_) => Err(Error::Conflict("the organisation was changed by someone else; reload and retry")),
        }
    }

    /// The organisation's status and 2FA rule, strongly consistent (a suspension counts at once).
    pub async fn tenant_gate(&self, tenant_id: &str) -> Result<Option<TenantGate>, Error> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::tenant(tenant_id), keys::TENANT_SK)))
            .projection_expression("#status, settings.require_admin_mfa, password_login, scim_token")
            .expression_attribute_names("#status", "status")
            .consistent_read(true)
            .send()
            .await?;
        output.item.map(TenantGate::from_item).transpose()
    }

    /// Creates an organisation on its own (the platform's), with the ledger entry of its first
    /// credits; `Conflict` when it exists.
    pub async fn create_tenant(&self, tenant: &Tenant) -> Result<(), Error> {
        let items = vec![put_new(&self.table, tenant_item(tenant)?)?, self.credit_entry_put(&first_credits(tenant))?];
        match self.transact(items).await? {
            Ok(()) => Ok(()),
            Err(_) => Err(Error::Conflict("the organisation exists already")),
        }
    }

    /// Creates an organisation with its owner, their email claim, credential and first session,
    /// deletes the pending sign-up it comes from and marks the sign-up's lead converted: all of it
    /// or none of it, in one transaction across both tables.
    pub async fn create_tenant_with_owner(
        &self,
        tenant: &Tenant,
        owner: &Person,
        claim: &EmailClaim,
        credential: &Credential,
        session: &Session,
        signup: &PendingSignup,
    ) -> Result<Result<(), NotCreated>, Error> {
        let tenant_item = tenant_item(tenant)?;
        // The claim is new, so no one else has this email: a credential left under it (by no
        // path today) is replaced, never reused.
        let credential = Put::builder()
            .table_name(self.secrets()?)
            .set_item(Some(self.credential_item(credential)?))
            .build()
            .map_err(Error::internal)?;
        let consume = Delete::builder()
            .table_name(self.secrets()?)
            .set_key(Some(key(keys::signup(&signup.token_hash), keys::SIGNUP_SK)))
            .condition_expression("attribute_exists(pk)")
            .build()
            .map_err(Error::internal)?;
        // The organisation's trial counts in the platform's figures from now.
        let standing = tenant.subscription.as_ref().map(|subscription| subscription.standing());
        let counted = crate::domain::revenue::changes(None, standing.as_ref().map(|standing| standing.counted()));
        let counters = self.revenue_items(&counted, &tenant.created_at[..7], &Default::default())?;
        // The order matters below: a failed condition is reported by position.
        let mut items = vec![
            put_new(&self.table, tenant_item)?,
            put_new(&self.table, self.person_item(owner)?)?,
            put_new(&self.table, self.claim_item(claim)?)?,
            put_new(self.secrets()?, self.session_item(session)?)?,
            TransactWriteItem::builder().delete(consume).build(),
            TransactWriteItem::builder().put(credential).build(),
            self.credit_entry_put(&first_credits(tenant))?,
        ];
        items.extend(counters);
        if let Some(lead_id) = &signup.lead_id {
            items.push(self.signup_lead_converted(lead_id, &tenant.id, &tenant.created_at)?);
        }
        let result = self.client.transact_write_items().set_transact_items(Some(items)).send().await;
        match result {
            Ok(_) => Ok(Ok(())),
            Err(error) => match failed_conditions(&error) {
                // Ids are fresh ULIDs: only the email claim (2) or the sign-up (4) can fail.
                Some(failed) if failed.contains(&4) => Ok(Err(NotCreated::SignupUsed)),
                Some(failed) if failed.contains(&2) => Ok(Err(NotCreated::EmailTaken)),
                _ => Err(error.into()),
            },
        }
    }
}
