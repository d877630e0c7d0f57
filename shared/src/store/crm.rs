//! The operator's CRM (platform admins): leads, deals, and the notes and activities on both.
//!
//! Leads and deals are records of the platform's own partition (`T#{platform}` / `LEAD#{id}`,
//! `DEAL#{id}`), so every change is a versioned entity write with its entry in the platform's
//! audit log; gsi1 lists each newest first (`CRM#LEADS`, `CRM#DEALS`), and a converted deal is on
//! gsi2 under the organisation it became. A record's activities are a partition of their own
//! (`T#{platform}#CRM#{id}`, oldest first). The pipeline's totals (deals and value per stage and
//! currency) are one item, moved by the same transaction as the deal that changes them.

use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::{Put, TransactWriteItem, Update};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use super::entities::Filter;
use super::page::{Index, Page};
use super::platform::PLATFORM_TENANT;
use super::{Item, Store, condition_failed, from_item, key, keys, n, s, to_item};
use crate::Error;

fn platform() -> String {
    PLATFORM_TENANT.to_owned()
}

/// Where a lead came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LeadSource {
    /// The public contact form (`POST /contact`).
    ContactForm,
    /// A sign-up whose email was not (yet) confirmed.
    Signup,
    /// Entered by a platform admin.
    Manual,
}

/// `new` → `contacted` → `qualified` (a deal was opened) or `unqualified`; `converted` once it
/// became an organisation (a confirmed sign-up).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LeadStatus {
    New,
    Contacted,
    Qualified,
    Unqualified,
    Converted,
}

impl LeadStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::New => "new",
            Self::Contacted => "contacted",
            Self::Qualified => "qualified",
            Self::Unqualified => "unqualified",
            Self::Converted => "converted",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Lead {
    pub id: String,
    #[serde(skip, default = "platform")]
    pub tenant_id: String,
    pub source: LeadSource,
    pub status: LeadStatus,
    pub name: String,
    pub email: String,
    pub organisation: Option<String>,
    pub phone: Option<String>,
    /// What they wrote in the contact form.
    pub message: Option<String>,
    /// A sign-up's lead: until when its emailed link works. Past it, and not `converted`, the
    /// sign-up was abandoned.
    pub signup_expires_at: Option<String>,
    /// The deal opened from it.
    pub deal_id: Option<String>,
    /// The organisation it became (a confirmed sign-up).
    pub organisation_id: Option<String>,
    pub version: u64,
    pub created_at: String,
    pub updated_at: String,
}

crate::entity!(
    Lead,
    "LEAD#",
    "lead",
    extra = |lead: &Lead| {
        vec![("gsi1pk", keys::CRM_LEADS.into()), ("gsi1sk", format!("{}#{}", lead.created_at, lead.id))]
    }
);

impl Lead {
    /// A new lead, `new`, made `at`.
    pub fn new(source: LeadSource, name: String, email: String, at: &str) -> Self {
        Self {
            id: ulid::Ulid::new().to_string(),
            tenant_id: platform(),
            source,
            status: LeadStatus::New,
            name,
            email,
            organisation: None,
            phone: None,
            message: None,
            signup_expires_at: None,
            deal_id: None,
            organisation_id: None,
            version: 1,
            created_at: at.to_owned(),
            updated_at: at.to_owned(),
        }
    }

    /// The id of the lead a sign-up with `email` makes: one per address, however often it signs
    /// up (a hash of the address, shaped as any other id).
    pub fn signup_id(email: &str) -> String {
        let digest = Sha256::digest(email.as_bytes());
        let bits = u128::from_be_bytes(digest[..16].try_into().expect("a SHA-256 digest has 32 bytes"));
        ulid::Ulid::from(bits).to_string()
    }
}

/// `new → qualified → proposal → won | lost`; an open deal may move to any stage, a lost one
/// be reopened, a won one stays won.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    New,
    Qualified,
    Proposal,
    Won,
    Lost,
}

impl Stage {
    pub const ALL: [Stage; 5] = [Stage::New, Stage::Qualified, Stage::Proposal, Stage::Won, Stage::Lost];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::New => "new",
            Self::Qualified => "qualified",
            Self::Proposal => "proposal",
            Self::Won => "won",
            Self::Lost => "lost",
        }
    }

    pub fn is_closed(self) -> bool {
        matches!(self, Self::Won | Self::Lost)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Deal {
    pub id: String,
    #[serde(skip, default = "platform")]
    pub tenant_id: String,
    pub title: String,
    pub stage: Stage,
    /// Its value per year, in minor units of `currency` (cents).
    pub value_minor: i64,
    /// ISO 4217, e.g. `EUR`.
    pub currency: String,
    pub contact_name: String,
    pub contact_email: String,
    /// The prospect's organisation, as they call it.
    pub organisation: String,
    /// The lead it was opened from.
    pub lead_id: Option<String>,
    /// `YYYY-MM-DD`.
    pub expected_close_on: Option<String>,
    /// Why it was lost (set with `lost`).
    pub lost_reason: Option<String>,
    /// When it was won or lost.
    pub closed_at: Option<String>,
    /// The organisation a won deal was converted to.
    pub organisation_id: Option<String>,
    pub converted_at: Option<String>,
    pub version: u64,
    pub created_at: String,
    pub updated_at: String,
}

crate::entity!(
    Deal,
    "DEAL#",
    "deal",
    extra = |deal: &Deal| {
        let mut keys = vec![("gsi1pk", keys::CRM_DEALS.to_owned()), ("gsi1sk", deal.id.clone())];
        if let Some(organisation_id) = &deal.organisation_id {
            keys.extend([("gsi2pk", keys::tenant_deals(organisation_id)), ("gsi2sk", deal.id.clone())]);
        }
        keys
    }
);

/// What an activity records: the four an admin logs, and the three the CRM writes itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ActivityKind {
    Note,
    Call,
    Email,
    Meeting,
    /// A deal opened (on the lead, and on the deal).
    DealOpened,
    /// A deal moved from one stage to another.
    StageChanged,
    /// A won deal linked to its organisation.
    Converted,
}

/// One entry of a lead's or a deal's history, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Activity {
    pub id: String,
    /// The lead or deal it is about.
    pub record_id: String,
    pub kind: ActivityKind,
    pub body: String,
    pub author_id: String,
    pub author_name: String,
    pub created_at: String,
}

impl Activity {
    pub fn new(record_id: &str, kind: ActivityKind, body: String, author: (&str, &str), at: &str) -> Self {
        Self {
            id: ulid::Ulid::new().to_string(),
            record_id: record_id.to_owned(),
            kind,
            body,
            author_id: author.0.to_owned(),
            author_name: author.1.to_owned(),
            created_at: at.to_owned(),
        }
    }
}

/// Deals and their value in one stage, per currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct StageTotal {
    pub stage: Stage,
    pub deals: i64,
    /// Minor units per currency, e.g. `{"EUR": 1250000}`; currencies with no deal left out.
    pub value_minor: BTreeMap<String, i64>,
}

/// How a deal counts in the pipeline: one deal of `value_minor` in `currency` at `stage`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counted<'a> {
    pub stage: Stage,
    pub currency: &'a str,
    pub value_minor: i64,
}

impl<'a> From<&'a Deal> for Counted<'a> {
    fn from(deal: &'a Deal) -> Self {
        Self { stage: deal.stage, currency: &deal.currency, value_minor: deal.value_minor }
    }
}

/// The counters the pipeline item stores, by attribute name: `deals#{stage}`, `value#{stage}#{currency}`.
fn pipeline_changes(before: Option<Counted>, after: Option<Counted>) -> BTreeMap<String, i64> {
    let mut changes = BTreeMap::new();
    for (counted, sign) in [(before, -1), (after, 1)] {
        if let Some(counted) = counted {
            *changes.entry(format!("deals#{}", counted.stage.as_str())).or_default() += sign;
            *changes.entry(format!("value#{}#{}", counted.stage.as_str(), counted.currency)).or_default() +=
                sign * counted.value_minor;
        }
    }
    changes.retain(|_, delta| *delta != 0);
    changes
}

fn pipeline_totals(item: Option<Item>) -> Vec<StageTotal> {
    let mut totals: Vec<StageTotal> =
        Stage::ALL.iter().map(|&stage| StageTotal { stage, deals: 0, value_minor: BTreeMap::new() }).collect();
    for (name, value) in item.unwrap_or_default() {
        let Some(number) = value.as_n().ok().and_then(|number| number.parse::<i64>().ok()) else { continue };
        let mut parts = name.split('#');
        let (Some(what), Some(stage)) = (parts.next(), parts.next()) else { continue };
        let Some(total) = totals.iter_mut().find(|total| total.stage.as_str() == stage) else { continue };
        match (what, parts.next()) {
            ("deals", None) => total.deals = number,
            ("value", Some(currency)) if number != 0 => {
                total.value_minor.insert(currency.to_owned(), number);
            }
            _ => {}
        }
    }
    totals
}

impl Store {
    /// The move of a deal in the pipeline's totals, for the transaction that moves it (`None`
    /// when nothing the totals count changed).
    pub fn pipeline_change(
        &self,
        before: Option<Counted>,
        after: Option<Counted>,
    ) -> Result<Option<TransactWriteItem>, Error> {
        let changes = pipeline_changes(before, after);
        if changes.is_empty() {
            return Ok(None);
        }
        let mut update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::tenant(PLATFORM_TENANT), keys::CRM_PIPELINE_SK)));
        let mut adds = Vec::new();
        for (i, (name, delta)) in changes.into_iter().enumerate() {
            adds.push(format!("#c{i} :c{i}"));
            update = update
                .expression_attribute_names(format!("#c{i}"), name)
                .expression_attribute_values(format!(":c{i}"), n(delta));
        }
        let update = update.update_expression(format!("ADD {}", adds.join(", "))).build().map_err(Error::internal)?;
        Ok(Some(TransactWriteItem::builder().update(update).build()))
    }

    /// Deals and value per stage, every stage listed.
    pub async fn pipeline(&self) -> Result<Vec<StageTotal>, Error> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::tenant(PLATFORM_TENANT), keys::CRM_PIPELINE_SK)))
            .send()
            .await?;
        Ok(pipeline_totals(output.item))
    }

    pub fn activity_put(&self, activity: &Activity) -> Result<TransactWriteItem, Error> {
        let keys = [("pk", keys::crm_activities(&activity.record_id)), ("sk", activity.id.clone())];
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(to_item(activity, &keys)?))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(Error::internal)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// An activity logged on a record that exists (`T`: a lead or a deal); `Ok(false)` if none.
    pub async fn log_activity<T: super::entities::Entity>(&self, activity: &Activity) -> Result<bool, Error> {
        let exists = aws_sdk_dynamodb::types::ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(T::key(PLATFORM_TENANT, &activity.record_id)))
            .condition_expression("attribute_exists(pk)")
            .build()
            .map_err(Error::internal)?;
        let items = vec![TransactWriteItem::builder().condition_check(exists).build(), self.activity_put(activity)?];
        Ok(self.transact(items).await?.is_ok())
    }

    /// A lead or deal (`T`) with its activities, oldest first: two reads in parallel.
    pub async fn with_activities<T: super::entities::Entity>(
        &self,
        id: &str,
    ) -> Result<Option<(T, Vec<Activity>)>, Error> {
        let activities = self
            .client
            .query()
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s(keys::crm_activities(id)));
        let (record, activities) = tokio::try_join!(self.entity::<T>(PLATFORM_TENANT, id), self.every(activities))?;
        let activities = activities.into_iter().map(from_item).collect::<Result<Vec<_>, _>>()?;
        Ok(record.map(|record| (record, activities)))
    }

    /// One page of leads, newest first, optionally only those in `status`, from `source` or
    /// with `email`.
    pub async fn leads(
        &self,
        status: Option<LeadStatus>,
        source: Option<LeadSource>,
        email: Option<&str>,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> Result<Page<Lead>, Error> {
        let mut filter = Filter::default();
        if let Some(status) = status {
            filter = filter.and("#status = :status", ("#status", "status"), (":status", s(status.as_str())));
        }
        if let Some(source) = source {
            filter = filter.and("#source = :source", ("#source", "source"), (":source", super::value(&source)?));
        }
        if let Some(email) = email {
            filter = filter.and("email = :email", ("", ""), (":email", s(email)));
        }
        self.partition_page(Index::Gsi1, keys::CRM_LEADS.into(), filter, false, limit, cursor).await
    }

    /// One page of deals, newest first, optionally only those at `stage`.
    pub async fn deals(
        &self,
        stage: Option<Stage>,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> Result<Page<Deal>, Error> {
        let filter = match stage {
            Some(stage) => Filter::default().and("#stage = :stage", ("#stage", "stage"), (":stage", s(stage.as_str()))),
            None => Filter::default(),
        };
        self.partition_page(Index::Gsi1, keys::CRM_DEALS.into(), filter, false, limit, cursor).await
    }

    /// The lead of a sign-up ([`Lead::signup_id`]): made on its first attempt, its name,
    /// organisation and link's expiry renewed by every later one while nobody has worked on it
    /// (`new`).
    pub async fn signup_lead(
        &self,
        email: &str,
        name: &str,
        organisation: &str,
        expires_at: &str,
        now: &str,
    ) -> Result<(), Error> {
        let id = Lead::signup_id(email);
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::tenant(PLATFORM_TENANT), format!("LEAD#{id}"))))
            .update_expression(
                "SET id = :id, #source = if_not_exists(#source, :signup), #status = if_not_exists(#status, :new), \
                 #name = :name, email = :email, organisation = :organisation, signup_expires_at = :expires, \
                 created_at = if_not_exists(created_at, :now), updated_at = :now, gsi1pk = :leads, \
                 gsi1sk = if_not_exists(gsi1sk, :newest) \
                 ADD version :one",
            )
            .condition_expression("attribute_not_exists(pk) OR #status = :new")
            .expression_attribute_names("#source", "source")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#name", "name")
            .expression_attribute_values(":id", s(&id))
            .expression_attribute_values(":signup", super::value(&LeadSource::Signup)?)
            .expression_attribute_values(":new", s(LeadStatus::New.as_str()))
            .expression_attribute_values(":name", s(name))
            .expression_attribute_values(":email", s(email))
            .expression_attribute_values(":organisation", s(organisation))
            .expression_attribute_values(":expires", s(expires_at))
            .expression_attribute_values(":now", s(now))
            .expression_attribute_values(":leads", s(keys::CRM_LEADS))
            .expression_attribute_values(":newest", s(format!("{now}#{id}")))
            .expression_attribute_values(":one", n(1))
            .send()
            .await;
        match result {
            // Someone works on it already: it stays as they left it.
            Ok(_) => Ok(()),
            Err(error) if condition_failed(&error) => Ok(()),
            Err(error) => Err(error.into()),
        }
    }

    /// A sign-up's lead marked `converted` to the organisation it created, for the transaction
    /// that creates it. Unconditional: the sign-up made the lead and leads are never deleted, and
    /// a condition could only ever fail the sign-up.
    pub fn signup_lead_converted(
        &self,
        lead_id: &str,
        organisation_id: &str,
        now: &str,
    ) -> Result<TransactWriteItem, Error> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::tenant(PLATFORM_TENANT), format!("LEAD#{lead_id}"))))
            .update_expression(
                "SET #status = :converted, organisation_id = :organisation, updated_at = :now ADD version :one",
            )
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":converted", s(LeadStatus::Converted.as_str()))
            .expression_attribute_values(":organisation", s(organisation_id))
            .expression_attribute_values(":now", s(now))
            .expression_attribute_values(":one", n(1))
            .build()
            .map_err(Error::internal)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counted(stage: Stage, currency: &str, value_minor: i64) -> Option<Counted<'_>> {
        Some(Counted { stage, currency, value_minor })
    }

    #[test]
    fn a_deal_moving_stage_moves_its_count_and_value() {
        let changes = pipeline_changes(counted(Stage::Proposal, "EUR", 500), counted(Stage::Won, "EUR", 600));
        let expected: BTreeMap<String, i64> = [
            ("deals#proposal".to_owned(), -1),
            ("deals#won".to_owned(), 1),
            ("value#proposal#EUR".to_owned(), -500),
            ("value#won#EUR".to_owned(), 600),
        ]
        .into();
        assert_eq!(changes, expected);
    }

    #[test]
    fn only_what_changed_is_counted() {
        let same = counted(Stage::New, "EUR", 500);
        assert!(pipeline_changes(same.clone(), same).is_empty());
        let changes = pipeline_changes(counted(Stage::New, "EUR", 500), counted(Stage::New, "EUR", 800));
        assert_eq!(changes, [("value#new#EUR".to_owned(), 300)].into());
        let opened = pipeline_changes(None, counted(Stage::New, "GBP", 100));
        assert_eq!(opened, [("deals#new".to_owned(), 1), ("value#new#GBP".to_owned(), 100)].into());
    }

    #[test]
    fn the_totals_list_every_stage_and_drop_emptied_currencies() {
        let item: Item = [
            ("pk".to_owned(), s("T#x")),
            ("deals#won".to_owned(), n(2)),
            ("value#won#EUR".to_owned(), n(1200)),
            ("value#won#GBP".to_owned(), n(0)),
            ("deals#new".to_owned(), n(1)),
            ("value#new#EUR".to_owned(), n(300)),
        ]
        .into();
        let totals = pipeline_totals(Some(item));
        assert_eq!(totals.iter().map(|total| total.stage).collect::<Vec<_>>(), Stage::ALL);
        assert_eq!((totals[0].deals, totals[0].value_minor.get("EUR")), (1, Some(&300)));
        assert_eq!(totals[3].deals, 2);
        assert_eq!(totals[3].value_minor, [("EUR".to_owned(), 1200)].into());
        assert_eq!((totals[2].deals, totals[2].value_minor.len()), (0, 0));
    }

    #[test]
    fn a_signup_lead_is_one_per_address() {
        let id = Lead::signup_id("ada@example.com");
        assert_eq!(id.len(), 26);
        assert_eq!(id, Lead::signup_id("ada@example.com"));
        assert_ne!(id, Lead::signup_id("bob@example.com"));
    }
}
