//! The platform admin's help with an organisation user's account, on the organisation's word:
//! their sessions (listed, or all ended) and their two-factor authentication (reset when the
//! phone is lost). Each is audited in the organisation's own log and mailed to the person. Here,
//! in the auth function, because sessions and 2FA live in the secrets table only it reaches.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use rota::auth::Caller;
use rota::clock::Now;
use rota::error::Problem;
use rota::notify::{Envelope, Message};
use rota::store::audit::AuditEntry;
use rota::store::people::Person;
use rota::store::sessions::Session;
use rota::{AppState, Error};

use crate::sessions::{SessionList, SessionView};

/// A person's live device sessions, newest first (platform admins).
#[utoipa::path(get, path = "/admin/tenants/{tenant_id}/people/{person_id}/sessions", tag = "platform", security(("bearer" = ["platform.manage"])),
    params(("tenant_id" = String, Path), ("person_id" = String, Path)),
    responses(
        (status = 200, description = "Their sessions", body = SessionList),
        (status = 404, description = "No such person in that organisation", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn person_sessions(
    State(state): State<AppState>,
    caller: Caller,
    Path((tenant_id, person_id)): Path<(String, String)>,
) -> Result<Json<SessionList>, Error> {
    caller.require_platform_over(&tenant_id)?;
    // Round trip 1: the person and their sessions, in parallel.
    let (person, sessions) = tokio::try_join!(
        state.store.entity::<Person>(&tenant_id, &person_id),
        state.store.sessions_of(&tenant_id, &person_id, Now::get().epoch),
    )?;
    person.ok_or(Error::NotFound)?;
    let items = sessions.into_iter().map(|session| SessionView::of(session, None)).collect();
    Ok(Json(SessionList { items }))
}

/// Ends every session of a person (platform admins): a lost or shared device is signed out at
/// its next refresh. Audited in the organisation's log; the person is mailed.
#[utoipa::path(delete, path = "/admin/tenants/{tenant_id}/people/{person_id}/sessions", tag = "platform", security(("bearer" = ["platform.manage"])),
    params(("tenant_id" = String, Path), ("person_id" = String, Path)),
    responses(
        (status = 204, description = "Every session ended"),
        (status = 404, description = "No such person in that organisation", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn end_person_sessions(
    State(state): State<AppState>,
    caller: Caller,
    Path((tenant_id, person_id)): Path<(String, String)>,
) -> Result<StatusCode, Error> {
    caller.require_platform_over(&tenant_id)?;
    let now = Now::get();
    // Round trip 1: the person and their sessions.
    let (person, sessions) = tokio::try_join!(
        state.store.entity::<Person>(&tenant_id, &person_id),
        state.store.sessions_of(&tenant_id, &person_id, now.epoch),
    )?;
    let person = person.ok_or(Error::NotFound)?;
    let audit = audited(&caller, &person, "sessions.ended_by_platform", &now.iso);
    // Round trip 2: every session ended, and audited.
    tokio::try_join!(end_all(&state, &person, &sessions, &now.iso), async {
        state.store.transact(vec![state.store.audit_put(&audit)?]).await.map(drop)
    },)?;
    tell(&state, &person, false).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Resets a person's two-factor authentication (platform admins), when they lost the phone that
/// made their codes: 2FA goes off and every session ends; they set it up again at their next
/// login (which their organisation may require). Audited in the organisation's log; the person
/// is mailed.
#[utoipa::path(post, path = "/admin/tenants/{tenant_id}/people/{person_id}/reset-2fa", tag = "platform", security(("bearer" = ["platform.manage"])),
    params(("tenant_id" = String, Path), ("person_id" = String, Path)),
    responses(
        (status = 204, description = "2FA is off and every session ended"),
        (status = 404, description = "No such person in that organisation", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Their 2FA is not on", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn reset_person_2fa(
    State(state): State<AppState>,
    caller: Caller,
    Path((tenant_id, person_id)): Path<(String, String)>,
) -> Result<StatusCode, Error> {
    caller.require_platform_over(&tenant_id)?;
    let now = Now::get();
    // Round trip 1: the person with their enrolment, and their sessions.
    let ((person, enrolment), sessions) = tokio::try_join!(
        state.store.person_and_enrolment(&tenant_id, &person_id),
        state.store.sessions_of(&tenant_id, &person_id, now.epoch),
    )?;
    let person = person.ok_or(Error::NotFound)?;
    if enrolment.is_none_or(|enrolment| enrolment.secret.is_none()) {
        return Err(Error::Conflict("their two-factor authentication is not on"));
    }
    let audit = audited(&caller, &person, "mfa.reset_by_platform", &now.iso);
    // Round trip 2: the enrolment gone with the credential's flag and the audit entry (only
    // while 2FA is on), and the sessions ended, in parallel.
    let (reset, ()) =
        tokio::try_join!(state.store.reset_mfa(&person, &audit), end_all(&state, &person, &sessions, &now.iso))?;
    if !reset {
        return Err(Error::Conflict("their two-factor authentication changed meanwhile; check again"));
    }
    tell(&state, &person, true).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Every session of `person` ended: on the person (what refresh checks, so a session the index
/// has not listed yet ends too), and the listed ones deleted.
async fn end_all(state: &AppState, person: &Person, sessions: &[Session], now: &str) -> Result<(), Error> {
    let tenant_id = &person.tenant_id;
    tokio::try_join!(state.store.end_sessions_until(tenant_id, &person.id, now), state.store.delete_sessions(sessions))
        .map(drop)
}

/// The audit entry, in the organisation's own log: its admins see who acted.
fn audited(caller: &Caller, person: &Person, action: &str, now: &str) -> AuditEntry {
    let mut actor = caller.actor();
    actor.tenant_id.clone_from(&person.tenant_id);
    AuditEntry::new(&actor, action, ("person", &person.id), None::<&Person>, None::<&Person>, now)
}

async fn tell(state: &AppState, person: &Person, two_factor_reset: bool) -> Result<(), Error> {
    let message = Message::AccountSecured { two_factor_reset };
    state.outbox.send(&Envelope::to_person(&person.tenant_id, &person.id, message)).await
}
