//! `GET /audit-logs`: who changed what, when, from where (owners and admins).

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use rota::auth::{Caller, Permission};
use rota::clock::iso;
use rota::http::ValidQuery;
use rota::store::audit::{AuditEntry, AuditQuery};
use rota::store::page::Page;
use rota::{AppState, Error};

rota::list_query! {
    pub struct AuditLogQuery {
        /// Changes made by this person.
        #[garde(length(min = 1, max = 64))]
        #[param(min_length = 1, max_length = 64)]
        pub actor_id: Option<String>,
        /// `tenant`, `location`, `position`, `unit`, `person`, …
        #[garde(length(min = 1, max = 64))]
        #[param(min_length = 1, max_length = 64)]
        pub entity_type: Option<String>,
        /// The history of one record.
        #[garde(length(min = 1, max = 64))]
        #[param(min_length = 1, max_length = 64)]
        pub entity_id: Option<String>,
        /// e.g. `person.updated`.
        #[garde(length(min = 1, max = 64))]
        #[param(min_length = 1, max_length = 64)]
        pub action: Option<String>,
        /// From this instant (inclusive).
        #[garde(custom(rota::validate::in_years))]
        #[param(value_type = Option<String>, format = DateTime)]
        pub from: Option<DateTime<Utc>>,
        /// Until this instant (exclusive).
        #[garde(custom(rota::validate::in_years))]
        #[param(value_type = Option<String>, format = DateTime)]
        pub to: Option<DateTime<Utc>>,
    }
}

/// The organisation's audit log, newest first (admins). One query on the narrowest key the
/// filters allow: a record's history, an actor's, or the whole log.
#[utoipa::path(get, path = "/audit-logs", tag = "organisation", security(("bearer" = ["audit.read"])), params(AuditLogQuery),
    responses((status = 200, description = "A page of audit entries", body = Page<AuditEntry>)))]
pub async fn list_audit_logs(
    State(state): State<AppState>,
    caller: Caller,
    ValidQuery(query): ValidQuery<AuditLogQuery>,
) -> Result<Json<Page<AuditEntry>>, Error> {
    caller.require(Permission::AuditRead)?;
    if let (Some(from), Some(to)) = (query.from, query.to)
        && from > to
    {
        return Err(Error::field("to", "must not be before `from`"));
    }
    let filter = AuditQuery {
        actor_id: query.actor_id,
        entity_type: query.entity_type,
        entity_id: query.entity_id,
        action: query.action,
        from: query.from.map(iso),
        to: query.to.map(iso),
    };
    let page = state.store.audit_entries(&caller.tenant_id, filter, query.limit, query.cursor.as_deref()).await?;
    Ok(Json(page))
}
