//! The message credit packs the platform sells (platform admins): so many credits for a price,
//! bought by an organisation's owner with `POST /billing/credits`. A pack is never deleted: one
//! no longer sold is retired, and the purchases that name it keep their description.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use garde::Validate;
use rota::auth::{Caller, Permission};
use rota::clock::Now;
use rota::domain::settings;
use rota::error::Problem;
use rota::http::ValidJson;
use rota::records::committed;
use rota::store::audit::AuditEntry;
use rota::store::credits::CreditPack;
use rota::store::entities::Entity;
use rota::{AppState, Error};
use serde::Deserialize;
use utoipa::ToSchema;

/// The least a pack costs: Stripe's smallest charge in the currencies it lists is around 50
/// minor units (a smaller one is refused when bought).
const LEAST_PRICE: i64 = 50;

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "name": "1,000 messages", "credits": 1000, "price_minor": 2500, "currency": "EUR" }))]
pub struct NewCreditPack {
    #[garde(length(chars, min = 1, max = 100), custom(rota::validate::not_blank))]
    #[schema(min_length = 1, max_length = 100, pattern = r"[^\s\x00-\x1f\x7f-\x9f]")]
    pub name: String,
    /// The messages it pays for.
    #[garde(range(min = 1, max = 1_000_000))]
    #[schema(minimum = 1, maximum = 1000000)]
    pub credits: u32,
    /// Its price in minor units (cents), tax included; at least 50.
    #[garde(range(min = LEAST_PRICE, max = 100_000_000))]
    #[schema(minimum = 50, maximum = 100000000)]
    pub price_minor: i64,
    /// ISO 4217, e.g. `EUR`.
    #[garde(custom(settings::currency))]
    #[schema(pattern = "^[A-Z]{3}$")]
    pub currency: String,
}

/// A change of a pack: only the fields given change; purchases made keep what they paid. Its
/// currency is fixed (a pack in another currency is another pack).
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "price_minor": 2200 }))]
pub struct CreditPackChange {
    #[garde(inner(length(chars, min = 1, max = 100), custom(rota::validate::not_blank)))]
    #[schema(min_length = 1, max_length = 100, pattern = r"[^\s\x00-\x1f\x7f-\x9f]")]
    pub name: Option<String>,
    #[garde(inner(range(min = 1, max = 1_000_000)))]
    #[schema(minimum = 1, maximum = 1000000)]
    pub credits: Option<u32>,
    #[garde(inner(range(min = LEAST_PRICE, max = 100_000_000)))]
    #[schema(minimum = 50, maximum = 100000000)]
    pub price_minor: Option<i64>,
    /// `true`: no longer sold; `false`: sold again.
    #[garde(skip)]
    pub retired: Option<bool>,
    /// The `version` last read; when given, a stale write answers 409.
    #[garde(range(max = rota::validate::MAX_VERSION))]
    pub version: Option<u64>,
}

/// Every credit pack, retired ones included, oldest first.
#[utoipa::path(get, path = "/admin/credit-packs", tag = "platform", security(("bearer" = ["platform.manage"])),
    responses((status = 200, description = "The credit packs", body = Vec<CreditPack>)))]
pub async fn list_packs(State(state): State<AppState>, caller: Caller) -> Result<Json<Vec<CreditPack>>, Error> {
    caller.require(Permission::PlatformManage)?;
    Ok(Json(state.store.credit_packs().await?))
}

/// Adds a credit pack for organisations to buy.
#[utoipa::path(post, path = "/admin/credit-packs", tag = "platform", security(("bearer" = ["platform.manage"])),
    request_body = NewCreditPack,
    responses((status = 201, description = "The new pack", body = CreditPack)))]
pub async fn create_pack(
    State(state): State<AppState>,
    caller: Caller,
    ValidJson(request): ValidJson<NewCreditPack>,
) -> Result<(StatusCode, Json<CreditPack>), Error> {
    caller.require(Permission::PlatformManage)?;
    let now = Now::get();
    let pack = CreditPack {
        id: ulid::Ulid::new().to_string(),
        tenant_id: CreditPack::OWNER.to_owned(),
        name: request.name.trim().to_owned(),
        credits: request.credits,
        price_minor: request.price_minor,
        currency: request.currency,
        retired: false,
        version: 1,
        created_at: now.iso.clone(),
        updated_at: now.iso.clone(),
    };
    let audit = AuditEntry::new(
        &caller.actor(),
        "credit_pack.created",
        ("credit_pack", &pack.id),
        None::<&CreditPack>,
        Some(&pack),
        &now.iso,
    );
    committed(state.store.create(&pack, &audit, Vec::new()).await?)?;
    Ok((StatusCode::CREATED, Json(pack)))
}

/// Changes a pack's name, credits or price, or retires it.
#[utoipa::path(patch, path = "/admin/credit-packs/{pack_id}", tag = "platform", security(("bearer" = ["platform.manage"])),
    params(("pack_id" = String, Path)), request_body = CreditPackChange,
    responses(
        (status = 200, description = "The pack as changed", body = CreditPack),
        (status = 404, description = "No such pack", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Changed meanwhile (`version`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update_pack(
    State(state): State<AppState>,
    caller: Caller,
    Path(pack_id): Path<String>,
    ValidJson(change): ValidJson<CreditPackChange>,
) -> Result<Json<CreditPack>, Error> {
    caller.require(Permission::PlatformManage)?;
    // Round trip 1: the pack.
    let before = state.store.entity::<CreditPack>(CreditPack::OWNER, &pack_id).await?.ok_or(Error::NotFound)?;
    if change.version.is_some_and(|version| version != before.version) {
        return Err(Error::Conflict(CreditPack::STALE));
    }
    let mut after = before.clone();
    if let Some(name) = change.name {
        after.name = name.trim().to_owned();
    }
    after.credits = change.credits.unwrap_or(after.credits);
    after.price_minor = change.price_minor.unwrap_or(after.price_minor);
    after.retired = change.retired.unwrap_or(after.retired);
    let now = Now::get();
    after.touch(&now.iso);
    let audit = AuditEntry::new(
        &caller.actor(),
        "credit_pack.updated",
        ("credit_pack", &after.id),
        Some(&before),
        Some(&after),
        &now.iso,
    );
    // Round trip 2: the pack with its audit entry, if it is still the one read.
    committed(state.store.update(&after, before.version, &audit, Vec::new()).await?)?;
    Ok(Json(after))
}
