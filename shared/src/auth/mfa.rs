//! The rest of two-factor authentication besides the TOTP arithmetic ([`super::totp`]): the token
//! that carries a login from its password to its second factor, and recovery codes.
//!
//! An [`MfaToken`] is like a refresh token: 256 secret bits, of which only the SHA-256 is stored,
//! plus the tenant and person ids, so completing the login reads the pending login, the person's
//! enrolment, the person and the organisation in one batched read under tenant-prefixed keys.
//!
//! Recovery codes are 80 random bits each, written in Crockford's base32 as
//! `xxxx-xxxx-xxxx-xxxx`; only their SHA-256 is stored. Typing is forgiving: case, spaces and
//! dashes do not matter, and `o`, `i`, `l` read as `0`, `1`, `1`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand_core::{OsRng, RngCore};
use sha2::{Digest, Sha256};
use ulid::Ulid;

/// How long a login waits for its second factor.
pub const MFA_TOKEN_SECS: i64 = 5 * 60;
/// Recovery codes given when two-factor authentication is turned on.
pub const RECOVERY_CODES: usize = 10;

#[derive(Clone, PartialEq, Eq)]
pub struct MfaToken {
    pub tenant_id: Ulid,
    pub person_id: Ulid,
    secret: [u8; 32],
}

impl std::fmt::Debug for MfaToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MfaToken({}/{}, [redacted])", self.tenant_id, self.person_id)
    }
}

const ENCODED_BYTES: usize = 16 * 2 + 32;

impl MfaToken {
    pub fn generate(tenant_id: Ulid, person_id: Ulid) -> Self {
        let mut secret = [0; 32];
        OsRng.fill_bytes(&mut secret);
        Self { tenant_id, person_id, secret }
    }

    /// Parses what a client sent; anything malformed is simply not a token.
    pub fn parse(token: &str) -> Option<Self> {
        let bytes: [u8; ENCODED_BYTES] = URL_SAFE_NO_PAD.decode(token.trim()).ok()?.try_into().ok()?;
        Some(Self {
            tenant_id: Ulid::from_bytes(bytes[..16].try_into().ok()?),
            person_id: Ulid::from_bytes(bytes[16..32].try_into().ok()?),
            secret: bytes[32..].try_into().ok()?,
        })
    }

    pub fn encode(&self) -> String {
        let mut bytes = Vec::with_capacity(ENCODED_BYTES);
        bytes.extend_from_slice(&self.tenant_id.to_bytes());
        bytes.extend_from_slice(&self.person_id.to_bytes());
        bytes.extend_from_slice(&self.secret);
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// What the store keeps: the secret's SHA-256.
    pub fn hash(&self) -> String {
        URL_SAFE_NO_PAD.encode(Sha256::digest(self.secret))
    }
}

/// Crockford's base32 alphabet: no `i`, `l`, `o`, `u`.
const CROCKFORD: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

/// New recovery codes, as shown to the person once, and the hashes to store.
pub fn generate_recovery_codes() -> (Vec<String>, Vec<String>) {
    (0..RECOVERY_CODES)
        .map(|_| {
            let mut bytes = [0u8; 10];
            OsRng.fill_bytes(&mut bytes);
            let bits = bytes.iter().fold(0u128, |bits, byte| (bits << 8) | u128::from(*byte));
            let chars: Vec<u8> = (0..16).rev().map(|i| CROCKFORD[((bits >> (i * 5)) & 31) as usize]).collect();
            let code = chars.chunks(4).map(|chunk| String::from_utf8_lossy(chunk)).collect::<Vec<_>>().join("-");
            let hash = recovery_hash(&code);
            (code, hash)
        })
        .unzip()
}

/// The stored form of a recovery code as a person typed it.
pub fn recovery_hash(code: &str) -> String {
    let normalised: String = code
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| match c.to_ascii_lowercase() {
            'o' => '0',
            'i' | 'l' => '1',
            c => c,
        })
        .collect();
    URL_SAFE_NO_PAD.encode(Sha256::digest(normalised.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_encode_parse_and_hide_their_secret() {
        let token = MfaToken::generate(Ulid::new(), Ulid::new());
        assert_eq!(MfaToken::parse(&token.encode()), Some(token.clone()));
        assert_eq!(token.encode().len(), 86);
        assert_ne!(token.hash(), MfaToken::generate(token.tenant_id, token.person_id).hash());
        assert!(!format!("{token:?}").contains(&token.encode()));
        assert_eq!(MfaToken::parse("garbage"), None);
        assert_eq!(MfaToken::parse(&URL_SAFE_NO_PAD.encode([0u8; ENCODED_BYTES + 1])), None);
    }

    #[test]
    fn recovery_codes_are_ten_distinct_80_bit_codes_stored_as_hashes() {
        let (codes, hashes) = generate_recovery_codes();
        assert_eq!((codes.len(), hashes.len()), (RECOVERY_CODES, RECOVERY_CODES));
        for (code, hash) in codes.iter().zip(&hashes) {
            assert_eq!(code.len(), 19, "{code}");
            assert!(code.split('-').all(|group| group.len() == 4), "{code}");
            assert!(code.bytes().all(|b| b == b'-' || CROCKFORD.contains(&b)), "{code}");
            assert_eq!(&recovery_hash(code), hash);
            assert!(!hash.contains(code.as_str()));
        }
        let mut distinct = codes.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), RECOVERY_CODES);
    }

    #[test]
    fn recovery_codes_forgive_case_spacing_dashes_and_look_alikes() {
        let hash = recovery_hash("01ab-cdef-gh1k-mnpq");
        for typed in [
            "01AB-CDEF-GH1K-MNPQ",
            "01ab cdef gh1k mnpq",
            "01abcdefgh1kmnpq",
            "o1ab-cdef-ghik-mnpq",
            "0lab-cdef-ghLk-mnpq",
        ] {
            assert_eq!(recovery_hash(typed), hash, "{typed}");
        }
        assert_ne!(recovery_hash("01ab-cdef-gh1k-mnpr"), hash);
    }
}
