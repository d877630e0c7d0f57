//! The operator's CRM (platform admins): leads (from the contact form, from sign-ups never
//! confirmed, or entered by hand), deals opened from them and moved through the pipeline, notes
//! and activities on both, the pipeline's totals, and a won deal converted to the organisation it
//! signed up as. Every change is audited in the platform's log.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::NaiveDate;
use garde::Validate;
use rota::auth::{Caller, Permission};
use rota::clock::Now;
use rota::domain::settings;
use rota::error::Problem;
use rota::http::{ValidJson, ValidQuery};
use rota::records::unchanged_since;
use rota::store::audit::AuditEntry;
use rota::store::crm::{Activity, ActivityKind, Deal, Lead, LeadSource, LeadStatus, Stage, StageTotal};
use rota::store::entities::{Entity, Refused};
use rota::store::page::Page;
use rota::store::people::Person;
use rota::store::platform::PLATFORM_TENANT;
use rota::validate::{not_blank, nullable, trimmed};
use rota::{AppState, Error};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

rota::list_query! {
    pub struct LeadsQuery {
        #[garde(skip)]
        #[param(inline)]
        pub status: Option<LeadStatus>,
        #[garde(skip)]
        #[param(inline)]
        pub source: Option<LeadSource>,
        /// Only the leads of this address (as stored: lower case).
        #[garde(length(chars, max = 254))]
        #[param(max_length = 254)]
        pub email: Option<String>,
    }
}

rota::list_query! {
    pub struct DealsQuery {
        #[garde(skip)]
        #[param(inline)]
        pub stage: Option<Stage>,
    }
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "name": "Ada Lovelace", "email": "ada@harbour.example", "organisation": "Harbour Events", "phone": "+447700900123" }))]
pub struct NewLead {
    #[garde(length(chars, min = 1, max = 100), custom(not_blank))]
    #[schema(min_length = 1, max_length = 100, pattern = r"[^\s\x00-\x1f\x7f-\x9f]")]
    pub name: String,
    #[garde(email, length(chars, max = 254))]
    #[schema(format = Email, max_length = 254)]
    pub email: String,
    #[garde(length(chars, max = 200))]
    #[schema(max_length = 200)]
    pub organisation: Option<String>,
    #[garde(length(chars, max = 32))]
    #[schema(max_length = 32)]
    pub phone: Option<String>,
    /// What they asked for, or how they came.
    #[garde(length(chars, max = 5000))]
    #[schema(max_length = 5000)]
    pub message: Option<String>,
}

/// What changes; omitted fields stay as they are.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "status": "contacted", "version": 1 }))]
pub struct LeadChange {
    /// `new`, `contacted` or `unqualified`: a lead is `qualified` by opening a deal from it and
    /// `converted` by its sign-up being confirmed.
    #[garde(custom(set_by_hand))]
    pub status: Option<LeadStatus>,
    #[garde(length(chars, min = 1, max = 100), custom(not_blank))]
    #[schema(min_length = 1, max_length = 100, pattern = r"[^\s\x00-\x1f\x7f-\x9f]")]
    pub name: Option<String>,
    /// `null` clears it.
    #[serde(default, deserialize_with = "nullable")]
    #[garde(inner(inner(length(chars, max = 200))))]
    #[schema(value_type = Option<String>, nullable, max_length = 200)]
    pub organisation: Option<Option<String>>,
    /// `null` clears it.
    #[serde(default, deserialize_with = "nullable")]
    #[garde(inner(inner(length(chars, max = 32))))]
    #[schema(value_type = Option<String>, nullable, max_length = 32)]
    pub phone: Option<Option<String>>,
    /// The `version` last read; when given, a stale write answers 409.
    #[garde(range(max = rota::validate::MAX_VERSION))]
    pub version: Option<u64>,
}

fn set_by_hand(status: &Option<LeadStatus>, _: &()) -> garde::Result {
    match status {
        Some(LeadStatus::Qualified) => Err(garde::Error::new("a lead is qualified by opening a deal from it")),
        Some(LeadStatus::Converted) => Err(garde::Error::new("a lead is converted by its sign-up being confirmed")),
        _ => Ok(()),
    }
}

/// What an admin logs: a note, a call, an email or a meeting.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "kind": "call", "body": "Called Ada: 40 staff, festival season from May; wants a proposal by Friday." }))]
pub struct NewActivity {
    /// `note`, `call`, `email` or `meeting` (the others are written by the CRM itself).
    #[garde(custom(logged_by_hand))]
    pub kind: ActivityKind,
    #[garde(length(chars, min = 1, max = 5000), custom(not_blank))]
    #[schema(min_length = 1, max_length = 5000, pattern = r"[^\s\x00-\x1f\x7f-\x9f]")]
    pub body: String,
}

fn logged_by_hand(kind: &ActivityKind, _: &()) -> garde::Result {
    match kind {
        ActivityKind::Note | ActivityKind::Call | ActivityKind::Email | ActivityKind::Meeting => Ok(()),
        _ => Err(garde::Error::new("must be note, call, email or meeting")),
    }
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "title": "Harbour Events — Team plan", "lead_id": "01JSAMPLELEAD0000000000000", "value_minor": 588000, "currency": "EUR", "expected_close_on": "2030-05-01" }))]
pub struct NewDeal {
    #[garde(length(chars, min = 1, max = 200), custom(not_blank))]
    #[schema(min_length = 1, max_length = 200, pattern = r"[^\s\x00-\x1f\x7f-\x9f]")]
    pub title: String,
    /// The lead it is opened from (which becomes `qualified`); its contact is the deal's unless
    /// given below.
    #[garde(length(min = 1, max = 64))]
    #[schema(min_length = 1, max_length = 64)]
    pub lead_id: Option<String>,
    /// Required without `lead_id`.
    #[garde(length(chars, min = 1, max = 100), custom(not_blank))]
    #[schema(min_length = 1, max_length = 100, pattern = r"[^\s\x00-\x1f\x7f-\x9f]")]
    pub contact_name: Option<String>,
    /// Required without `lead_id`.
    #[garde(email, length(chars, max = 254))]
    #[schema(format = Email, max_length = 254)]
    pub contact_email: Option<String>,
    /// Required without `lead_id` (else the lead's organisation, or its name).
    #[garde(length(chars, min = 1, max = 200), custom(not_blank))]
    #[schema(min_length = 1, max_length = 200, pattern = r"[^\s\x00-\x1f\x7f-\x9f]")]
    pub organisation: Option<String>,
    /// Its value per year, in minor units of `currency`.
    #[garde(range(min = 0, max = 1_000_000_000_000))]
    #[schema(minimum = 0, maximum = 1_000_000_000_000_i64)]
    pub value_minor: i64,
    /// ISO 4217, e.g. `EUR`.
    #[garde(custom(settings::currency))]
    #[schema(pattern = "^[A-Z]{3}$")]
    pub currency: String,
    #[garde(custom(rota::validate::in_years))]
    pub expected_close_on: Option<NaiveDate>,
}

/// What changes; omitted fields stay as they are.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "stage": "proposal", "value_minor": 640000, "version": 1 }))]
pub struct DealChange {
    #[garde(length(chars, min = 1, max = 200), custom(not_blank))]
    #[schema(min_length = 1, max_length = 200, pattern = r"[^\s\x00-\x1f\x7f-\x9f]")]
    pub title: Option<String>,
    /// Any stage from an open one; a lost deal may be reopened; a won one stays won. `lost`
    /// needs `lost_reason`.
    #[garde(skip)]
    pub stage: Option<Stage>,
    #[garde(range(min = 0, max = 1_000_000_000_000))]
    #[schema(minimum = 0, maximum = 1_000_000_000_000_i64)]
    pub value_minor: Option<i64>,
    #[garde(custom(settings::currency))]
    #[schema(pattern = "^[A-Z]{3}$")]
    pub currency: Option<String>,
    /// `null` clears it.
    #[serde(default, deserialize_with = "nullable")]
    #[garde(custom(rota::validate::in_years))]
    #[schema(value_type = Option<NaiveDate>, nullable)]
    pub expected_close_on: Option<Option<NaiveDate>>,
    #[garde(length(chars, min = 1, max = 500), custom(not_blank))]
    #[schema(min_length = 1, max_length = 500, pattern = r"[^\s\x00-\x1f\x7f-\x9f]")]
    pub lost_reason: Option<String>,
    /// The `version` last read; when given, a stale write answers 409.
    #[garde(range(max = rota::validate::MAX_VERSION))]
    pub version: Option<u64>,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "organisation_id": "01JSAMPLETENANT00000000000" }))]
pub struct ConvertDeal {
    /// The organisation it signed up as.
    #[garde(length(min = 1, max = 64))]
    #[schema(min_length = 1, max_length = 64)]
    pub organisation_id: String,
}

/// A lead with its history.
#[derive(Debug, Serialize, ToSchema)]
pub struct LeadDetail {
    #[serde(flatten)]
    pub lead: Lead,
    pub activities: Vec<Activity>,
}

/// A deal with its history.
#[derive(Debug, Serialize, ToSchema)]
pub struct DealDetail {
    #[serde(flatten)]
    pub deal: Deal,
    pub activities: Vec<Activity>,
    /// The organisation whose account has the contact's email, if one has: what a won deal
    /// converts to, once the prospect signed up.
    pub contact_organisation_id: Option<String>,
}

/// Every stage in order with its deals and their value.
#[derive(Debug, Serialize, ToSchema)]
pub struct Pipeline {
    pub stages: Vec<StageTotal>,
}

/// The platform admin acting, as an activity names them.
async fn me(state: &AppState, caller: &Caller) -> Result<Person, Error> {
    state.store.entity::<Person>(PLATFORM_TENANT, &caller.person_id).await?.ok_or(Error::NotFound)
}

fn audit(
    caller: &Caller,
    action: &str,
    entity: (&str, &str),
    before: Option<&impl Serialize>,
    after: Option<&impl Serialize>,
    at: &str,
) -> AuditEntry {
    AuditEntry::new(&caller.actor(), action, entity, before, after, at)
}

/// Leads, newest first (platform admins): optionally in one status, from one source, of one
/// address.
#[utoipa::path(get, path = "/admin/crm/leads", tag = "crm", security(("bearer" = ["platform.manage"])),
    params(LeadsQuery),
    responses((status = 200, description = "A page of leads", body = Page<Lead>)))]
pub async fn list_leads(
    State(state): State<AppState>,
    caller: Caller,
    ValidQuery(query): ValidQuery<LeadsQuery>,
) -> Result<Json<Page<Lead>>, Error> {
    caller.require(Permission::PlatformManage)?;
    let email = query.email.map(|email| email.trim().to_lowercase());
    let page =
        state.store.leads(query.status, query.source, email.as_deref(), query.limit, query.cursor.as_deref()).await?;
    Ok(Json(page))
}

/// Enters a lead by hand (platform admins).
#[utoipa::path(post, path = "/admin/crm/leads", tag = "crm", security(("bearer" = ["platform.manage"])),
    request_body = NewLead,
    responses((status = 201, description = "The lead", body = Lead)))]
pub async fn create_lead(
    State(state): State<AppState>,
    caller: Caller,
    ValidJson(request): ValidJson<NewLead>,
) -> Result<(StatusCode, Json<Lead>), Error> {
    caller.require(Permission::PlatformManage)?;
    let now = Now::get();
    let email = request.email.trim().to_lowercase();
    let lead = Lead {
        organisation: trimmed(request.organisation),
        phone: trimmed(request.phone),
        message: trimmed(request.message),
        ..Lead::new(LeadSource::Manual, request.name.trim().to_owned(), email, &now.iso)
    };
    let entry = audit(&caller, "crm.lead_created", ("lead", &lead.id), None::<&Lead>, Some(&lead), &now.iso);
    // Round trip 1: the lead and its audit entry.
    state.store.create(&lead, &entry, Vec::new()).await?.map_err(|_| Error::Conflict("the lead exists already"))?;
    Ok((StatusCode::CREATED, Json(lead)))
}

/// A lead with its activities, oldest first (platform admins).
#[utoipa::path(get, path = "/admin/crm/leads/{lead_id}", tag = "crm", security(("bearer" = ["platform.manage"])),
    params(("lead_id" = String, Path)),
    responses(
        (status = 200, description = "The lead and its history", body = LeadDetail),
        (status = 404, description = "No such lead", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_lead(
    State(state): State<AppState>,
    caller: Caller,
    Path(lead_id): Path<String>,
) -> Result<Json<LeadDetail>, Error> {
    caller.require(Permission::PlatformManage)?;
    let (lead, activities) = state.store.with_activities::<Lead>(&lead_id).await?.ok_or(Error::NotFound)?;
    Ok(Json(LeadDetail { lead, activities }))
}

/// Updates a lead: its status, name, organisation or phone (platform admins).
#[utoipa::path(patch, path = "/admin/crm/leads/{lead_id}", tag = "crm", security(("bearer" = ["platform.manage"])),
    params(("lead_id" = String, Path)), request_body = LeadChange,
    responses(
        (status = 200, description = "The lead as it is now", body = Lead),
        (status = 404, description = "No such lead", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Changed by someone else since `version`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update_lead(
    State(state): State<AppState>,
    caller: Caller,
    Path(lead_id): Path<String>,
    ValidJson(change): ValidJson<LeadChange>,
) -> Result<Json<Lead>, Error> {
    caller.require(Permission::PlatformManage)?;
    // Round trip 1: the lead as it is.
    let before = state.store.entity::<Lead>(PLATFORM_TENANT, &lead_id).await?.ok_or(Error::NotFound)?;
    unchanged_since(change.version, &before)?;
    let mut after = before.clone();
    if let Some(status) = change.status {
        after.status = status;
    }
    if let Some(name) = change.name {
        after.name = name.trim().to_owned();
    }
    if let Some(organisation) = change.organisation {
        after.organisation = trimmed(organisation);
    }
    if let Some(phone) = change.phone {
        after.phone = trimmed(phone);
    }
    let now = Now::get();
    after.touch(&now.iso);
    let entry = audit(&caller, "crm.lead_updated", ("lead", &lead_id), Some(&before), Some(&after), &now.iso);
    // Round trip 2: the lead, if nobody changed it since, and its audit entry.
    state.store.update(&after, before.version, &entry, Vec::new()).await?.map_err(|_| Error::Conflict(Lead::STALE))?;
    Ok(Json(after))
}

/// Logs a note, call, email or meeting on a lead (platform admins).
#[utoipa::path(post, path = "/admin/crm/leads/{lead_id}/activities", tag = "crm", security(("bearer" = ["platform.manage"])),
    params(("lead_id" = String, Path)), request_body = NewActivity,
    responses(
        (status = 201, description = "The activity", body = Activity),
        (status = 404, description = "No such lead", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn log_lead_activity(
    State(state): State<AppState>,
    caller: Caller,
    Path(lead_id): Path<String>,
    ValidJson(request): ValidJson<NewActivity>,
) -> Result<(StatusCode, Json<Activity>), Error> {
    log_activity::<Lead>(&state, &caller, &lead_id, request).await
}

/// Logs a note, call, email or meeting on a deal (platform admins).
#[utoipa::path(post, path = "/admin/crm/deals/{deal_id}/activities", tag = "crm", security(("bearer" = ["platform.manage"])),
    params(("deal_id" = String, Path)), request_body = NewActivity,
    responses(
        (status = 201, description = "The activity", body = Activity),
        (status = 404, description = "No such deal", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn log_deal_activity(
    State(state): State<AppState>,
    caller: Caller,
    Path(deal_id): Path<String>,
    ValidJson(request): ValidJson<NewActivity>,
) -> Result<(StatusCode, Json<Activity>), Error> {
    log_activity::<Deal>(&state, &caller, &deal_id, request).await
}

async fn log_activity<T: Entity>(
    state: &AppState,
    caller: &Caller,
    record_id: &str,
    request: NewActivity,
) -> Result<(StatusCode, Json<Activity>), Error> {
    caller.require(Permission::PlatformManage)?;
    // Round trip 1: who logs it.
    let me = me(state, caller).await?;
    let activity =
        Activity::new(record_id, request.kind, request.body.trim().to_owned(), (&me.id, &me.name), &Now::get().iso);
    // Round trip 2: the activity, if its record exists.
    if !state.store.log_activity::<T>(&activity).await? {
        return Err(Error::NotFound);
    }
    Ok((StatusCode::CREATED, Json(activity)))
}

/// Deals, newest first (platform admins): optionally at one stage.
#[utoipa::path(get, path = "/admin/crm/deals", tag = "crm", security(("bearer" = ["platform.manage"])),
    params(DealsQuery),
    responses((status = 200, description = "A page of deals", body = Page<Deal>)))]
pub async fn list_deals(
    State(state): State<AppState>,
    caller: Caller,
    ValidQuery(query): ValidQuery<DealsQuery>,
) -> Result<Json<Page<Deal>>, Error> {
    caller.require(Permission::PlatformManage)?;
    Ok(Json(state.store.deals(query.stage, query.limit, query.cursor.as_deref()).await?))
}

/// Opens a deal at `new`, from a lead (which becomes `qualified`) or from a contact given here
/// (platform admins). It counts in the pipeline from now.
#[utoipa::path(post, path = "/admin/crm/deals", tag = "crm", security(("bearer" = ["platform.manage"])),
    request_body = NewDeal,
    responses(
        (status = 201, description = "The deal", body = Deal),
        (status = 404, description = "No such lead", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The lead has a deal already, or changed meanwhile", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No lead and no contact", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_deal(
    State(state): State<AppState>,
    caller: Caller,
    ValidJson(request): ValidJson<NewDeal>,
) -> Result<(StatusCode, Json<Deal>), Error> {
    caller.require(Permission::PlatformManage)?;
    // Round trip 1, in parallel: the lead and who opens the deal.
    let (lead, me) = tokio::try_join!(
        async {
            match &request.lead_id {
                Some(id) => state.store.entity::<Lead>(PLATFORM_TENANT, id).await?.ok_or(Error::NotFound).map(Some),
                None => Ok(None),
            }
        },
        me(&state, &caller),
    )?;
    if lead.as_ref().is_some_and(|lead| lead.deal_id.is_some()) {
        return Err(Error::Conflict("the lead has a deal already"));
    }
    let required = |given: Option<String>, of_lead: Option<String>, field: &str| {
        given
            .map(|text| text.trim().to_owned())
            .or(of_lead)
            .ok_or_else(|| Error::field(field, "is required without lead_id"))
    };
    let contact_name = required(request.contact_name, lead.as_ref().map(|lead| lead.name.clone()), "contact_name")?;
    let contact_email = required(
        request.contact_email.map(|email| email.to_lowercase()),
        lead.as_ref().map(|lead| lead.email.clone()),
        "contact_email",
    )?;
    let organisation = required(
        request.organisation,
        lead.as_ref().map(|lead| lead.organisation.clone().unwrap_or_else(|| lead.name.clone())),
        "organisation",
    )?;
    let now = Now::get();
    let deal = Deal {
        id: ulid::Ulid::new().to_string(),
        tenant_id: PLATFORM_TENANT.to_owned(),
        title: request.title.trim().to_owned(),
        stage: Stage::New,
        value_minor: request.value_minor,
        currency: request.currency,
        contact_name,
        contact_email,
        organisation,
        lead_id: lead.as_ref().map(|lead| lead.id.clone()),
        expected_close_on: request.expected_close_on.map(|date| date.to_string()),
        lost_reason: None,
        closed_at: None,
        organisation_id: None,
        converted_at: None,
        version: 1,
        created_at: now.iso.clone(),
        updated_at: now.iso.clone(),
    };
    let opened = format!("Deal opened: {}", deal.title);
    let mut more = vec![state.store.activity_put(&Activity::new(
        &deal.id,
        ActivityKind::DealOpened,
        opened.clone(),
        (&me.id, &me.name),
        &now.iso,
    ))?];
    more.extend(state.store.pipeline_change(None, Some((&deal).into()))?);
    if let Some(before) = &lead {
        let mut after = Lead { status: LeadStatus::Qualified, deal_id: Some(deal.id.clone()), ..before.clone() };
        after.touch(&now.iso);
        more.push(state.store.entity_put(&after, Some(before.version))?);
        more.push(state.store.activity_put(&Activity::new(
            &before.id,
            ActivityKind::DealOpened,
            opened,
            (&me.id, &me.name),
            &now.iso,
        ))?);
    }
    let entry = audit(&caller, "crm.deal_opened", ("deal", &deal.id), None::<&Deal>, Some(&deal), &now.iso);
    // Round trip 2: the deal, its audit entry and first activity, the pipeline, and the lead
    // qualified if nobody changed it since it was read.
    match state.store.create(&deal, &entry, more).await? {
        Ok(()) => Ok((StatusCode::CREATED, Json(deal))),
        Err(Refused(_)) => Err(Error::Conflict("the lead changed meanwhile; reload and retry")),
    }
}

/// A deal with its activities, oldest first (platform admins).
#[utoipa::path(get, path = "/admin/crm/deals/{deal_id}", tag = "crm", security(("bearer" = ["platform.manage"])),
    params(("deal_id" = String, Path)),
    responses(
        (status = 200, description = "The deal and its history", body = DealDetail),
        (status = 404, description = "No such deal", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_deal(
    State(state): State<AppState>,
    caller: Caller,
    Path(deal_id): Path<String>,
) -> Result<Json<DealDetail>, Error> {
    caller.require(Permission::PlatformManage)?;
    // Round trip 1: the deal and its activities.
    let (deal, activities) = state.store.with_activities::<Deal>(&deal_id).await?.ok_or(Error::NotFound)?;
    // Round trip 2: the contact's account, if any.
    let claim = state.store.email_claim(&deal.contact_email).await?;
    let contact_organisation_id = claim.map(|claim| claim.tenant_id).filter(|id| id != PLATFORM_TENANT);
    Ok(Json(DealDetail { deal, activities, contact_organisation_id }))
}

/// Moves a deal through the pipeline or changes its title, value or expected close (platform
/// admins). A change of stage is logged on the deal; the pipeline's totals move with it.
#[utoipa::path(patch, path = "/admin/crm/deals/{deal_id}", tag = "crm", security(("bearer" = ["platform.manage"])),
    params(("deal_id" = String, Path)), request_body = DealChange,
    responses(
        (status = 200, description = "The deal as it is now", body = Deal),
        (status = 404, description = "No such deal", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A won deal stays won, or it changed since `version`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`lost` without `lost_reason`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update_deal(
    State(state): State<AppState>,
    caller: Caller,
    Path(deal_id): Path<String>,
    ValidJson(change): ValidJson<DealChange>,
) -> Result<Json<Deal>, Error> {
    caller.require(Permission::PlatformManage)?;
    // Round trip 1, in parallel: the deal and who changes it.
    let (deal, me) = tokio::try_join!(state.store.entity::<Deal>(PLATFORM_TENANT, &deal_id), me(&state, &caller))?;
    let before = deal.ok_or(Error::NotFound)?;
    unchanged_since(change.version, &before)?;
    let now = Now::get();
    let mut after = before.clone();
    if let Some(title) = change.title {
        after.title = title.trim().to_owned();
    }
    if let Some(value_minor) = change.value_minor {
        after.value_minor = value_minor;
    }
    if let Some(currency) = change.currency {
        after.currency = currency;
    }
    if let Some(expected_close_on) = change.expected_close_on {
        after.expected_close_on = expected_close_on.map(|date| date.to_string());
    }
    let mut more = Vec::new();
    if let Some(stage) = change.stage.filter(|&stage| stage != before.stage) {
        if before.stage == Stage::Won {
            return Err(Error::Conflict("a won deal stays won"));
        }
        after.stage = stage;
        after.closed_at = stage.is_closed().then(|| now.iso.clone());
        let moved = format!("{} → {}", before.stage.as_str(), stage.as_str());
        more.push(state.store.activity_put(&Activity::new(
            &deal_id,
            ActivityKind::StageChanged,
            moved,
            (&me.id, &me.name),
            &now.iso,
        ))?);
    }
    match (after.stage, change.lost_reason) {
        (Stage::Lost, Some(reason)) => after.lost_reason = Some(reason.trim().to_owned()),
        (Stage::Lost, None) if after.lost_reason.is_none() => {
            return Err(Error::field("lost_reason", "is required to mark a deal lost"));
        }
        (Stage::Lost, None) => {}
        (_, Some(_)) => return Err(Error::field("lost_reason", "is only for a deal marked lost")),
        (_, None) => after.lost_reason = None,
    }
    more.extend(state.store.pipeline_change(Some((&before).into()), Some((&after).into()))?);
    after.touch(&now.iso);
    let entry = audit(&caller, "crm.deal_updated", ("deal", &deal_id), Some(&before), Some(&after), &now.iso);
    // Round trip 2: the deal if nobody changed it since, its audit entry, the stage's activity
    // and the pipeline's move.
    state.store.update(&after, before.version, &entry, more).await?.map_err(|_| Error::Conflict(Deal::STALE))?;
    Ok(Json(after))
}

/// Converts a won deal to the organisation it signed up as (platform admins; the deal's
/// `contact_organisation_id` names the one whose account has the contact's email). Logged on the
/// deal; the organisation's deals are listed under it.
#[utoipa::path(post, path = "/admin/crm/deals/{deal_id}/convert", tag = "crm", security(("bearer" = ["platform.manage"])),
    params(("deal_id" = String, Path)), request_body = ConvertDeal,
    responses(
        (status = 200, description = "The deal, with its organisation", body = Deal),
        (status = 404, description = "No such deal", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The deal is not won, is converted already, or changed meanwhile", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`organisation_id` is no organisation", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn convert_deal(
    State(state): State<AppState>,
    caller: Caller,
    Path(deal_id): Path<String>,
    ValidJson(request): ValidJson<ConvertDeal>,
) -> Result<Json<Deal>, Error> {
    caller.require(Permission::PlatformManage)?;
    // Round trip 1, in parallel: the deal, the organisation and who converts it.
    let (deal, tenant, me) = tokio::try_join!(
        state.store.entity::<Deal>(PLATFORM_TENANT, &deal_id),
        state.store.tenant(&request.organisation_id),
        me(&state, &caller),
    )?;
    let before = deal.ok_or(Error::NotFound)?;
    let tenant = tenant
        .filter(|tenant| tenant.id != PLATFORM_TENANT)
        .ok_or_else(|| Error::field("organisation_id", "is no organisation"))?;
    if before.stage != Stage::Won {
        return Err(Error::Conflict("only a won deal is converted"));
    }
    if before.organisation_id.is_some() {
        return Err(Error::Conflict("the deal is converted already"));
    }
    let now = Now::get();
    let mut after =
        Deal { organisation_id: Some(tenant.id.clone()), converted_at: Some(now.iso.clone()), ..before.clone() };
    after.touch(&now.iso);
    let note = format!("Converted to {} ({})", tenant.name, tenant.id);
    let converted = Activity::new(&deal_id, ActivityKind::Converted, note, (&me.id, &me.name), &now.iso);
    let entry = audit(&caller, "crm.deal_converted", ("deal", &deal_id), Some(&before), Some(&after), &now.iso);
    // Round trip 2: the deal if nobody changed it since, its audit entry and activity.
    let more = vec![state.store.activity_put(&converted)?];
    state.store.update(&after, before.version, &entry, more).await?.map_err(|_| Error::Conflict(Deal::STALE))?;
    Ok(Json(after))
}

/// The pipeline: every stage in order, with its deals and their value per currency (platform
/// admins).
#[utoipa::path(get, path = "/admin/crm/pipeline", tag = "crm", security(("bearer" = ["platform.manage"])),
    responses((status = 200, description = "Deals and value per stage", body = Pipeline)))]
pub async fn pipeline(State(state): State<AppState>, caller: Caller) -> Result<Json<Pipeline>, Error> {
    caller.require(Permission::PlatformManage)?;
    Ok(Json(Pipeline { stages: state.store.pipeline().await? }))
}
