//! A worker's own schedule: their upcoming and past shifts.

use axum::Json;
use axum::extract::State;
use chrono::Utc;
use rota::auth::Caller;
use rota::clock::instant;
use rota::http::ValidQuery;
use rota::store::page::Page;
use rota::store::schedule::Assignment;
use rota::{AppState, Error};
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum When {
    /// Not yet ended, soonest first.
    Upcoming,
    /// Started before now, latest first.
    Past,
}

rota::list_query! {
    pub struct MyShiftsQuery {
        /// `upcoming` by default.
        #[garde(skip)]
        #[param(inline)]
        pub when: Option<When>,
    }
}

/// Own assignments on published (and cancelled) shifts, with each shift's times, location and
/// position: upcoming ones soonest first, past ones latest first. One Query of the person's
/// index.
#[utoipa::path(get, path = "/me/shifts", tag = "scheduling", security(("bearer" = [])), params(MyShiftsQuery),
    responses((status = 200, description = "A page of your assignments", body = Page<Assignment>)))]
pub async fn my_shifts(
    State(state): State<AppState>,
    caller: Caller,
    ValidQuery(query): ValidQuery<MyShiftsQuery>,
) -> Result<Json<Page<Assignment>>, Error> {
    let now = Utc::now();
    // A shift that started up to a day ago may still be on: its end decides.
    let (range, ends_after, newest_first) = match query.when.unwrap_or(When::Upcoming) {
        When::Upcoming => ((Some(instant(now - chrono::Duration::days(1))), None), Some(instant(now)), false),
        When::Past => ((None, Some(instant(now))), None, true),
    };
    let page = state
        .store
        .person_assignments(
            &caller.tenant_id,
            &caller.person_id,
            (range.0.as_deref(), range.1.as_deref()),
            ends_after.as_deref(),
            newest_first,
            query.limit,
            query.cursor.as_deref(),
        )
        .await?;
    Ok(Json(page))
}
