//! The weekly-hours warnings the scheduled check stores: who is near (90 %) or over their cap in
//! a week, for coordinators.

use axum::Json;
use axum::extract::State;
use chrono::{Datelike, Days, NaiveDate, Utc};
use garde::Validate;
use rota::auth::{Caller, Permission};
use rota::domain::time::local_date;
use rota::http::ValidQuery;
use rota::store::hours::HoursWarning;
use rota::{AppState, Error};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Deserialize, Validate, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct WeekQuery {
    /// Any day of the week, on the organisation's calendar; the current week when omitted.
    #[garde(custom(rota::validate::in_years))]
    #[param(value_type = Option<String>, format = Date, example = "2030-07-01")]
    pub week: Option<NaiveDate>,
}

/// A week's warnings.
#[derive(Debug, Serialize, ToSchema)]
pub struct HoursWarnings {
    /// The week's first day (the organisation's `week_start`).
    #[schema(value_type = String, format = Date)]
    pub week: NaiveDate,
    /// Over the cap first, then near it; by name.
    pub items: Vec<HoursWarning>,
}

/// Who is near (90 %) or over their weekly hours cap — worked plus still scheduled, against their
/// own cap or the organisation's — in a week, as the hourly check last found them (coordinators
/// and up).
#[utoipa::path(get, path = "/hours-warnings", tag = "scheduling", security(("bearer" = ["schedule.write"])),
    params(WeekQuery),
    responses((status = 200, description = "The week's warnings", body = HoursWarnings)))]
pub async fn hours_warnings(
    State(state): State<AppState>,
    caller: Caller,
    ValidQuery(query): ValidQuery<WeekQuery>,
) -> Result<Json<HoursWarnings>, Error> {
    caller.require(Permission::ScheduleWrite)?;
    // Round trip 1: the organisation's calendar.
    let tenant = state.store.tenant(&caller.tenant_id).await?.ok_or(Error::NotFound)?;
    let day = query
        .week
        .unwrap_or_else(|| tenant.zone().map_or_else(|_| Utc::now().date_naive(), |zone| local_date(Utc::now(), zone)));
    let into_week = day.weekday().days_since(tenant.week_start.into());
    let week =
        day.checked_sub_days(Days::new(u64::from(into_week))).ok_or_else(|| Error::field("week", "is out of range"))?;
    // Round trip 2: the week's warnings.
    let mut items = state.store.hours_warnings(&caller.tenant_id, &week.to_string()).await?;
    // A week holds one warning a person at most: read whole, those beyond the caller's units left out.
    items.retain(|warning| caller.scope.sees_unit(warning.unit_id.as_deref()));
    items.sort_by(HoursWarning::reading_order);
    Ok(Json(HoursWarnings { week, items }))
}
