//! What the organisation's records share: the list query of archivable records, the versioned
//! change with its audit entry, archiving, and a transaction's refusal as HTTP.

use crate::auth::Caller;
use crate::clock::Now;
use crate::store::audit::AuditEntry;
use crate::store::entities::{Archivable, Entity, Filter, Refused};
use crate::store::s;
use crate::{AppState, Error};
use axum::http::StatusCode;

crate::list_query! {
    pub struct ArchiveFilter {
        /// Also list archived records.
        #[garde(skip)]
        pub include_archived: Option<bool>,
    }
}

impl ArchiveFilter {
    pub fn filter(&self) -> Filter {
        archive_filter(self.include_archived)
    }
}

/// Leaves archived records out of a list, unless `include_archived` is `Some(true)`.
pub fn archive_filter(include_archived: Option<bool>) -> Filter {
    match include_archived {
        Some(true) => Filter::default(),
        _ => Filter::default().and(
            "(attribute_not_exists(archived_at) OR attribute_type(archived_at, :null))",
            ("", ""),
            (":null", s("NULL")),
        ),
    }
}

/// Writes a change of `before` (as read in round trip 1): refuses a stale `version`, applies
/// `change`, and writes the new version with its audit entry `{KIND}.{verb}`, only if nobody
/// changed the record meanwhile (round trip 2).
pub async fn save<T: Entity>(
    state: &AppState,
    caller: &Caller,
    before: T,
    version: Option<u64>,
    verb: &str,
    change: impl FnOnce(&mut T) -> Result<(), Error>,
) -> Result<T, Error> {
    if version.is_some_and(|version| version != before.version()) {
        return Err(Error::Conflict(T::STALE));
    }
    let now = Now::get();
    let mut after = before.clone();
    change(&mut after)?;
    after.touch(&now.iso);
    let action = format!("{}.{verb}", T::KIND);
    let audit = AuditEntry::new(&caller.actor(), &action, (T::KIND, after.id()), Some(&before), Some(&after), &now.iso);
    committed(state.store.update(&after, before.version(), &audit, Vec::new()).await?)?;
    Ok(after)
}

/// Archives the record `id` of type `T` with its audit entry, when `may` allows it as read: 204,
/// also when it was archived already (nothing changes then).
pub async fn archived<T: Archivable>(
    state: &AppState,
    caller: &Caller,
    id: &str,
    may: impl FnOnce(&T) -> Result<(), Error>,
) -> Result<StatusCode, Error> {
    // Round trip 1: the record as it is.
    let before: T = state.store.entity(&caller.tenant_id, id).await?.ok_or(Error::NotFound)?;
    may(&before)?;
    if before.archived() {
        return Ok(StatusCode::NO_CONTENT);
    }
    // Round trip 2: archived with its audit entry, if nobody changed it meanwhile.
    let at = Now::get().iso;
    save(state, caller, before, None, "archived", |record| {
        record.archive(&at);
        Ok(())
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The record as the caller last read it: `expected` (a request's `version`, when it gives one) is
/// still the stored version, else 409.
pub fn unchanged_since<T: Entity>(expected: Option<u64>, record: &T) -> Result<(), Error> {
    match expected {
        Some(version) if version != record.version() => Err(Error::Conflict(T::STALE)),
        _ => Ok(()),
    }
}

/// A transaction refused for a reason the caller did not foresee: someone changed something at
/// the same time.
pub fn committed(result: Result<(), Refused>) -> Result<(), Error> {
    result.map_err(|_| Error::Conflict("something this change depends on was changed at the same time; retry"))
}
