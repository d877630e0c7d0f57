//! The organisations as the platform admin sees them.

use axum::Json;
use axum::extract::{Path, State};
use chrono::Datelike;
use garde::Validate;
use rota::auth::{Caller, Permission, Role};
use rota::clock::Now;
use rota::error::Problem;
use rota::http::{PageQuery, ValidJson, ValidQuery};
use rota::store::audit::AuditEntry;
use rota::store::links::{LinkKind, PendingInvitation, new_link};
use rota::store::page::Page;
use rota::store::people::Person;
use rota::store::platform::PLATFORM_TENANT;
use rota::store::tenants::{SuspendedFor, Tenant, TenantStatus};
use rota::{AppState, Error};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// An organisation, with its counters.
#[derive(Debug, Serialize, ToSchema)]
pub struct TenantOverview {
    pub id: String,
    pub name: String,
    pub status: TenantStatus,
    /// Why Rota suspended it (an overdue payment); absent when the platform did or it is active.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suspended_for: Option<SuspendedFor>,
    /// People who are not deactivated (invited or active).
    pub people_count: i64,
    pub message_credits: i64,
    pub created_at: String,
}

impl From<Tenant> for TenantOverview {
    fn from(tenant: Tenant) -> Self {
        Self {
            id: tenant.id,
            name: tenant.name,
            status: tenant.status,
            suspended_for: tenant.suspended_for,
            people_count: tenant.people_count,
            message_credits: tenant.message_credits,
            created_at: tenant.created_at,
        }
    }
}

/// Every organisation, newest first.
#[utoipa::path(get, path = "/admin/tenants", tag = "platform", security(("bearer" = ["platform.manage"])), params(PageQuery),
    responses((status = 200, description = "A page of organisations", body = Page<TenantOverview>)))]
pub async fn list_tenants(
    State(state): State<AppState>,
    caller: Caller,
    ValidQuery(query): ValidQuery<PageQuery>,
) -> Result<Json<Page<TenantOverview>>, Error> {
    caller.require(Permission::PlatformManage)?;
    let page = state.store.tenants(query.limit, query.cursor.as_deref()).await?;
    Ok(Json(Page { items: page.items.into_iter().map(Into::into).collect(), next_cursor: page.next_cursor }))
}

/// An organisation's owner, as the operator contacts them.
#[derive(Debug, Serialize, ToSchema)]
pub struct Contact {
    pub person_id: String,
    pub name: String,
    pub email: String,
    pub phone: Option<String>,
}

/// What an organisation used in a month (UTC).
#[derive(Debug, Serialize, ToSchema)]
pub struct TenantUsage {
    /// `yyyy-mm`.
    pub month: String,
    /// People who are not deactivated (now).
    pub active_people: i64,
    /// Events running on a day of the month.
    pub events: i64,
    /// Check-ins to shifts starting in the month.
    pub check_ins: i64,
    /// Credits of the plan's monthly messages used this month; more come off `message_credits`.
    pub plan_messages_used: i64,
    pub message_credits: i64,
    pub webhook_endpoints: i64,
}

/// An organisation as the operator looks into it: its plan, its use this month and whom to call.
#[derive(Debug, Serialize, ToSchema)]
pub struct TenantDetail {
    #[serde(flatten)]
    pub organisation: TenantOverview,
    pub time_zone: String,
    pub currency: String,
    pub subscription: Option<rota::store::billing::Subscription>,
    pub usage: TenantUsage,
    /// Its active owners.
    pub contacts: Vec<Contact>,
}

/// One organisation: its plan, this month's usage (people, events, check-ins, messages) and its
/// owners' contacts. One round trip: the organisation, its owners and the month's counts, in
/// parallel (the counts are DynamoDB's, a page per 1 MB of the month's records).
#[utoipa::path(get, path = "/admin/tenants/{tenant_id}", tag = "platform", security(("bearer" = ["platform.manage"])),
    params(("tenant_id" = String, Path)),
    responses(
        (status = 200, description = "The organisation", body = TenantDetail),
        (status = 404, description = "No such organisation", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_tenant(
    State(state): State<AppState>,
    caller: Caller,
    Path(tenant_id): Path<String>,
) -> Result<Json<TenantDetail>, Error> {
    caller.require_platform_over(&tenant_id)?;
    let today = chrono::Utc::now().date_naive();
    let first = today.with_day(1).ok_or_else(|| Error::internal("a month has a first day"))?;
    let next = first.checked_add_months(chrono::Months::new(1)).ok_or_else(|| Error::internal("a month follows"))?;
    let last = next.pred_opt().ok_or_else(|| Error::internal("a month has a last day"))?;
    let (days, instants) =
        ((first.to_string(), last.to_string()), (format!("{first}T00:00:00Z"), format!("{next}T00:00:00Z")));
    // Round trip 1, in parallel.
    let (tenant, owners, (events, check_ins)) = tokio::try_join!(
        state.store.tenant(&tenant_id),
        state.store.active_owners(&tenant_id),
        state.store.usage_counts(&tenant_id, (&days.0, &days.1), (&instants.0, &instants.1)),
    )?;
    let tenant = tenant.ok_or(Error::NotFound)?;
    let month = first.format("%Y-%m").to_string();
    let plan_messages_used =
        if tenant.messages_month.as_deref() == Some(month.as_str()) { tenant.messages_used } else { 0 };
    let usage = TenantUsage {
        month,
        active_people: tenant.people_count,
        events,
        check_ins,
        plan_messages_used,
        message_credits: tenant.message_credits,
        webhook_endpoints: tenant.webhook_endpoints,
    };
    let contacts = owners
        .into_iter()
        .map(|owner| Contact { person_id: owner.id, name: owner.name, email: owner.email, phone: owner.phone })
        .collect();
    Ok(Json(TenantDetail {
        time_zone: tenant.time_zone.clone(),
        currency: tenant.currency.clone(),
        subscription: tenant.subscription.clone(),
        organisation: tenant.into(),
        usage,
        contacts,
    }))
}

/// Suspends an organisation: its people cannot log in, refresh or accept invitations until it is
/// reactivated (their sessions then resume). One that Rota suspended for an overdue payment is
/// taken over: paying no longer reactivates it.
#[utoipa::path(post, path = "/admin/tenants/{tenant_id}/suspend", tag = "platform", security(("bearer" = ["platform.manage"])),
    params(("tenant_id" = String, Path)),
    responses(
        (status = 200, description = "Suspended (or suspended already)", body = TenantOverview),
        (status = 404, description = "No such organisation", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn suspend_tenant(
    State(state): State<AppState>,
    caller: Caller,
    Path(tenant_id): Path<String>,
) -> Result<Json<TenantOverview>, Error> {
    set_status(&state, &caller, &tenant_id, TenantStatus::Suspended).await
}

/// Reactivates a suspended organisation.
#[utoipa::path(post, path = "/admin/tenants/{tenant_id}/activate", tag = "platform", security(("bearer" = ["platform.manage"])),
    params(("tenant_id" = String, Path)),
    responses(
        (status = 200, description = "Active (or active already)", body = TenantOverview),
        (status = 404, description = "No such organisation", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn activate_tenant(
    State(state): State<AppState>,
    caller: Caller,
    Path(tenant_id): Path<String>,
) -> Result<Json<TenantOverview>, Error> {
    set_status(&state, &caller, &tenant_id, TenantStatus::Active).await
}

async fn set_status(
    state: &AppState,
    caller: &Caller,
    tenant_id: &str,
    status: TenantStatus,
) -> Result<Json<TenantOverview>, Error> {
    caller.require_platform_over(tenant_id)?;
    // Round trip 1: the organisation as it is.
    let before = state.store.tenant(tenant_id).await?.ok_or(Error::NotFound)?;
    // Suspending what Rota suspended for payment takes it over: a payment then does not lift it.
    if before.status == status && before.suspended_for.is_none() {
        return Ok(Json(before.into()));
    }
    let now = Now::get();
    let after = Tenant { status, suspended_for: None, updated_at: now.iso.clone(), ..before.clone() };
    let action = match status {
        TenantStatus::Suspended => "tenant.suspended",
        TenantStatus::Active => "tenant.activated",
    };
    // The entry goes into the organisation's own log: its admins see who did it.
    let mut actor = caller.actor();
    actor.tenant_id = tenant_id.to_owned();
    let audit = AuditEntry::new(&actor, action, ("tenant", tenant_id), Some(&before), Some(&after), &now.iso);
    // Round trip 2: the status and its audit entry.
    state.store.set_tenant_status(tenant_id, status, &audit).await?;
    Ok(Json(after.into()))
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "amount": 1000 }))]
pub struct GrantCredits {
    /// Messages to add to the balance.
    #[garde(range(min = 1, max = 1_000_000))]
    #[schema(minimum = 1, maximum = 1_000_000)]
    pub amount: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreditBalance {
    pub tenant_id: String,
    pub message_credits: i64,
}

/// Grants an organisation message credits (an entry of its ledger); answers the new balance.
#[utoipa::path(post, path = "/admin/tenants/{tenant_id}/credits", tag = "platform", security(("bearer" = ["platform.manage"])),
    params(("tenant_id" = String, Path)), request_body = GrantCredits,
    responses(
        (status = 200, description = "The new balance", body = CreditBalance),
        (status = 404, description = "No such organisation", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn grant_credits(
    State(state): State<AppState>,
    caller: Caller,
    Path(tenant_id): Path<String>,
    ValidJson(request): ValidJson<GrantCredits>,
) -> Result<Json<CreditBalance>, Error> {
    caller.require_platform_over(&tenant_id)?;
    let message_credits = state.store.grant_credits(&tenant_id, request.amount, &caller.person_id).await?;
    tracing::info!(tenant_id, amount = request.amount, granted_by = caller.person_id, "message credits granted");
    Ok(Json(CreditBalance { tenant_id, message_credits }))
}

#[derive(Debug, Serialize, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "tax_rate_bp": 2000 }))]
pub struct TaxRate {
    /// The tax rate Rota's invoices to the organisation include, in basis points (2000 = 20 %;
    /// 0 for none, e.g. a reverse charge).
    #[garde(range(max = 10_000))]
    #[schema(maximum = 10000)]
    pub tax_rate_bp: u32,
}

/// Sets the tax rate of an organisation's invoices, as its jurisdiction has it (audited in the
/// organisation's log). Invoices issued from now on use it; issued ones keep theirs.
#[utoipa::path(put, path = "/admin/tenants/{tenant_id}/tax-rate", tag = "platform", security(("bearer" = ["platform.manage"])),
    params(("tenant_id" = String, Path)), request_body = TaxRate,
    responses(
        (status = 200, description = "The rate as kept", body = TaxRate),
        (status = 404, description = "No such organisation", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn set_tax_rate(
    State(state): State<AppState>,
    caller: Caller,
    Path(tenant_id): Path<String>,
    ValidJson(request): ValidJson<TaxRate>,
) -> Result<Json<TaxRate>, Error> {
    caller.require_platform_over(&tenant_id)?;
    let mut actor = caller.actor();
    actor.tenant_id.clone_from(&tenant_id);
    let audit = AuditEntry::new(
        &actor,
        "tenant.tax_rate_set",
        ("tenant", &tenant_id),
        None::<&TaxRate>,
        Some(&request),
        &Now::get().iso,
    );
    // Round trip 1: the rate and its audit entry.
    state.store.set_tax_rate(&tenant_id, request.tax_rate_bp, &audit).await?;
    Ok(Json(request))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PlatformStats {
    pub tenants: i64,
    pub active_tenants: i64,
    /// People who are not deactivated, across every organisation.
    pub people: i64,
    /// `yyyy-mm`, UTC.
    pub month: String,
    pub messages_sent_this_month: i64,
}

/// The platform's figures.
#[utoipa::path(get, path = "/admin/stats", tag = "platform", security(("bearer" = ["platform.manage"])),
    responses((status = 200, description = "Counts across every organisation", body = PlatformStats)))]
pub async fn platform_stats(State(state): State<AppState>, caller: Caller) -> Result<Json<PlatformStats>, Error> {
    caller.require(Permission::PlatformManage)?;
    let month = Now::get().iso[..7].to_owned();
    // Round trip 1: the tenant counters and the month's count, in parallel.
    let (totals, messages_sent_this_month) = tokio::try_join!(state.store.totals(), state.store.messages_sent(&month))?;
    Ok(Json(PlatformStats {
        tenants: totals.tenants,
        active_tenants: totals.active_tenants,
        people: totals.people,
        month,
        messages_sent_this_month,
    }))
}

/// Invites a platform admin (creating the platform's own organisation the first time) and
/// returns their invitation link. For the ops command only: the API never creates one.
pub async fn create_platform_admin(state: &AppState, email: &str) -> Result<String, Error> {
    let email = email.trim().to_lowercase();
    let now = Now::get();
    // The operator may know: the invitation could never be accepted.
    if state.store.email_claim(&email).await?.is_some() {
        return Err(Error::Conflict("this email belongs to someone already"));
    }
    let platform = Tenant::new(PLATFORM_TENANT.to_owned(), "Rota platform".to_owned(), &now.iso);
    match state.store.create_tenant(&platform).await {
        Ok(()) | Err(Error::Conflict(_)) => {}
        Err(error) => return Err(error),
    }
    let person = Person::invited(
        ulid::Ulid::new().to_string(),
        PLATFORM_TENANT.to_owned(),
        email.clone(),
        email.clone(),
        Role::PlatformAdmin,
        &now.iso,
    );
    let (link, token) = new_link(LinkKind::Invitation, PLATFORM_TENANT, &person.id, &email, now.epoch);
    let pending = PendingInvitation {
        email: email.clone(),
        person_id: person.id.clone(),
        invitation_hash: Some(link.token_hash.clone()),
    };
    let actor = rota::store::audit::Actor {
        tenant_id: PLATFORM_TENANT.to_owned(),
        person_id: "ops".to_owned(),
        request_id: "platform-admin command".to_owned(),
        ip: None,
    };
    let audit =
        AuditEntry::new(&actor, "person.invited", ("person", &person.id), None::<&Person>, Some(&person), &now.iso);
    let more = vec![
        state.store.invitation_put(PLATFORM_TENANT, &pending)?,
        state.store.link_put(&link)?,
        state.store.people_count_change(PLATFORM_TENANT, 1)?,
    ];
    if state.store.create(&person, &audit, more).await?.is_err() {
        return Err(Error::Conflict("this email belongs to someone already"));
    }
    Ok(format!("{}/accept-invitation?token={token}", state.config.app_url.trim_end_matches('/')))
}
