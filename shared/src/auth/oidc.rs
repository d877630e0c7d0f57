//! Single sign-on: an OpenID Connect provider's ID token, checked against the keys the provider
//! publishes. Pure: the key set, the expected issuer, audience and nonce, and the time come in.
//!
//! The algorithm is the key's, never the token's: an RSA key verifies RS256 only and a P-256 key
//! ES256 only, so `alg: none` and an HS256 token "signed" with a public key are refused before any
//! signature is looked at.

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, JwkSet, KeyAlgorithm};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::{Deserialize, Deserializer};

/// Clock skew allowed between the provider and Rota, seconds.
pub const LEEWAY_SECS: i64 = 60;

/// What a valid ID token says about its person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedIn {
    /// The provider's id of the person.
    pub subject: String,
    /// Verified by the provider, lower-cased.
    pub email: String,
    /// The provider says the person passed more than one factor (`amr` has `mfa`).
    pub mfa: bool,
}

/// Why a token is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// Signed with a key the set does not have (yet): fetch the provider's keys again, once.
    #[error("the token's key is not among the provider's keys")]
    UnknownKey,
    #[error("{0}")]
    Invalid(String),
}

fn invalid(reason: impl Into<String>) -> Refused {
    Refused::Invalid(reason.into())
}

#[derive(Debug, Deserialize)]
struct Claims {
    exp: i64,
    iat: i64,
    sub: String,
    nonce: Option<String>,
    email: Option<String>,
    /// Google and Okta send a boolean; some providers a string.
    #[serde(default, deserialize_with = "flag")]
    email_verified: bool,
    /// Microsoft Entra ID's "email domain owner verified" optional claim.
    #[serde(default, deserialize_with = "flag")]
    xms_edov: bool,
    #[serde(default)]
    amr: Vec<String>,
}

fn flag<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Flag {
        Bool(bool),
        Text(String),
    }
    Ok(match Option::<Flag>::deserialize(deserializer)? {
        Some(Flag::Bool(flag)) => flag,
        Some(Flag::Text(text)) => text.eq_ignore_ascii_case("true"),
        None => false,
    })
}

/// The only algorithm `key` verifies: RS256 for an RSA key, ES256 for a P-256 key (none for
/// anything else, or a key that names another algorithm).
fn pinned(key: &Jwk) -> Option<Algorithm> {
    let algorithm = match &key.algorithm {
        AlgorithmParameters::RSA(_) => Algorithm::RS256,
        AlgorithmParameters::EllipticCurve(params) if params.curve == EllipticCurve::P256 => Algorithm::ES256,
        _ => return None,
    };
    match key.common.key_algorithm {
        None | Some(KeyAlgorithm::RS256) if algorithm == Algorithm::RS256 => Some(algorithm),
        None | Some(KeyAlgorithm::ES256) if algorithm == Algorithm::ES256 => Some(algorithm),
        _ => None,
    }
}

/// The key a token names and the algorithm it claims, when it is a signed JWT (RS256 or ES256)
/// naming one: checked before the provider's keys are fetched, so that text which cannot be an
/// ID token never makes Rota call the provider.
pub fn key_of(token: &str) -> Result<(String, Algorithm), Refused> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| invalid("not a signed JWT (RS256 or ES256)"))?;
    if !matches!(header.alg, Algorithm::RS256 | Algorithm::ES256) {
        return Err(invalid("the token is neither RS256 nor ES256"));
    }
    let kid = header.kid.ok_or_else(|| invalid("the token names no key (`kid`)"))?;
    Ok((kid, header.alg))
}

/// Checks `token` as an ID token of `issuer` for `client_id`, answering the sign-in of `nonce`,
/// at `now` (epoch seconds): signature by a key of `keys` in that key's algorithm, `iss`, `aud`,
/// `exp` and `iat` (with [`LEEWAY_SECS`]), `nonce`, and a verified `email`.
pub fn verify(
    token: &str,
    keys: &JwkSet,
    issuer: &str,
    client_id: &str,
    nonce: &str,
    now: i64,
) -> Result<SignedIn, Refused> {
    let (kid, claimed) = key_of(token)?;
    let key = keys.find(&kid).ok_or(Refused::UnknownKey)?;
    let algorithm = pinned(key).ok_or_else(|| invalid("the provider's key is neither RS256 nor ES256"))?;
    if claimed != algorithm {
        return Err(invalid(format!("the token's algorithm is not its key's ({algorithm:?})")));
    }
    let decoding = DecodingKey::from_jwk(key).map_err(|_| invalid("the provider's key is malformed"))?;
    let mut validation = Validation::new(algorithm);
    // Times are checked below against `now`, not the library's clock.
    validation.validate_exp = false;
    validation.required_spec_claims = ["iss", "aud", "sub"].into_iter().map(String::from).collect();
    validation.set_issuer(&[issuer]);
    validation.set_audience(&[client_id]);
    let claims = jsonwebtoken::decode::<Claims>(token, &decoding, &validation)
        .map_err(|error| match error.kind() {
            jsonwebtoken::errors::ErrorKind::InvalidIssuer => invalid("the token is from another issuer"),
            jsonwebtoken::errors::ErrorKind::InvalidAudience => invalid("the token is for another client"),
            jsonwebtoken::errors::ErrorKind::InvalidSignature => invalid("the signature does not verify"),
            _ => invalid(format!("the token is malformed: {error}")),
        })?
        .claims;
    if claims.exp + LEEWAY_SECS <= now {
        return Err(invalid("the token has expired"));
    }
    if claims.iat > now + LEEWAY_SECS {
        return Err(invalid("the token is issued in the future"));
    }
    if claims.nonce.as_deref() != Some(nonce) {
        return Err(invalid("the token answers another sign-in (`nonce`)"));
    }
    let email = claims.email.filter(|email| email.contains('@')).ok_or_else(|| invalid("the token has no email"))?;
    if !(claims.email_verified || claims.xms_edov) {
        return Err(invalid("the provider has not verified the email"));
    }
    Ok(SignedIn {
        subject: claims.sub,
        email: email.trim().to_lowercase(),
        mfa: claims.amr.iter().any(|method| method == "mfa"),
    })
}

/// The email a token claims, unverified: only to start reading the person in parallel with the
/// check, whose result decides.
pub fn claimed_email(token: &str) -> Option<String> {
    use base64::Engine;
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).ok()?;
    #[derive(Deserialize)]
    struct Email {
        email: Option<String>,
    }
    let email = serde_json::from_slice::<Email>(&bytes).ok()?.email?;
    Some(email.trim().to_lowercase())
}

/// The domain of an email address, lower-cased.
pub fn domain_of(email: &str) -> Option<&str> {
    email.rsplit_once('@').map(|(_, domain)| domain).filter(|domain| !domain.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{EncodingKey, Header};
    use serde_json::{Value, json};

    const RSA: &[u8] = include_bytes!("../../../tests/fixtures/oidc/rsa-1.der");
    const RSA_PUBLIC: &str = include_str!("../../../tests/fixtures/oidc/rsa-1.pub.pem");
    const EC: &[u8] = include_bytes!("../../../tests/fixtures/oidc/ec-1.der");
    const JWKS: &str = include_str!("../../../tests/fixtures/oidc/jwks.json");
    const NOW: i64 = 1_800_000_000;

    fn keys() -> JwkSet {
        let all: std::collections::BTreeMap<String, Value> = serde_json::from_str(JWKS).unwrap();
        serde_json::from_value(json!({ "keys": [all["rsa-1"], all["ec-1"]] })).unwrap()
    }

    fn claims() -> Value {
        json!({ "iss": "https://id.example", "aud": "rota", "sub": "u1", "exp": NOW + 300, "iat": NOW,
            "nonce": "n1", "email": "Sam@Harbour.example", "email_verified": true, "amr": ["pwd", "mfa"] })
    }

    fn signed(claims: &Value, algorithm: Algorithm, kid: &str, key: &EncodingKey) -> String {
        let header = Header { kid: Some(kid.into()), ..Header::new(algorithm) };
        jsonwebtoken::encode(&header, claims, key).unwrap()
    }

    fn rsa(claims: &Value) -> String {
        signed(claims, Algorithm::RS256, "rsa-1", &EncodingKey::from_rsa_der(RSA))
    }

    fn check(token: &str) -> Result<SignedIn, Refused> {
        verify(token, &keys(), "https://id.example", "rota", "n1", NOW)
    }

    fn with(change: &[(&str, Value)]) -> Value {
        let mut claims = claims();
        for (name, value) in change {
            claims[*name] = value.clone();
        }
        claims
    }

    #[test]
    fn a_token_of_the_provider_for_rota_signs_its_person_in() {
        let expected = SignedIn { subject: "u1".into(), email: "sam@harbour.example".into(), mfa: true };
        assert_eq!(check(&rsa(&claims())), Ok(expected.clone()));
        let ec = signed(&claims(), Algorithm::ES256, "ec-1", &EncodingKey::from_ec_der(EC));
        assert_eq!(check(&ec), Ok(expected));
        let entra = with(&[("email_verified", Value::Null), ("xms_edov", json!("true")), ("amr", json!(["pwd"]))]);
        assert_eq!(check(&rsa(&entra)).map(|signed_in| signed_in.mfa), Ok(false));
        assert_eq!(claimed_email(&rsa(&claims())).as_deref(), Some("sam@harbour.example"));
    }

    #[test]
    fn every_other_token_is_refused() {
        let refused = |token: &str| match check(token) {
            Err(Refused::Invalid(reason)) => reason,
            other => panic!("{other:?}"),
        };
        assert!(refused(&rsa(&with(&[("aud", json!("other"))]))).contains("another client"));
        assert!(refused(&rsa(&with(&[("iss", json!("https://evil.example"))]))).contains("another issuer"));
        assert!(refused(&rsa(&with(&[("exp", json!(NOW - 61))]))).contains("expired"));
        assert!(check(&rsa(&with(&[("exp", json!(NOW - 59))]))).is_ok(), "within the leeway");
        assert!(refused(&rsa(&with(&[("iat", json!(NOW + 120))]))).contains("future"));
        assert!(refused(&rsa(&with(&[("nonce", json!("n2"))]))).contains("nonce"));
        assert!(refused(&rsa(&with(&[("email_verified", json!(false))]))).contains("not verified"));
        assert!(refused(&rsa(&with(&[("email", Value::Null)]))).contains("no email"));
        // `alg: none`, and HS256 with the public key as its secret.
        let none = format!("{}.{}.", base64_json(&json!({ "alg": "none", "kid": "rsa-1" })), base64_json(&claims()));
        assert!(refused(&none).contains("not a signed JWT"));
        let hs = signed(&claims(), Algorithm::HS256, "rsa-1", &EncodingKey::from_secret(RSA_PUBLIC.as_bytes()));
        assert!(refused(&hs).contains("neither RS256 nor ES256"));
        let ec_as_rsa = signed(&claims(), Algorithm::RS256, "ec-1", &EncodingKey::from_rsa_der(RSA));
        assert!(refused(&ec_as_rsa).contains("not its key's"));
        // A forged signature, and a key the set does not have.
        let mut forged = rsa(&claims());
        forged.replace_range(forged.len() - 8.., "AAAAAAAA");
        assert!(refused(&forged).contains("signature"));
        let unknown = signed(&claims(), Algorithm::RS256, "rsa-9", &EncodingKey::from_rsa_der(RSA));
        assert_eq!(check(&unknown), Err(Refused::UnknownKey));
    }

    fn base64_json(value: &Value) -> String {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap())
    }
}
