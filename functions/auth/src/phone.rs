//! `POST /auth/otp/request` and `POST /auth/otp/verify`: staff sign in with a six-digit code sent
//! to their phone, where their organisation allows it (`settings.phone_sign_in`). Other roles
//! always sign in with their password (and second factor).

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use garde::Validate;
use rota::auth::one_time::{code, code_hash, code_matches};
use rota::auth::permissions::Permissions;
use rota::auth::rate_limit::{OTP_REQUEST_PER_IP, OTP_REQUEST_PER_PHONE, OTP_VERIFY_PER_IP, client_key};
use rota::auth::{Role, rate_limit::RateLimit};
use rota::clock::Now;
use rota::error::Problem;
use rota::http::{ClientIp, ValidJson};
use rota::notify::{Envelope, Message};
use rota::store::people::PersonStatus;
use rota::store::sign_in_codes::{CODE_SECS, CODE_TRIES, Candidate, SignInCode, SignInRefused};
use rota::store::tenants::TenantStatus;
use rota::validate::international_phone;
use rota::{AppState, Error};
use serde::{Deserialize, Serialize};
use ulid::Ulid;
use utoipa::ToSchema;

use crate::limits::Attempt;
use crate::tokens::{TokenDelivery, TokenPair, issue, new_session};

/// A request for a code is answered no sooner than this, whether or not a code was sent, so the
/// time taken does not tell whether the number belongs to anyone.
const ANSWER_FLOOR: Duration = Duration::from_millis(300);

const WRONG_CODE: Error = Error::Unauthorized("the code is wrong or has expired; ask for a new one after 5 tries");

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "phone": "+44 7911 123456" }))]
pub struct PhoneCodeRequest {
    /// The phone in international form (`+44 7911 123456`; spaces, dashes and brackets allowed).
    #[garde(length(chars, min = 1, max = 32), custom(international_phone))]
    #[schema(min_length = 1, max_length = 32, pattern = r"^ *(?:\+|00)[ ().-]*[1-9](?:[ ().-]*[0-9]){7,14}[ ().-]*$")]
    pub phone: String,
}

fn six_digits(code: &str, _: &()) -> garde::Result {
    let code = code.trim();
    if code.len() == 6 && code.bytes().all(|byte| byte.is_ascii_digit()) {
        Ok(())
    } else {
        Err(garde::Error::new("must be the six digits sent"))
    }
}

/// The same answer whether or not the number reaches anyone.
#[derive(Debug, Serialize, ToSchema)]
pub struct PhoneCodeSent {
    /// Seconds a code works (300).
    pub code_expires_in: i64,
}

impl Attempt {
    /// A code asked for: per phone and per client address.
    fn code_request(phone: &str, ip: Option<&str>) -> Self {
        Self::of(OTP_REQUEST_PER_PHONE, phone, ip.map(|ip| (OTP_REQUEST_PER_IP, client_key(ip))))
    }

    /// A code tried: per client address (the code itself takes 5 tries).
    fn code_try(ip: Option<&str>) -> Self {
        let address = ip.map(client_key).unwrap_or_else(|| "unknown".into());
        Self::of(OTP_VERIFY_PER_IP, &address, None)
    }

    fn of(limit: RateLimit, subject: &str, more: Option<(RateLimit, String)>) -> Self {
        let mut limits = vec![(limit, subject.to_owned())];
        limits.extend(more);
        Self { limits }
    }
}

/// Sends a sign-in code by SMS or WhatsApp to the phone, if it is the phone of active staff of
/// an organisation that allows phone sign-in. The answer is the same 202, in about the same time,
/// either way. A new code replaces the last; 3 requests per phone and 10 per client address in 15
/// minutes.
#[utoipa::path(post, path = "/auth/otp/request", tag = "auth", request_body = PhoneCodeRequest,
    extensions(("x-rate-limit" = json!("3 per phone and 10 per client address, in 15 minutes"))),
    responses(
        (status = 202, description = "If the phone is a staff member's who may sign in by phone, a code is on its way", body = PhoneCodeSent),
        (status = 422, description = "Not a phone number in international form", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn request_code(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ValidJson(request): ValidJson<PhoneCodeRequest>,
) -> Result<(StatusCode, Json<PhoneCodeSent>), Error> {
    let answer_at = tokio::time::Instant::now() + ANSWER_FLOOR;
    let now = Now::get();
    let phone =
        rota::phone::parse(&request.phone).ok_or_else(|| Error::field("phone", "must be in international form"))?;
    let attempt = Attempt::code_request(&phone, ip.as_deref());
    // Round trip 1: the people with this phone, and the request counted, in parallel.
    let (people, counted) = tokio::try_join!(state.store.people_by_phone(&phone), attempt.count(&state, now.epoch))?;
    if let Some(retry_after_secs) = counted.retry_after(now.epoch) {
        return Err(Error::RateLimited { retry_after_secs });
    }
    let candidates: Vec<Candidate> = people
        .iter()
        .filter(|person| person.status == PersonStatus::Active && person.role == Role::Staff)
        .map(|person| Candidate {
            tenant_id: person.tenant_id.clone(),
            person_id: person.id.clone(),
            scope: person.scope.clone(),
        })
        .collect();
    if !candidates.is_empty() {
        let (code, salt) = code();
        let pending = SignInCode {
            phone: phone.clone(),
            code_hash: code_hash(&code, &salt),
            salt,
            candidates: candidates.clone(),
            tries_left: CODE_TRIES,
            created_at: now.iso.clone(),
            expires_at: now.epoch + CODE_SECS,
        };
        // Round trip 2: the code, and the organisations (whether they allow it), in parallel.
        let tenant_ids: Vec<&str> = candidates.iter().map(|candidate| candidate.tenant_id.as_str()).collect();
        let ((), tenants) =
            tokio::try_join!(state.store.put_sign_in_code(&pending), state.store.tenants_among(&tenant_ids))?;
        let allowing = candidates.iter().find(|candidate| {
            tenants.iter().any(|tenant| {
                tenant.id == candidate.tenant_id
                    && tenant.status == TenantStatus::Active
                    && tenant.settings.phone_sign_in
            })
        });
        if let Some(candidate) = allowing {
            let message = Message::SignInCode { code, valid_minutes: CODE_SECS / 60 };
            let envelope = Envelope::new(Some(&candidate.tenant_id), Some(&candidate.person_id), &phone, message);
            state.outbox.send(&envelope).await?;
        }
    }
    tokio::time::sleep_until(answer_at).await;
    Ok((StatusCode::ACCEPTED, Json(PhoneCodeSent { code_expires_in: CODE_SECS })))
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "phone": "+44 7911 123456", "code": "492817" }))]
pub struct PhoneSignIn {
    #[garde(length(chars, min = 1, max = 32), custom(international_phone))]
    #[schema(min_length = 1, max_length = 32, pattern = r"^ *(?:\+|00)[ ().-]*[1-9](?:[ ().-]*[0-9]){7,14}[ ().-]*$")]
    pub phone: String,
    /// The six digits sent.
    #[garde(custom(six_digits))]
    #[schema(pattern = r"^ *[0-9]{6} *$")]
    pub code: String,
    /// Which organisation to sign in to, when the phone is staff of several (the first answer
    /// lists them).
    #[garde(skip)]
    pub tenant_id: Option<String>,
    #[garde(skip)]
    pub token_delivery: Option<TokenDelivery>,
}

/// What a right code gets: the token pair, or, when the phone is staff of several organisations
/// and none was named, the list to choose from (the code stays valid for the choice).
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum PhoneSignedIn {
    Tokens(TokenPair),
    ChooseOrganisation(ChooseOrganisation),
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ChooseOrganisation {
    /// Always `true`: send the code again with one of these `tenant_id`s.
    pub choose_organisation: bool,
    pub organisations: Vec<OrganisationChoice>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrganisationChoice {
    pub tenant_id: String,
    pub name: String,
}

/// Signs in with a code from `POST /auth/otp/request` and starts a device session, as login
/// does. A code works once, for 5 minutes, for 5 tries (then a new one is needed); 20 tries per
/// client address in 15 minutes.
#[utoipa::path(post, path = "/auth/otp/verify", tag = "auth", request_body = PhoneSignIn,
    extensions(("x-rate-limit" = json!("5 tries a code; 20 per client address in 15 minutes"))),
    responses(
        (status = 200, description = "Signed in (a token pair), or the organisations to choose from", body = PhoneSignedIn),
        (status = 401, description = "The code is wrong, used or expired, or phone sign-in is not open to this person", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not a phone number in international form, or not six digits", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn verify_code(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    ValidJson(request): ValidJson<PhoneSignIn>,
) -> Result<(HeaderMap, Json<PhoneSignedIn>), Error> {
    let now = Now::get();
    let phone =
        rota::phone::parse(&request.phone).ok_or_else(|| Error::field("phone", "must be in international form"))?;
    let attempt = Attempt::code_try(ip.as_deref());
    // Round trip 1: a try of the phone's code taken, and the try counted, in parallel.
    let (pending, counted) =
        tokio::try_join!(state.store.try_sign_in_code(&phone, now.epoch), attempt.count(&state, now.epoch))?;
    if let Some(retry_after_secs) = counted.retry_after(now.epoch) {
        return Err(Error::RateLimited { retry_after_secs });
    }
    let Some(pending) = pending else { return Err(WRONG_CODE) };
    if !code_matches(&request.code, &pending.salt, &pending.code_hash) {
        return Err(WRONG_CODE);
    }
    let chosen: Vec<&Candidate> = pending
        .candidates
        .iter()
        .filter(|candidate| request.tenant_id.as_ref().is_none_or(|tenant_id| *tenant_id == candidate.tenant_id))
        .collect();
    let candidate = match chosen.as_slice() {
        [candidate] => *candidate,
        [] => return Err(WRONG_CODE),
        several => {
            // Round trip 2: the organisations' names, to choose from.
            let ids: Vec<&str> = several.iter().map(|candidate| candidate.tenant_id.as_str()).collect();
            let organisations = state
                .store
                .tenants_among(&ids)
                .await?
                .into_iter()
                .filter(|tenant| tenant.status == TenantStatus::Active && tenant.settings.phone_sign_in)
                .map(|tenant| OrganisationChoice { tenant_id: tenant.id, name: tenant.name })
                .collect();
            let choice = ChooseOrganisation { choose_organisation: true, organisations };
            return Ok((HeaderMap::new(), Json(PhoneSignedIn::ChooseOrganisation(choice))));
        }
    };
    let ids = (candidate.tenant_id.parse::<Ulid>(), candidate.person_id.parse::<Ulid>());
    let (Ok(tenant_id), Ok(person_id)) = ids else { return Err(Error::internal("a sign-in code with malformed ids")) };
    let (mut session, refresh) = new_session(tenant_id, person_id, Role::Staff, &headers, &now);
    session.scope = candidate.scope.clone();
    // Round trip 2: the code used up with the new session (the organisation and the person
    // checked in the same transaction), the organisation's 2FA rule for the token, and the try
    // taken back.
    let (signed_in, tenant, ()) = tokio::try_join!(
        state.store.sign_in_with_code(&phone, &pending.code_hash, &session),
        state.store.tenant_gate(&candidate.tenant_id),
        counted.undo(&state),
    )?;
    match signed_in {
        Ok(()) => {}
        Err(SignInRefused::CodeGone) => return Err(WRONG_CODE),
        Err(SignInRefused::Organisation | SignInRefused::Person) => {
            return Err(Error::Unauthorized(
                "phone sign-in is not open to this person; sign in with email and password",
            ));
        }
    }
    let require_admin_mfa = tenant.is_some_and(|tenant| tenant.require_admin_mfa);
    let delivery = TokenDelivery::choose(request.token_delivery, &state, &headers, false);
    // A code by phone is one factor: it signs in with the role's permissions only, never a
    // permission set's.
    let (cookie, tokens) = issue(&state, &session, &refresh, &now, delivery, (require_admin_mfa, Permissions::none()))?;
    Ok((cookie, Json(PhoneSignedIn::Tokens(tokens))))
}
