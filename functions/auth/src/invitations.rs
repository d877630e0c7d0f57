//! `POST /auth/invitations/accept`: an invited person sets their password and is logged in.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use garde::Validate;
use rota::auth::password;
use rota::clock::Now;
use rota::error::Problem;
use rota::http::{ClientIp, RequestId, ValidJson};
use rota::store::audit::{Actor, AuditEntry};
use rota::store::entities::{Entity, Refused};
use rota::store::links::{INVITATION_USE_CLAIM, LinkKind, token_ids};
use rota::store::people::{Credential, EmailClaim, Person, PersonStatus};
use rota::store::tenants::TenantStatus;
use rota::{AppState, Error};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::tokens::{TokenDelivery, TokenPair, issue, new_session};

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptInvitation {
    /// The `token` of the emailed link (`…/accept-invitation?token=…`).
    #[garde(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    pub token: String,
    #[garde(length(chars, min = 12, max = 128))]
    #[schema(min_length = 12, max_length = 128)]
    pub password: String,
    /// Where the refresh token goes; by default the cookie for browsers, the body otherwise.
    #[garde(skip)]
    pub token_delivery: Option<TokenDelivery>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Accepted {
    pub me: Person,
    pub tokens: TokenPair,
}

/// Accepts an invitation: sets the password, makes the person active, claims their address
/// platform-wide and logs them in. The link works once, for 72 hours, and only the newest one
/// sent to the person works. An address that has an account already (it joined another
/// organisation since the invitation) cannot accept: `409`.
#[utoipa::path(post, path = "/auth/invitations/accept", tag = "auth", request_body = AcceptInvitation,
    responses(
        (status = 201, description = "Active and logged in", body = Accepted),
        (status = 403, description = "The organisation is suspended (`tenant_suspended`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No invitation waits for this token: wrong, used, replaced by a newer one, revoked or expired", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The address has a Rota account already (with another organisation): one address belongs to one organisation", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn accept_invitation(
    State(state): State<AppState>,
    RequestId(request_id): RequestId,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    ValidJson(request): ValidJson<AcceptInvitation>,
) -> Result<(StatusCode, HeaderMap, Json<Accepted>), Error> {
    let (tenant_id, person_id) = token_ids(&request.token).ok_or(Error::NotFound)?;
    let (tenant_key, person_key) = (tenant_id.to_string(), person_id.to_string());
    let now = Now::get();
    // Round trip 1: the link, the person and the organisation, in parallel.
    let (link, person, tenant) = tokio::try_join!(
        state.store.link(&request.token, LinkKind::Invitation, now.epoch),
        state.store.entity::<Person>(&tenant_key, &person_key),
        state.store.tenant(&tenant_key),
    )?;
    let (Some(link), Some(before), Some(tenant)) = (link, person, tenant) else { return Err(Error::NotFound) };
    if link.person_id != before.id || before.status != PersonStatus::Invited {
        return Err(Error::NotFound);
    }
    if tenant.status != TenantStatus::Active {
        return Err(Error::TenantSuspended);
    }
    let password_hash = password::hash(request.password).await?;
    let mut after = Person { status: PersonStatus::Active, joined_at: Some(now.iso.clone()), ..before.clone() };
    after.touch(&now.iso);
    let claim = EmailClaim::of(&after);
    let credential = Credential::new(&claim, password_hash);
    let (mut session, refresh) = new_session(tenant_id, person_id, after.role, &headers, &now);
    session.permission_set_id = after.permission_set_id.clone();
    session.scope = after.scope.clone();
    let actor = Actor { tenant_id: tenant_key, person_id: person_key, request_id, ip };
    let audit = AuditEntry::new(
        &actor,
        "person.accepted_invitation",
        ("person", &after.id),
        Some(&before),
        Some(&after),
        &now.iso,
    );
    let mut more = state.store.invitation_use(&link, &claim, &credential, now.epoch)?;
    more.push(state.store.session_put(&session)?);
    // Round trip 2: the person active, the link and the invitation used up, the address claimed
    // with the credential and the first session, in one transaction (the person and the audit
    // entry come first); and the permissions of the person's set, if they were given one.
    let (written, granted) = tokio::try_join!(
        state.store.update(&after, before.version, &audit, more),
        state.store.granted(&after.tenant_id, after.permission_set_id.as_deref()),
    )?;
    match written {
        Ok(()) => {}
        Err(Refused(failed))
            if !failed.is_empty() && failed.iter().all(|at| INVITATION_USE_CLAIM.contains(&at.wrapping_sub(2))) =>
        {
            return Err(Error::Conflict(
                "this address has a Rota account already, with another organisation; log in with it, or ask to be invited at another address",
            ));
        }
        Err(Refused(_)) => return Err(Error::NotFound),
    }
    let delivery = TokenDelivery::choose(request.token_delivery, &state, &headers, false);
    let (cookie, tokens) =
        issue(&state, &session, &refresh, &now, delivery, (tenant.settings.require_admin_mfa, granted))?;
    Ok((StatusCode::CREATED, cookie, Json(Accepted { me: after, tokens })))
}
