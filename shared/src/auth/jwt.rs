//! Access tokens: EdDSA (Ed25519) JWTs, 15 minutes, algorithm pinned, `kid` one of a known set.
//!
//! Only the auth function holds the private key (`ROTA_JWT_PRIVATE_KEY`) and can issue tokens;
//! every function verifies them with the public key set (`ROTA_JWT_PUBLIC_KEYS`, a JWKS), which
//! holds several keys while a rotation overlaps. Both are parsed once per cold start.

use std::collections::HashMap;

use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::auth::Role;
use crate::auth::refresh::ChainKey;
use crate::{Config, Error};

pub const ACCESS_TOKEN_SECS: i64 = 15 * 60;

/// The claims of an access token. `sid` names the refresh session (device) it was issued for;
/// `mfa` says that session passed two-factor authentication, `mfa_enforced` that the role must
/// have before acting above staff (see `Caller::require`). Both are required: a token without
/// them (issued before they existed) is refused, and the client refreshes.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    pub sub: String,
    pub tenant_id: String,
    pub role: Role,
    pub sid: String,
    pub mfa: bool,
    pub mfa_enforced: bool,
    /// The permissions the session holds (bits of `Permissions`): the role's and those of the
    /// person's permission set. Absent from tokens issued before permission sets: the role's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub perms: Option<u32>,
    /// The locations and units the session is limited to; absent when it is not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<crate::auth::Scope>,
    pub jti: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
}

/// Who a token is issued to.
#[derive(Debug, Clone)]
pub struct Subject<'a> {
    pub tenant_id: &'a str,
    pub person_id: &'a str,
    pub role: Role,
    pub session_id: &'a str,
    /// The session passed two-factor authentication.
    pub mfa: bool,
    /// The role must have passed it before acting above staff.
    pub mfa_enforced: bool,
    /// What the session may do: the role's set and the person's permission set.
    pub permissions: crate::auth::permissions::Permissions,
    /// Where it may act: the person's scope.
    pub scope: &'a crate::auth::Scope,
}

/// The token keys of one function: the public key set to verify with, and the private key to
/// sign with when this function is allowed to issue tokens.
pub struct Keys {
    issuer: String,
    audience: String,
    signing: Option<SigningKey>,
    /// The public key set by `kid`.
    verifying: HashMap<String, DecodingKey>,
    validation: Validation,
}

struct SigningKey {
    kid: String,
    key: EncodingKey,
    /// Refresh tokens rotate along a chain keyed by the same secret (see `auth::refresh`).
    refresh_chain: ChainKey,
}

impl Keys {
    /// Parses and cross-checks the key settings: the JWKS must be well formed and, when a private
    /// key is given, hold its public key under `ROTA_JWT_KID`. Errors name the setting at fault.
    pub fn new(config: &Config) -> Result<Self, String> {
        let verifying = public_keys(&config.jwt_public_keys)?;
        let signing = match &config.jwt_private_key {
            None => None,
            Some(pem) => {
                let key = private_key_from_pem(pem.expose()).map_err(|e| format!("ROTA_JWT_PRIVATE_KEY: {e}"))?;
                let kid = &config.jwt_kid;
                let listed = verifying.get(kid).ok_or_else(|| {
                    format!(
                        "ROTA_JWT_PUBLIC_KEYS has no key with kid \"{kid}\", the ROTA_JWT_KID the private key signs with"
                    )
                })?;
                // The private key's public half must be the listed key (a probe signature and its
                // verification would check the same at ≈5× the cost, on every cold start).
                let pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(key.as_bytes())
                    .map_err(|_| "ROTA_JWT_PRIVATE_KEY: not an Ed25519 private key")?;
                if listed.try_get_as_bytes().ok() != Some(pair.public_key().as_ref()) {
                    return Err(format!(
                        "ROTA_JWT_PRIVATE_KEY does not match the public key with kid \"{kid}\" in ROTA_JWT_PUBLIC_KEYS"
                    ));
                }
                Some(SigningKey { kid: kid.clone(), key, refresh_chain: ChainKey::derive(pem.expose().as_bytes()) })
            }
        };
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_issuer(&[&config.jwt_issuer]);
        validation.set_audience(&[&config.jwt_audience]);
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = 30;
        Ok(Self {
            issuer: config.jwt_issuer.clone(),
            audience: config.jwt_audience.clone(),
            signing,
            verifying,
            validation,
        })
    }

    fn signing(&self) -> Result<&SigningKey, Error> {
        self.signing.as_ref().ok_or_else(|| {
            Error::internal(
                "ROTA_JWT_PRIVATE_KEY is not set: this function can verify access tokens but not issue them",
            )
        })
    }

    /// The key refresh tokens rotate with; only a function that can issue tokens has it.
    pub fn refresh_chain(&self) -> Result<&ChainKey, Error> {
        Ok(&self.signing()?.refresh_chain)
    }

    pub fn issue(&self, subject: &Subject<'_>, now: i64) -> Result<String, Error> {
        let signing = self.signing()?;
        let claims = Claims {
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            sub: subject.person_id.to_owned(),
            tenant_id: subject.tenant_id.to_owned(),
            role: subject.role,
            sid: subject.session_id.to_owned(),
            mfa: subject.mfa,
            mfa_enforced: subject.mfa_enforced,
            perms: Some(subject.permissions.bits()),
            scope: (!subject.scope.is_open()).then(|| subject.scope.clone()),
            jti: ulid::Ulid::new().to_string(),
            iat: now,
            nbf: now,
            exp: now + ACCESS_TOKEN_SECS,
        };
        let header = Header { kid: Some(signing.kid.clone()), ..Header::new(Algorithm::EdDSA) };
        jsonwebtoken::encode(&header, &claims, &signing.key).map_err(Error::internal)
    }

    pub fn verify(&self, token: &str) -> Result<Claims, Error> {
        const INVALID: Error = Error::Unauthorized("invalid or expired access token");
        let header = jsonwebtoken::decode_header(token).map_err(|_| INVALID)?;
        let key = header.kid.as_deref().and_then(|kid| self.verifying.get(kid)).ok_or(INVALID)?;
        jsonwebtoken::decode::<Claims>(token, key, &self.validation).map(|data| data.claims).map_err(|_| INVALID)
    }
}

/// The signing key of a PKCS#8 PEM (`openssl genpkey -algorithm ed25519`), unchecked: [`Keys::new`]
/// proves it with a probe signature. Literal `\n` escapes are read as line breaks, for
/// environments that flatten the PEM onto one line.
pub fn private_key_from_pem(pem: &str) -> Result<EncodingKey, String> {
    const NOT_PEM: &str = "not a PKCS#8 PEM (-----BEGIN PRIVATE KEY-----)";
    let pem = pem.replace("\\n", "\n");
    let body = pem
        .trim()
        .strip_prefix("-----BEGIN PRIVATE KEY-----")
        .and_then(|rest| rest.strip_suffix("-----END PRIVATE KEY-----"))
        .ok_or(NOT_PEM)?;
    let der = STANDARD.decode(body.split_whitespace().collect::<String>()).map_err(|_| NOT_PEM)?;
    Ok(EncodingKey::from_ed_der(&der))
}

/// The JWKS of `ROTA_JWT_PUBLIC_KEYS` by `kid`: every key Ed25519 with a unique `kid`, nothing else
/// (a symmetric `oct` key here would let anyone holding the JWKS sign).
fn public_keys(jwks: &str) -> Result<HashMap<String, DecodingKey>, String> {
    let set: JwkSet = serde_json::from_str(jwks)
        .map_err(|e| format!("ROTA_JWT_PUBLIC_KEYS is not a JWKS ({{\"keys\":[…]}}): {e}"))?;
    if set.keys.is_empty() {
        return Err("ROTA_JWT_PUBLIC_KEYS has no keys".into());
    }
    let mut keys = HashMap::new();
    for jwk in &set.keys {
        let kid = jwk.common.key_id.clone().ok_or("ROTA_JWT_PUBLIC_KEYS: every key needs a kid")?;
        let invalid = |why: &str| format!("ROTA_JWT_PUBLIC_KEYS: key \"{kid}\" {why}");
        let x = match &jwk.algorithm {
            AlgorithmParameters::OctetKeyPair(okp) if okp.curve == EllipticCurve::Ed25519 => &okp.x,
            _ => return Err(invalid("is not an Ed25519 key (kty OKP, crv Ed25519)")),
        };
        if jwk.common.key_algorithm.is_some_and(|alg| alg != KeyAlgorithm::EdDSA) {
            return Err(invalid("has an alg other than EdDSA"));
        }
        if jwk.common.public_key_use.as_ref().is_some_and(|key_use| *key_use != PublicKeyUse::Signature) {
            return Err(invalid("has a use other than sig"));
        }
        if URL_SAFE_NO_PAD.decode(x).map(|bytes| bytes.len()) != Ok(32) {
            return Err(invalid("has an x that is not 32 bytes of unpadded base64url"));
        }
        let key = DecodingKey::from_jwk(jwk).map_err(|e| invalid(&e.to_string()))?;
        if keys.insert(kid.clone(), key).is_some() {
            return Err(invalid("appears twice"));
        }
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
    use serde_json::{Value, json};

    use super::*;

    /// A fresh key pair: its PKCS#8 PEM and its public JWK under `kid`.
    fn key_pair(kid: &str) -> (String, Value) {
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
        let public = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap().public_key().as_ref().to_vec();
        let pem =
            format!("-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n", STANDARD.encode(pkcs8.as_ref()));
        (pem, json!({ "kty": "OKP", "crv": "Ed25519", "kid": kid, "x": URL_SAFE_NO_PAD.encode(public) }))
    }

    fn config(private_key: Option<&str>, kid: &str, jwks: &[&Value]) -> Config {
        Config {
            jwt_private_key: private_key.map(crate::Secret::new),
            jwt_kid: kid.into(),
            jwt_public_keys: json!({ "keys": jwks }).to_string(),
            ..crate::config::tests::config()
        }
    }

    fn keys(private_key: Option<&str>, kid: &str, jwks: &[&Value]) -> Keys {
        Keys::new(&config(private_key, kid, jwks)).unwrap()
    }

    fn startup_error(private_key: Option<&str>, kid: &str, jwks: &[&Value]) -> String {
        Keys::new(&config(private_key, kid, jwks)).err().expect("the settings are refused")
    }

    const SUBJECT: Subject<'static> = Subject {
        tenant_id: "T1",
        person_id: "P1",
        role: Role::Owner,
        session_id: "S1",
        mfa: true,
        mfa_enforced: true,
        permissions: crate::auth::permissions::Permissions::none(),
        scope: &crate::auth::Scope { location_ids: Vec::new(), unit_ids: Vec::new() },
    };

    fn now() -> i64 {
        chrono::Utc::now().timestamp()
    }

    #[test]
    fn round_trips_and_carries_every_claim() {
        let (pem, jwk) = key_pair("k1");
        let keys = keys(Some(&pem), "k1", &[&jwk]);
        let token = keys.issue(&SUBJECT, now()).unwrap();
        let header = jsonwebtoken::decode_header(&token).unwrap();
        assert_eq!((header.alg, header.kid.as_deref()), (Algorithm::EdDSA, Some("k1")));
        let claims = keys.verify(&token).unwrap();
        assert_eq!((claims.sub.as_str(), claims.tenant_id.as_str(), claims.role), ("P1", "T1", Role::Owner));
        assert_eq!(claims.exp - claims.nbf, 15 * 60);
        assert_eq!((claims.aud.as_str(), claims.sid.as_str()), ("rota-api", "S1"));
        assert_eq!((claims.mfa, claims.mfa_enforced), (true, true));
        let without = keys.issue(&Subject { mfa: false, mfa_enforced: true, ..SUBJECT }, now()).unwrap();
        assert_eq!(keys.verify(&without).map(|c| (c.mfa, c.mfa_enforced)).unwrap(), (false, true));
    }

    #[test]
    fn a_token_without_the_2fa_claims_is_refused() {
        let (pem, jwk) = key_pair("k1");
        let keys = keys(Some(&pem), "k1", &[&jwk]);
        let mut claims: Value =
            serde_json::to_value(keys.verify(&keys.issue(&SUBJECT, now()).unwrap()).unwrap()).unwrap();
        claims.as_object_mut().unwrap().remove("mfa_enforced");
        let header = Header { kid: Some("k1".into()), ..Header::new(Algorithm::EdDSA) };
        let older = jsonwebtoken::encode(&header, &claims, &private_key_from_pem(&pem).unwrap()).unwrap();
        assert!(matches!(keys.verify(&older), Err(Error::Unauthorized(_))));
    }

    #[test]
    fn both_keys_of_a_rotation_verify_and_either_can_sign() {
        let ((old_pem, old), (new_pem, new)) = (key_pair("old"), key_pair("new"));
        let signs_old = keys(Some(&old_pem), "old", &[&old, &new]);
        let signs_new = keys(Some(&new_pem), "new", &[&old, &new]);
        let verifier = keys(None, "old", &[&old, &new]);
        for token in [signs_old.issue(&SUBJECT, now()).unwrap(), signs_new.issue(&SUBJECT, now()).unwrap()] {
            assert!(verifier.verify(&token).is_ok());
            assert!(signs_old.verify(&token).is_ok() && signs_new.verify(&token).is_ok());
        }
    }

    #[test]
    fn rejects_unknown_kids_other_keys_expired_and_garbage() {
        let ((pem, jwk), (other_pem, other)) = (key_pair("k1"), key_pair("k2"));
        let keys = keys(Some(&pem), "k1", &[&jwk]);
        let unknown_kid = self::keys(Some(&other_pem), "k2", &[&other]).issue(&SUBJECT, now()).unwrap();
        let (impostor_pem, mut impostor) = key_pair("k1");
        impostor["kid"] = json!("k1");
        let other_key_same_kid = self::keys(Some(&impostor_pem), "k1", &[&impostor]).issue(&SUBJECT, now()).unwrap();
        let expired = keys.issue(&SUBJECT, now() - 3600).unwrap();
        let claims = keys.verify(&keys.issue(&SUBJECT, now()).unwrap()).unwrap();
        let header = Header { kid: Some("k9".into()), ..Header::new(Algorithm::EdDSA) };
        let right_key_wrong_kid = jsonwebtoken::encode(&header, &claims, &private_key_from_pem(&pem).unwrap()).unwrap();
        for token in [unknown_kid, other_key_same_kid, right_key_wrong_kid, expired, "not.a.token".into()] {
            assert!(matches!(keys.verify(&token), Err(Error::Unauthorized(_))), "{token}");
        }
    }

    #[test]
    fn an_hs256_token_keyed_with_the_public_key_is_refused() {
        let (pem, jwk) = key_pair("k1");
        let keys = keys(Some(&pem), "k1", &[&jwk]);
        let claims: Value = serde_json::to_value(keys.verify(&keys.issue(&SUBJECT, now()).unwrap()).unwrap()).unwrap();
        let header = Header { kid: Some("k1".into()), ..Header::new(Algorithm::HS256) };
        let x = jwk["x"].as_str().unwrap();
        for secret in [URL_SAFE_NO_PAD.decode(x).unwrap(), x.as_bytes().to_vec()] {
            let forged = jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(&secret)).unwrap();
            assert!(keys.verify(&forged).is_err());
        }
    }

    #[test]
    fn a_verifier_without_the_private_key_cannot_issue() {
        let (pem, jwk) = key_pair("k1");
        let verifier = keys(None, "k1", &[&jwk]);
        let error = verifier.issue(&SUBJECT, now()).unwrap_err();
        assert!(matches!(&error, Error::Internal(e) if e.to_string().contains("ROTA_JWT_PRIVATE_KEY")), "{error:?}");
        assert!(verifier.verify(&keys(Some(&pem), "k1", &[&jwk]).issue(&SUBJECT, now()).unwrap()).is_ok());
    }

    #[test]
    fn inconsistent_settings_fail_at_start_up_naming_the_setting() {
        let ((pem, jwk), (_, other)) = (key_pair("k1"), key_pair("k2"));
        assert!(startup_error(Some(&pem), "k2", &[&jwk]).contains("no key with kid \"k2\""));
        let mut mismatched = other.clone();
        mismatched["kid"] = json!("k1");
        assert!(startup_error(Some(&pem), "k1", &[&mismatched]).contains("does not match"));
        assert!(
            startup_error(Some("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"), "k1", &[&jwk])
                == "ROTA_JWT_PRIVATE_KEY: not an Ed25519 private key"
        );
        assert!(startup_error(None, "k1", &[]).contains("no keys"));
        assert!(startup_error(None, "k1", &[&jwk, &jwk]).contains("twice"));
        let oct = json!({ "kty": "oct", "kid": "k1", "k": "c2VjcmV0" });
        assert!(startup_error(None, "k1", &[&oct]).contains("not an Ed25519 key"));
        let mut no_kid = jwk.clone();
        no_kid.as_object_mut().unwrap().remove("kid");
        assert!(startup_error(None, "k1", &[&no_kid]).contains("kid"));
        let not_json = Config { jwt_public_keys: "nope".into(), ..config(None, "k1", &[&jwk]) };
        assert!(Keys::new(&not_json).err().unwrap().starts_with("ROTA_JWT_PUBLIC_KEYS"));
    }

    #[test]
    fn reads_a_pem_flattened_onto_one_line() {
        let (pem, jwk) = key_pair("k1");
        let flattened = pem.replace('\n', "\\n");
        assert!(keys(Some(&flattened), "k1", &[&jwk]).issue(&SUBJECT, now()).is_ok());
    }

    #[test]
    fn reads_pkcs8_v1_as_openssl_writes_it() {
        // aws-lc generates v2 (seed and public key); `openssl genpkey` writes v1 (seed only).
        let (pem, jwk) = key_pair("k1");
        let v2 = STANDARD.decode(pem.lines().nth(1).unwrap()).unwrap();
        let v1 = [&[0x30, 0x2e, 0x02, 0x01, 0x00], &v2[5..16], &v2[16..48]].concat();
        let pem = format!("-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n", STANDARD.encode(v1));
        assert!(keys(Some(&pem), "k1", &[&jwk]).issue(&SUBJECT, now()).is_ok());
    }

    #[test]
    fn the_private_key_never_reaches_a_log() {
        let (pem, jwk) = key_pair("k1");
        let body = pem.lines().nth(1).unwrap().to_owned();
        assert!(!format!("{:?}", config(Some(&pem), "k1", &[&jwk])).contains(&body));
    }
}
