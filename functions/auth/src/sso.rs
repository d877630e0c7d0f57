//! Single sign-on with OpenID Connect: Google Workspace, Microsoft Entra ID, Okta or any OIDC
//! provider. An owner sets the providers up (`PUT /tenant/sso`); a person's sign-in starts with
//! their email (`POST /auth/oidc/start`, which names the provider of its domain and a nonce), goes
//! to the provider in the browser, and ends with the provider's ID token
//! (`POST /auth/oidc/callback`), checked against the provider's published keys, for Rota's own
//! tokens as a password login gives.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, PoisonError};
use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use garde::Validate;
use jsonwebtoken::jwk::JwkSet;
use rand_core::{OsRng, RngCore};
use rota::auth::oidc::{self, Refused, SignedIn};
use rota::auth::permissions::Permissions;
use rota::auth::{Caller, Permission};
use rota::clock::Now;
use rota::error::Problem;
use rota::http::{ClientIp, RequestId, ValidJson};
use rota::outbound::Outbound;
use rota::store::audit::{Actor, AuditEntry};
use rota::store::entities::{Entity, Refused as Declined};
use rota::store::people::{EmailClaim, Login, OrganisationRole, Person, PersonStatus};
use rota::store::sso::{
    CHALLENGE_LABEL, PENDING_SECS, PasswordLogin, PendingSignIn, Provider, ProviderKind, SsoSettings, VerifiedDomain,
};
use rota::{AppState, Error};
use serde::{Deserialize, Serialize};
use ulid::Ulid;
use utoipa::ToSchema;

use crate::limits::Attempt;
use crate::login::{LoginResponse, waiting_for_code};
use crate::tokens::{TokenDelivery, issue, new_session};

const NOT_SIGNED_IN: Error = Error::Unauthorized("the identity provider's answer does not sign anyone in to Rota");
const NO_ACCOUNT: Error =
    Error::Unauthorized("no one in the organisation has this address; ask an admin to add you, then sign in again");
const EXPIRED: Error = Error::Unauthorized("this sign-in has expired or was used; start again");

/// How long a provider's keys are kept. A token signed with a key not among them fetches them
/// again at once (the provider rotated its keys), but only once a minute: a stream of made-up key
/// ids cannot make Rota call the provider for each.
const KEYS_FOR_SECS: i64 = 60 * 60;
const REFETCH_AFTER_SECS: i64 = 60;

struct Cached {
    keys: Arc<JwkSet>,
    fetched_at: i64,
    /// Fetched for a key the kept ones did not have.
    for_unknown_key: bool,
}

/// Each provider's signing keys, by issuer, per warm Lambda.
static KEYS: LazyLock<Mutex<HashMap<String, Cached>>> = LazyLock::new(Mutex::default);

/// The issuer's keys: the kept ones while fresh, else from its discovery document's `jwks_uri`.
/// For a key the kept ones lack (`unknown_key`), fetched again unless that was done for an
/// unknown key within the last minute.
async fn provider_keys(issuer: &str, now: i64, unknown_key: bool) -> Result<Arc<JwkSet>, Error> {
    if let Some(keys) = kept(issuer, now, unknown_key) {
        return Ok(keys);
    }
    #[derive(Deserialize)]
    struct Discovery {
        issuer: String,
        jwks_uri: String,
    }
    let discovery: Discovery = fetch_json(&format!("{issuer}/.well-known/openid-configuration")).await?;
    if discovery.issuer != issuer {
        tracing::warn!(issuer, named = discovery.issuer, "the discovery document names another issuer");
        return Err(Error::IdentityProviderUnavailable);
    }
    let keys = Arc::new(fetch_json::<JwkSet>(&discovery.jwks_uri).await?);
    let cached = Cached { keys: keys.clone(), fetched_at: now, for_unknown_key: unknown_key };
    KEYS.lock().unwrap_or_else(PoisonError::into_inner).insert(issuer.to_owned(), cached);
    Ok(keys)
}

/// The issuer's kept keys, if they are to be used rather than fetched (see [`provider_keys`]).
fn kept(issuer: &str, now: i64, unknown_key: bool) -> Option<Arc<JwkSet>> {
    let cache = KEYS.lock().unwrap_or_else(PoisonError::into_inner);
    let cached = cache.get(issuer)?;
    let age = now - cached.fetched_at;
    let usable = if unknown_key { cached.for_unknown_key && age < REFETCH_AFTER_SECS } else { age < KEYS_FOR_SECS };
    usable.then(|| cached.keys.clone())
}

async fn fetch_json<T: serde::de::DeserializeOwned>(url: &str) -> Result<T, Error> {
    let unavailable = |reason: String| {
        tracing::warn!(url, reason, "identity provider unavailable");
        Error::IdentityProviderUnavailable
    };
    let outbound = Outbound::new("the identity provider's URL", url, Duration::from_secs(5)).map_err(unavailable)?;
    let answer = outbound.get("").await.map_err(|error| unavailable(error.0))?;
    if answer.status != 200 {
        return Err(unavailable(format!("status {}", answer.status)));
    }
    serde_json::from_slice(&answer.body).map_err(|error| unavailable(error.to_string()))
}

/// Checks `token` against the provider's keys, fetching them again once for a key not seen yet
/// (the provider rotated its keys).
async fn signed_in(pending: &PendingSignIn, token: &str, nonce: &str, now: i64) -> Result<SignedIn, Error> {
    let provider = &pending.provider;
    let refused = |refused: Refused| {
        tracing::info!(issuer = provider.issuer, %refused, "an ID token was refused");
        NOT_SIGNED_IN
    };
    oidc::key_of(token).map_err(refused)?;
    let check = |keys: &JwkSet| oidc::verify(token, keys, &provider.issuer, &provider.client_id, nonce, now);
    let first = check(&*provider_keys(&provider.issuer, now, false).await?);
    let result = match first {
        Err(Refused::UnknownKey) => check(&*provider_keys(&provider.issuer, now, true).await?),
        other => other,
    };
    result.map_err(refused)
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProviderRequest {
    #[garde(skip)]
    pub kind: ProviderKind,
    /// `https://` (or `http://` to a loopback address, for a local issuer).
    #[garde(length(min = 8, max = 300), custom(issuer_url))]
    #[schema(min_length = 8, max_length = 300)]
    pub issuer: String,
    #[garde(length(chars, min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    pub client_id: String,
    /// Email domains (`harbour.example`); at most 20 over all providers.
    #[garde(length(min = 1, max = 20), inner(length(max = 253), custom(domain_name)))]
    #[schema(min_items = 1, max_items = 20)]
    pub allowed_domains: Vec<String>,
    #[garde(skip)]
    #[serde(default)]
    pub auto_provision: bool,
    /// `staff` unless set; never `owner`.
    #[garde(skip)]
    pub default_role: Option<OrganisationRole>,
}

fn issuer_url(issuer: &str, _: &()) -> garde::Result {
    Outbound::new("issuer", issuer, Duration::from_secs(1))
        .map(drop)
        .map_err(|_| garde::Error::new("must be an https:// URL (http:// only to a loopback address)"))?;
    if issuer.ends_with('/') || issuer.contains(['?', '#']) {
        return Err(garde::Error::new("must be the issuer exactly, without a trailing slash, query or fragment"));
    }
    Ok(())
}

fn domain_name<T: AsRef<str>>(domain: &T, _: &()) -> garde::Result {
    let labels: Vec<&str> = domain.as_ref().split('.').collect();
    let fits = labels.len() >= 2
        && labels.iter().all(|label| {
            (1..=63).contains(&label.len())
                && label.bytes().all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        });
    if fits { Ok(()) } else { Err(garde::Error::new("must be a lower-case domain name such as harbour.example")) }
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "providers": [{ "kind": "google", "issuer": "https://accounts.google.com",
    "client_id": "1234.apps.googleusercontent.com", "allowed_domains": ["harbour.example"], "auto_provision": true }],
    "password_login": "allowed" }))]
pub struct SsoRequest {
    #[garde(length(max = 5), dive)]
    #[schema(max_items = 5)]
    pub providers: Vec<ProviderRequest>,
    #[garde(skip)]
    #[serde(default)]
    pub password_login: PasswordLogin,
}

/// The organisation's single sign-on settings (owners and admins).
#[utoipa::path(get, path = "/tenant/sso", tag = "auth", security(("bearer" = ["integrations.read"])),
    responses((status = 200, description = "The providers and the password rule", body = SsoSettings)))]
pub async fn get_sso(State(state): State<AppState>, caller: Caller) -> Result<Json<SsoSettings>, Error> {
    caller.require(Permission::IntegrationsRead)?;
    // Round trip 1: the settings.
    Ok(Json(state.store.sso_settings(&caller.tenant_id).await?))
}

/// Sets the organisation's identity providers and whether people may still sign in with a
/// password (owners only; owners always may). A domain sends its people to its provider once the
/// organisation proves it owns it (`domain_verification`, then `POST
/// /tenant/sso/domains/{domain}/verify`); passwords can be turned off once a domain is proved.
/// Audited.
#[utoipa::path(put, path = "/tenant/sso", tag = "auth", security(("bearer" = ["integrations.manage"])), request_body = SsoRequest,
    responses(
        (status = 200, description = "The settings now", body = SsoSettings),
        (status = 409, description = "The settings changed at the same time", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid settings, naming the field", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn put_sso(
    State(state): State<AppState>,
    caller: Caller,
    ValidJson(request): ValidJson<SsoRequest>,
) -> Result<Json<SsoSettings>, Error> {
    caller.require(Permission::IntegrationsManage)?;
    let mut providers: Vec<Provider> = Vec::with_capacity(request.providers.len());
    for (index, provider) in request.providers.into_iter().enumerate() {
        let default_role = provider.default_role.unwrap_or(OrganisationRole::Staff);
        if default_role == OrganisationRole::Owner {
            return Err(Error::field(&format!("providers[{index}].default_role"), "must not be owner"));
        }
        let mut domains = provider.allowed_domains;
        domains.sort();
        domains.dedup();
        let id = Provider::id_of(&provider.issuer, &provider.client_id);
        if providers.iter().any(|other| other.id == id) {
            return Err(Error::field(&format!("providers[{index}].client_id"), "names the same provider twice"));
        }
        if let Some(taken) = domains.iter().find(|domain| providers.iter().any(|p| p.allowed_domains.contains(domain)))
        {
            let message = format!("`{taken}` is another provider's already");
            return Err(Error::field(&format!("providers[{index}].allowed_domains"), &message));
        }
        providers.push(Provider {
            id,
            kind: provider.kind,
            issuer: provider.issuer,
            client_id: provider.client_id,
            allowed_domains: domains,
            auto_provision: provider.auto_provision,
            default_role,
        });
    }
    if providers.iter().map(|provider| provider.allowed_domains.len()).sum::<usize>() > 20 {
        return Err(Error::field("providers", "at most 20 domains over all providers"));
    }
    // Round trip 1: the settings as they are.
    let before = state.store.sso_settings(&caller.tenant_id).await?;
    let now = Now::get();
    let mut after = SsoSettings {
        providers,
        password_login: request.password_login,
        updated_at: Some(now.iso.clone()),
        domain_verification: before.domain_verification.clone().or_else(|| Some(SsoSettings::new_verification())),
        verified_domains: Vec::new(),
    };
    // A domain stays proved while a provider still signs it in.
    after.verified_domains = before
        .verified_domains
        .iter()
        .filter(|verified| after.provider_of(&verified.domain).is_some())
        .cloned()
        .collect();
    if after.password_login == PasswordLogin::Disabled && after.verified_domains.is_empty() {
        return Err(Error::field(
            "password_login",
            "needs a proved domain whose people sign in through a provider instead (POST /tenant/sso/domains/{domain}/verify)",
        ));
    }
    let audit = AuditEntry::new(
        &caller.actor(),
        "sso.configured",
        ("tenant", &caller.tenant_id),
        Some(&before),
        Some(&after),
        &now.iso,
    );
    // Round trip 2: the settings, the proved domains' claims kept and given up, the password rule
    // and the audit entry, in one transaction.
    match state.store.put_sso_settings(&caller.tenant_id, &before, &after, &audit).await? {
        Ok(()) => Ok(Json(after)),
        // The domains' claims come first in the transaction.
        Err(Declined(failed)) if failed.iter().any(|position| *position < after.verified_domains.len()) => {
            Err(Error::Conflict("a domain signs in to another organisation already"))
        }
        Err(_) => Err(CHANGED_MEANWHILE),
    }
}

const CHANGED_MEANWHILE: Error = Error::Conflict("the organisation's settings changed at the same time; retry");

/// Proves that the organisation owns an email domain one of its providers signs in: Rota looks
/// up the TXT records of `_rota-challenge.{domain}` for the settings' `domain_verification`.
/// From then on the domain's people are sent to that provider and, if it says so, added at their
/// first sign-in; until then nobody is, and naming a domain holds it for nobody. A domain another
/// organisation proved first stays theirs (409). Owners; audited; proving a proved domain again
/// changes nothing.
#[utoipa::path(post, path = "/tenant/sso/domains/{domain}/verify", tag = "auth", security(("bearer" = ["integrations.manage"])),
    params(("domain" = String, Path, description = "A domain of one of the organisation's providers")),
    responses(
        (status = 200, description = "The settings, with the domain among `verified_domains`", body = SsoSettings),
        (status = 404, description = "None of the organisation's providers signs this domain in", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Another organisation proved the domain first, or the settings changed at the same time", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The TXT record is not there (yet): the problem names the record to publish", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`dns_unavailable`: the DNS resolver did not answer; try again", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn verify_domain(
    State(state): State<AppState>,
    caller: Caller,
    Path(domain): Path<String>,
) -> Result<Json<SsoSettings>, Error> {
    caller.require(Permission::IntegrationsManage)?;
    let domain = domain.trim().trim_end_matches('.').to_lowercase();
    // Round trip 1: the settings.
    let before = state.store.sso_settings(&caller.tenant_id).await?;
    let (Some(_), Some(expected)) = (before.provider_of(&domain), before.domain_verification.clone()) else {
        return Err(Error::NotFound);
    };
    if before.is_verified(&domain) {
        return Ok(Json(before));
    }
    let name = format!("{CHALLENGE_LABEL}.{domain}");
    let records = crate::dns::txt_records(&state.config.dns_api, &name).await?;
    if !records.iter().any(|record| record.trim() == expected) {
        let message = format!(
            "no TXT record \"{expected}\" at {name} yet (found {}); changes to DNS can take a few minutes to be seen",
            records.len()
        );
        return Err(Error::field("domain", &message));
    }
    let now = Now::get();
    let mut after = before.clone();
    after.verified_domains.push(VerifiedDomain { domain: domain.clone(), verified_at: now.iso.clone() });
    after.updated_at = Some(now.iso.clone());
    let audit = AuditEntry::new(
        &caller.actor(),
        "sso.domain_verified",
        ("tenant", &caller.tenant_id),
        Some(&before),
        Some(&after),
        &now.iso,
    );
    // Round trip 2: the domain claimed, the settings and the audit entry, in one transaction.
    match state.store.put_verified_domain(&caller.tenant_id, (&before, &after), &domain, &audit).await? {
        Ok(()) => Ok(Json(after)),
        Err(Declined(failed)) if failed.contains(&0) => {
            Err(Error::Conflict("another organisation proved this domain first; ask support if it is yours"))
        }
        Err(_) => Err(CHANGED_MEANWHILE),
    }
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "email": "sam@harbour.example" }))]
pub struct OidcStart {
    #[garde(length(chars, min = 3, max = 254))]
    #[schema(min_length = 3, max_length = 254)]
    pub email: String,
}

/// Where to sign in: a provider and the nonce its sign-in must carry, or `sso: false` (a password,
/// or a code by phone).
#[derive(Debug, Serialize, ToSchema)]
pub struct OidcStarted {
    pub sso: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<ProviderKind>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Send it as the authorisation request's `nonce`, and back with the ID token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// Seconds the sign-in may take (600).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<i64>,
}

/// Which identity provider signs in an email address: the one its domain belongs to, with a
/// nonce for the sign-in (used once, for 10 minutes). The answer depends on the domain only,
/// never on whether the address has an account.
#[utoipa::path(post, path = "/auth/oidc/start", tag = "auth", request_body = OidcStart,
    extensions(("x-rate-limit" = json!("30 per client address in 15 minutes"))),
    responses(
        (status = 200, description = "The provider and nonce, or `sso: false`", body = OidcStarted),
        (status = 429, description = "Too many sign-ins started from this client address", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn start(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ValidJson(request): ValidJson<OidcStart>,
) -> Result<Json<OidcStarted>, Error> {
    let email = request.email.trim().to_lowercase();
    let now = Now::get();
    let attempt = Attempt::sso_start(ip.as_deref());
    let domain_claim = async {
        match oidc::domain_of(&email) {
            Some(domain) => state.store.sso_domain(domain).await,
            None => Ok(None),
        }
    };
    // Round trip 1: the domain's organisation and provider (none for what is not an address),
    // and the start counted against its client's limit, in parallel.
    let (claim, counted) = tokio::try_join!(domain_claim, attempt.count(&state, now.epoch))?;
    if let Some(retry_after_secs) = counted.retry_after(now.epoch) {
        return Err(Error::RateLimited { retry_after_secs });
    }
    let Some(claim) = claim else {
        return Ok(Json(OidcStarted {
            sso: false,
            provider_id: None,
            kind: None,
            issuer: None,
            client_id: None,
            nonce: None,
            expires_in: None,
        }));
    };
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    let nonce = URL_SAFE_NO_PAD.encode(bytes);
    let pending =
        PendingSignIn { tenant_id: claim.tenant_id, provider: claim.provider, expires_at: now.epoch + PENDING_SECS };
    // Round trip 2: the sign-in under way.
    state.store.put_pending_sign_in(&nonce, &pending).await?;
    let provider = pending.provider;
    Ok(Json(OidcStarted {
        sso: true,
        provider_id: Some(provider.id),
        kind: Some(provider.kind),
        issuer: Some(provider.issuer),
        client_id: Some(provider.client_id),
        nonce: Some(nonce),
        expires_in: Some(PENDING_SECS),
    }))
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OidcCallback {
    /// The `provider_id` the start named.
    #[garde(length(min = 1, max = 64))]
    #[schema(min_length = 1, max_length = 64)]
    pub provider_id: String,
    /// The `nonce` the start gave.
    #[garde(length(min = 1, max = 100))]
    #[schema(min_length = 1, max_length = 100)]
    pub nonce: String,
    /// The provider's ID token (a JWT), from its token endpoint (code flow with PKCE) or its
    /// redirect.
    #[garde(length(min = 1, max = 16384))]
    #[schema(min_length = 1, max_length = 16384)]
    pub id_token: String,
    #[garde(skip)]
    pub token_delivery: Option<TokenDelivery>,
}

/// Signs in with the identity provider's ID token, as login does: the token must be the
/// provider's (its published keys, in their own algorithm), for Rota's client, fresh, answering
/// this sign-in's nonce (once), with a verified email of an allowed domain. The person is found by
/// that email in the organisation (or added, where the provider adds people); inactive people
/// are refused. A provider that asserts more than one factor (`amr: ["mfa"]`) stands in for
/// Rota's second factor; otherwise people with two-factor authentication on finish with a code.
#[utoipa::path(post, path = "/auth/oidc/callback", tag = "auth", request_body = OidcCallback,
    responses(
        (status = 200, description = "Signed in (a token pair), or a second factor is needed (`mfa_required`)", body = LoginResponse),
        (status = 401, description = "The token does not sign anyone in, or the sign-in expired or was used", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The organisation is suspended (`tenant_suspended`)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The identity provider's keys could not be read", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn callback(
    State(state): State<AppState>,
    RequestId(request_id): RequestId,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    ValidJson(request): ValidJson<OidcCallback>,
) -> Result<(HeaderMap, Json<LoginResponse>), Error> {
    let now = Now::get();
    let claimed = oidc::claimed_email(&request.id_token).unwrap_or_default();
    // Round trip 1: the sign-in under way taken (once), and the claimed address's account read
    // in parallel (trusted only once the token proves the address).
    let (pending, login) =
        tokio::try_join!(state.store.take_pending_sign_in(&request.nonce, now.epoch), state.store.login(&claimed))?;
    let pending = pending.filter(|pending| pending.provider.id == request.provider_id).ok_or(EXPIRED)?;
    // The provider's keys: kept per warm Lambda, not a round trip of Rota's.
    let signed_in = signed_in(&pending, &request.id_token, &request.nonce, now.epoch).await?;
    let allowed = oidc::domain_of(&signed_in.email)
        .is_some_and(|domain| pending.provider.allowed_domains.iter().any(|allowed| allowed == domain));
    if !allowed || signed_in.email != claimed {
        return Err(NOT_SIGNED_IN);
    }
    let delivery = TokenDelivery::choose(request.token_delivery, &state, &headers, false);
    match login {
        Some(Login { claim, credential }) => {
            if claim.tenant_id != pending.tenant_id || claim.status != PersonStatus::Active {
                return Err(NO_ACCOUNT);
            }
            let ids = (claim.tenant_id.parse::<Ulid>(), claim.person_id.parse::<Ulid>());
            let (Ok(tenant_id), Ok(person_id)) = ids else {
                return Err(Error::internal("an email claim with malformed ids"));
            };
            if credential.is_some_and(|credential| credential.mfa) && !signed_in.mfa {
                let (waiting, answer) = waiting_for_code(tenant_id, person_id, &now);
                // Round trip 2: the sign-in waiting for its second factor, and the organisation.
                let ((), tenant) =
                    tokio::try_join!(state.store.put_mfa_login(&waiting), state.store.tenant_gate(&claim.tenant_id))?;
                if !tenant.is_some_and(|tenant| tenant.is_active()) {
                    return Err(Error::TenantSuspended);
                }
                return Ok((HeaderMap::new(), Json(LoginResponse::MfaRequired(answer))));
            }
            let (mut session, refresh) = new_session(tenant_id, person_id, claim.role, &headers, &now);
            session.mfa = signed_in.mfa;
            session.permission_set_id = claim.permission_set_id.clone();
            session.scope = claim.scope.clone();
            // Round trip 2: the session, written only while the organisation is active, and its
            // 2FA rule and the person's permission set for the token.
            let (written, tenant, granted) = tokio::try_join!(
                state.store.put_session_if_active(&session),
                state.store.tenant_gate(&claim.tenant_id),
                state.store.granted(&claim.tenant_id, claim.permission_set_id.as_deref()),
            )?;
            let Some(tenant) = tenant.filter(|_| written) else { return Err(Error::TenantSuspended) };
            let (cookie, tokens) =
                issue(&state, &session, &refresh, &now, delivery, (tenant.require_admin_mfa, granted))?;
            Ok((cookie, Json(LoginResponse::Tokens(tokens))))
        }
        None => {
            // Round trip 2: an invitation waiting for the address in the provider's organisation,
            // and the organisation, active, with its 2FA rule.
            let (invitation, tenant) = tokio::try_join!(
                state.store.invitation(&pending.tenant_id, &signed_in.email),
                state.store.tenant_gate(&pending.tenant_id),
            )?;
            let Some(tenant) = tenant.filter(|tenant| tenant.is_active()) else { return Err(Error::TenantSuspended) };
            let tenant_id = pending.tenant_id.parse::<Ulid>().map_err(Error::internal)?;
            let actor = |person_id: &str| Actor {
                tenant_id: pending.tenant_id.clone(),
                person_id: person_id.to_owned(),
                request_id,
                ip,
            };
            let (session, refresh, granted) = match invitation {
                // Invited before the organisation turned single sign-on on: signing in through
                // the provider accepts the invitation, as its link would (no password is set).
                Some(invitation) => {
                    // Round trip 3 (the first sign-in of someone invited): the invited person.
                    let before = state.store.entity::<Person>(&pending.tenant_id, &invitation.person_id).await?;
                    let before = before.filter(|person| person.status == PersonStatus::Invited).ok_or(NO_ACCOUNT)?;
                    let mut after =
                        Person { status: PersonStatus::Active, joined_at: Some(now.iso.clone()), ..before.clone() };
                    after.touch(&now.iso);
                    let person_id = after.id.parse::<Ulid>().map_err(Error::internal)?;
                    let (mut session, refresh) = new_session(tenant_id, person_id, after.role, &headers, &now);
                    session.mfa = signed_in.mfa;
                    session.permission_set_id = after.permission_set_id.clone();
                    session.scope = after.scope.clone();
                    let audit = AuditEntry::new(
                        &actor(&after.id),
                        "person.accepted_invitation",
                        ("person", &after.id),
                        Some(&before),
                        Some(&after),
                        &now.iso,
                    );
                    let mut more = state.store.invitation_accepted_by_provider(
                        &after.tenant_id,
                        &invitation,
                        &EmailClaim::of(&after),
                    )?;
                    more.push(state.store.session_put(&session)?);
                    // Round trip 4: the person active, the invitation and its link used up, the
                    // address claimed and the first session, in one transaction; and the
                    // permissions of the set they were given, if any.
                    let (written, granted) = tokio::try_join!(
                        state.store.update(&after, before.version, &audit, more),
                        state.store.granted(&after.tenant_id, after.permission_set_id.as_deref()),
                    )?;
                    written.map_err(|_| NO_ACCOUNT)?;
                    (session, refresh, granted)
                }
                None if pending.provider.auto_provision => {
                    let person_id = Ulid::new();
                    let role = pending.provider.default_role;
                    let name = signed_in.email.split('@').next().unwrap_or_default().to_owned();
                    let mut person = Person::invited(
                        person_id.to_string(),
                        pending.tenant_id.clone(),
                        signed_in.email.clone(),
                        name,
                        role.into(),
                        &now.iso,
                    );
                    person.status = PersonStatus::Active;
                    person.joined_at = Some(now.iso.clone());
                    let (mut session, refresh) = new_session(tenant_id, person_id, role.into(), &headers, &now);
                    session.mfa = signed_in.mfa;
                    let audit = AuditEntry::new(
                        &actor(&person.id),
                        "person.provisioned",
                        ("person", &person.id),
                        None::<&Person>,
                        Some(&person),
                        &now.iso,
                    );
                    let more = vec![
                        state.store.claim_put(&EmailClaim::of(&person))?,
                        state.store.invitation_absent(&person.tenant_id, &person.email)?,
                        state.store.person_joined(&person.tenant_id)?,
                        state.store.session_put(&session)?,
                    ];
                    // Round trip 3 (a first sign-in only): the person, their address claimed, the
                    // head count, the session and the audit entry, in one transaction (none while
                    // an invitation waits for the address, or past the plan's people).
                    // Positions: 0 the person, 1 the audit entry, then `more` in order.
                    match state.store.create(&person, &audit, more).await? {
                        Ok(()) => {}
                        Err(Declined(failed)) if failed.contains(&4) => {
                            return Err(Error::Forbidden(
                                "the organisation's plan has no room for more people; ask an admin",
                            ));
                        }
                        Err(_) => return Err(NO_ACCOUNT),
                    }
                    (session, refresh, Permissions::none())
                }
                None => return Err(NO_ACCOUNT),
            };
            let (cookie, tokens) =
                issue(&state, &session, &refresh, &now, delivery, (tenant.require_admin_mfa, granted))?;
            Ok((cookie, Json(LoginResponse::Tokens(tokens))))
        }
    }
}
