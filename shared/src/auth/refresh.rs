//! Refresh tokens: opaque to clients, 256 random bits. The token also carries the tenant and
//! session ids so the session is one GetItem away under a tenant-prefixed key; only the SHA-256
//! of the secret is stored.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand_core::{OsRng, RngCore};
use sha2::{Digest, Sha256};
use ulid::Ulid;

pub const REFRESH_TOKEN_SECS: i64 = 7 * 24 * 3600;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshToken {
    pub tenant_id: Ulid,
    pub session_id: Ulid,
    secret: [u8; 32],
}

impl RefreshToken {
    pub fn generate(tenant_id: Ulid, session_id: Ulid) -> Self {
        let mut secret = [0; 32];
        OsRng.fill_bytes(&mut secret);
        Self { tenant_id, session_id, secret }
    }

    /// Parses what a client sent; anything malformed is simply not a token.
    pub fn parse(token: &str) -> Option<Self> {
        let bytes: [u8; 64] = URL_SAFE_NO_PAD.decode(token.trim()).ok()?.try_into().ok()?;
        Some(Self {
            tenant_id: Ulid::from_bytes(bytes[..16].try_into().ok()?),
            session_id: Ulid::from_bytes(bytes[16..32].try_into().ok()?),
            secret: bytes[32..].try_into().ok()?,
        })
    }

    pub fn encode(&self) -> String {
        let mut bytes = Vec::with_capacity(64);
        bytes.extend_from_slice(&self.tenant_id.to_bytes());
        bytes.extend_from_slice(&self.session_id.to_bytes());
        bytes.extend_from_slice(&self.secret);
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// What the store keeps: the secret's SHA-256 (the secret has full entropy, so no salt).
    pub fn hash(&self) -> String {
        URL_SAFE_NO_PAD.encode(Sha256::digest(self.secret))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_and_parses_back() {
        let token = RefreshToken::generate(Ulid::new(), Ulid::new());
        assert_eq!(RefreshToken::parse(&token.encode()), Some(token.clone()));
        assert_ne!(token.hash(), RefreshToken::generate(token.tenant_id, token.session_id).hash());
    }

    #[test]
    fn rejects_garbage() {
        assert_eq!(RefreshToken::parse("not-a-token"), None);
        assert_eq!(RefreshToken::parse(""), None);
        assert_eq!(RefreshToken::parse(&URL_SAFE_NO_PAD.encode([0u8; 63])), None);
    }
}
