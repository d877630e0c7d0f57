//! Access tokens: HS256 JWTs, 15 minutes, algorithm pinned, `kid` checked.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::auth::Role;
use crate::{Config, Error};

pub const ACCESS_TOKEN_SECS: i64 = 15 * 60;

/// The claims of an access token. `sid` names the refresh session (device) it was issued for.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    pub sub: String,
    pub tenant_id: String,
    pub role: Role,
    pub sid: String,
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
}

pub struct Keys {
    kid: String,
    issuer: String,
    audience: String,
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl Keys {
    pub fn new(config: &Config) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[&config.jwt_issuer]);
        validation.set_audience(&[&config.jwt_audience]);
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = 30;
        Self {
            kid: config.jwt_kid.clone(),
            issuer: config.jwt_issuer.clone(),
            audience: config.jwt_audience.clone(),
            encoding: EncodingKey::from_secret(config.jwt_secret.as_bytes()),
            decoding: DecodingKey::from_secret(config.jwt_secret.as_bytes()),
            validation,
        }
    }

    pub fn issue(&self, subject: &Subject<'_>, now: i64) -> Result<String, Error> {
        let claims = Claims {
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            sub: subject.person_id.to_owned(),
            tenant_id: subject.tenant_id.to_owned(),
            role: subject.role,
            sid: subject.session_id.to_owned(),
            jti: ulid::Ulid::new().to_string(),
            iat: now,
            nbf: now,
            exp: now + ACCESS_TOKEN_SECS,
        };
        let header = Header { kid: Some(self.kid.clone()), ..Header::new(Algorithm::HS256) };
        jsonwebtoken::encode(&header, &claims, &self.encoding).map_err(Error::internal)
    }

    pub fn verify(&self, token: &str) -> Result<Claims, Error> {
        const INVALID: Error = Error::Unauthorized("invalid or expired access token");
        let header = jsonwebtoken::decode_header(token).map_err(|_| INVALID)?;
        if header.kid.as_deref() != Some(self.kid.as_str()) {
            return Err(INVALID);
        }
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|_| INVALID)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(secret: &str) -> Keys {
        Keys::new(&Config {
            table: "t".into(),
            jwt_secret: secret.into(),
            jwt_kid: "k1".into(),
            jwt_issuer: "rota".into(),
            jwt_audience: "rota-api".into(),
        })
    }

    const SUBJECT: Subject<'static> = Subject { tenant_id: "T1", person_id: "P1", role: Role::Owner, session_id: "S1" };

    #[test]
    fn round_trips_and_carries_every_claim() {
        let keys = keys("0123456789abcdef0123456789abcdef");
        let now = chrono::Utc::now().timestamp();
        let claims = keys.verify(&keys.issue(&SUBJECT, now).unwrap()).unwrap();
        assert_eq!((claims.sub.as_str(), claims.tenant_id.as_str(), claims.role), ("P1", "T1", Role::Owner));
        assert_eq!(claims.exp - claims.nbf, 15 * 60);
        assert_eq!(claims.aud, "rota-api");
    }

    #[test]
    fn rejects_expired_and_foreign_tokens() {
        let keys_a = keys("0123456789abcdef0123456789abcdef");
        let keys_b = keys("fedcba9876543210fedcba9876543210");
        let now = chrono::Utc::now().timestamp();
        assert!(keys_a.verify(&keys_a.issue(&SUBJECT, now - 3600).unwrap()).is_err());
        assert!(keys_a.verify(&keys_b.issue(&SUBJECT, now).unwrap()).is_err());
        assert!(keys_a.verify("not.a.token").is_err());
    }
}
