//! The `Caller` extractor: the verified identity behind a request. The tenant always comes from
//! here, never from the client.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use crate::http::{ClientIp, RequestId, bearer_token};
use crate::store::audit::Actor;
use crate::{AppState, Error};

#[derive(Debug, Clone)]
pub struct Caller {
    pub tenant_id: String,
    pub person_id: String,
    pub role: crate::auth::Role,
    /// The refresh session (device) the access token was issued for.
    pub session_id: String,
    /// This session passed two-factor authentication.
    pub mfa: bool,
    /// The caller's role must have passed it before acting above staff (see [`Caller::require`]).
    pub mfa_enforced: bool,
    /// What the caller may do: their role's set and their permission set's.
    pub permissions: crate::auth::permissions::Permissions,
    /// Where the caller may act: their locations and units (open: everywhere).
    pub scope: crate::auth::Scope,
    /// The request being served and the client's address: what an audit entry records.
    pub request_id: String,
    pub ip: Option<String>,
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        let token = bearer_token(&parts.headers).ok_or(Error::Unauthorized("a Bearer access token is required"))?;
        let claims = state.keys.verify(token)?;
        let Ok(RequestId(request_id)) = RequestId::from_request_parts(parts, state).await;
        let Ok(ClientIp(ip)) = ClientIp::from_request_parts(parts, state).await;
        Ok(Self {
            tenant_id: claims.tenant_id,
            person_id: claims.sub,
            role: claims.role,
            session_id: claims.sid,
            mfa: claims.mfa,
            mfa_enforced: claims.mfa_enforced,
            permissions: claims
                .perms
                .map_or_else(|| claims.role.permissions(), crate::auth::permissions::Permissions::from_bits),
            scope: claims.scope.unwrap_or_default(),
            request_id,
            ip,
        })
    }
}

impl Caller {
    /// The caller as the actor of a change, for its audit entry.
    pub fn actor(&self) -> Actor {
        Actor {
            tenant_id: self.tenant_id.clone(),
            person_id: self.person_id.clone(),
            request_id: self.request_id.clone(),
            ip: self.ip.clone(),
        }
    }
}
