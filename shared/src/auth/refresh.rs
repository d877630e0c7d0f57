//! Refresh tokens: opaque to clients, 256 secret bits. The token also carries the tenant, session
//! and person ids, so the session, the person and the tenant are one batched read away under
//! tenant-prefixed keys. Only the SHA-256 of the whole token is stored, ids included: a token
//! whose ids were changed is not its session's, and the refresh also compares the ids with the
//! session's own before trusting any of them.
//!
//! Each refresh rotates the token. The next secret is derived from the presented one with a key
//! only the auth function holds (HMAC-SHA-256), so a client that repeats a refresh it did not
//! hear the answer to, or two tabs refreshing at once, get the same next token back within a
//! short grace, without the store keeping any token. The session remembers the hashes of the
//! tokens rotated away: one of those presented after the grace is a replay, and ends the session;
//! anything else (a forged token) changes nothing.

use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use ulid::Ulid;

/// A refresh token is valid this long after its last use...
pub const REFRESH_TOKEN_SECS: i64 = 7 * 24 * 3600;
/// ...and a device session lasts at most this long from its login, however often it refreshes.
pub const SESSION_MAX_SECS: i64 = 30 * 24 * 3600;
/// How long a just-rotated token still returns the token it was rotated into.
pub const GRACE_SECS: i64 = 10;
/// How many rotated-away hashes a session keeps to recognise a replay.
pub const ROTATED_KEPT: usize = 5;

#[derive(Clone, PartialEq, Eq)]
pub struct RefreshToken {
    pub tenant_id: Ulid,
    pub session_id: Ulid,
    pub person_id: Ulid,
    secret: [u8; 32],
}

impl std::fmt::Debug for RefreshToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RefreshToken({}/{}, [redacted])", self.tenant_id, self.session_id)
    }
}

/// The key next secrets are derived with (see the module docs).
pub struct ChainKey(hmac::Key);

impl ChainKey {
    /// Derived from a secret only the issuing function has (its token signing key).
    pub fn derive(secret: &[u8]) -> Self {
        let key = Sha256::new_with_prefix(b"rota refresh-token chain v1\0").chain_update(secret).finalize();
        Self(hmac::Key::new(hmac::HMAC_SHA256, &key))
    }
}

const ENCODED_BYTES: usize = 16 * 3 + 32;

impl RefreshToken {
    pub fn generate(tenant_id: Ulid, session_id: Ulid, person_id: Ulid) -> Self {
        let mut secret = [0; 32];
        OsRng.fill_bytes(&mut secret);
        Self { tenant_id, session_id, person_id, secret }
    }

    /// The token this one rotates into.
    pub fn next(&self, key: &ChainKey) -> Self {
        let mut secret = [0; 32];
        secret.copy_from_slice(hmac::sign(&key.0, &self.secret).as_ref());
        Self { secret, ..self.clone() }
    }

    /// Parses what a client sent; anything malformed is simply not a token.
    pub fn parse(token: &str) -> Option<Self> {
        let bytes: [u8; ENCODED_BYTES] = URL_SAFE_NO_PAD.decode(token.trim()).ok()?.try_into().ok()?;
        let ulid = |at: usize| Some(Ulid::from_bytes(bytes[at..at + 16].try_into().ok()?));
        Some(Self {
            tenant_id: ulid(0)?,
            session_id: ulid(16)?,
            person_id: ulid(32)?,
            secret: bytes[48..].try_into().ok()?,
        })
    }

    pub fn encode(&self) -> String {
        let mut bytes = Vec::with_capacity(ENCODED_BYTES);
        for id in [self.tenant_id, self.session_id, self.person_id] {
            bytes.extend_from_slice(&id.to_bytes());
        }
        bytes.extend_from_slice(&self.secret);
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// What the store keeps: the SHA-256 of the whole token, so every field is authenticated (the
    /// secret has full entropy, so no salt).
    pub fn hash(&self) -> String {
        let digest = [self.tenant_id, self.session_id, self.person_id]
            .iter()
            .fold(Sha256::new_with_prefix(b"rota refresh token v2\0"), |digest, id| digest.chain_update(id.to_bytes()))
            .chain_update(self.secret)
            .finalize();
        URL_SAFE_NO_PAD.encode(digest)
    }
}

/// A token the session rotated away, and when (epoch seconds).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rotated {
    pub hash: String,
    pub at: i64,
}

/// What a presented token is to its session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Presented {
    /// The session's current token: rotate it.
    Current,
    /// Rotated away within the grace: answer with the token the chain has reached since.
    Repeated,
    /// Rotated away longer ago: someone replays an old token; end the session.
    Replayed,
    /// Never this session's: a forgery or garbage; change nothing.
    Unknown,
}

/// Decides what `hash` is to a session holding `current` and the `rotated` history.
pub fn presented(hash: &str, current: &str, rotated: &[Rotated], now: i64) -> Presented {
    if hash == current {
        return Presented::Current;
    }
    match rotated.iter().find(|old| old.hash == hash) {
        Some(old) if now - old.at <= GRACE_SECS => Presented::Repeated,
        Some(_) => Presented::Replayed,
        None => Presented::Unknown,
    }
}

/// The history after rotating `hash` away at `now`: newest first, at most [`ROTATED_KEPT`].
pub fn after_rotation(rotated: &[Rotated], hash: &str, now: i64) -> Vec<Rotated> {
    std::iter::once(Rotated { hash: hash.to_owned(), at: now })
        .chain(rotated.iter().cloned())
        .take(ROTATED_KEPT)
        .collect()
}

/// Follows the chain from `token` to the one whose hash is `current`, within the few rotations a
/// session remembers. `None` when it is not on the chain.
pub fn catch_up(token: &RefreshToken, current: &str, key: &ChainKey) -> Option<RefreshToken> {
    std::iter::successors(Some(token.next(key)), |token| Some(token.next(key)))
        .take(ROTATED_KEPT)
        .find(|token| token.hash() == current)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token() -> RefreshToken {
        RefreshToken::generate(Ulid::new(), Ulid::new(), Ulid::new())
    }

    #[test]
    fn encodes_and_parses_back() {
        let token = token();
        assert_eq!(RefreshToken::parse(&token.encode()), Some(token.clone()));
        assert_ne!(token.hash(), RefreshToken::generate(token.tenant_id, token.session_id, token.person_id).hash());
        assert!(!format!("{token:?}").contains(&token.encode()), "Debug hides the secret");
    }

    #[test]
    fn the_hash_covers_every_field() {
        let token = token();
        let other = Ulid::new();
        for changed in [
            RefreshToken { tenant_id: other, ..token.clone() },
            RefreshToken { session_id: other, ..token.clone() },
            RefreshToken { person_id: other, ..token.clone() },
        ] {
            assert_ne!(changed.hash(), token.hash(), "{changed:?}");
        }
    }

    #[test]
    fn rejects_garbage() {
        assert_eq!(RefreshToken::parse("not-a-token"), None);
        assert_eq!(RefreshToken::parse(""), None);
        assert_eq!(RefreshToken::parse(&URL_SAFE_NO_PAD.encode([0u8; ENCODED_BYTES - 1])), None);
    }

    #[test]
    fn the_chain_is_fixed_by_the_key_and_unguessable_without_it() {
        let (key, other) = (ChainKey::derive(b"key one"), ChainKey::derive(b"key two"));
        let token = token();
        assert_eq!(token.next(&key), token.next(&key), "the same next token every time");
        assert_ne!(token.next(&key).hash(), token.hash());
        assert_ne!(token.next(&key), token.next(&other));
        assert_eq!((token.next(&key).tenant_id, token.next(&key).person_id), (token.tenant_id, token.person_id));
    }

    #[test]
    fn catches_up_along_the_chain_only() {
        let key = ChainKey::derive(b"key");
        let token = token();
        let third = token.next(&key).next(&key).next(&key);
        assert_eq!(catch_up(&token, &third.hash(), &key), Some(third));
        assert_eq!(catch_up(&token, &token.hash(), &key), None, "not ahead of itself");
        assert_eq!(catch_up(&token, &self::token().hash(), &key), None);
    }

    #[test]
    fn tells_current_repeated_replayed_and_unknown_tokens_apart() {
        let now = 1_000_000;
        let rotated = after_rotation(&after_rotation(&[], "h1", now - 60), "h2", now - 3);
        assert_eq!(rotated.iter().map(|r| r.hash.as_str()).collect::<Vec<_>>(), ["h2", "h1"]);
        assert_eq!(presented("h3", "h3", &rotated, now), Presented::Current);
        assert_eq!(presented("h2", "h3", &rotated, now), Presented::Repeated);
        assert_eq!(presented("h2", "h3", &rotated, now - 3 + GRACE_SECS), Presented::Repeated, "inclusive edge");
        assert_eq!(presented("h2", "h3", &rotated, now - 3 + GRACE_SECS + 1), Presented::Replayed);
        assert_eq!(presented("h1", "h3", &rotated, now), Presented::Replayed);
        assert_eq!(presented("forged", "h3", &rotated, now), Presented::Unknown);
    }

    #[test]
    fn keeps_only_the_newest_rotations() {
        let rotated = (0..8).fold(Vec::new(), |rotated, i| after_rotation(&rotated, &format!("h{i}"), i));
        assert_eq!(rotated.len(), ROTATED_KEPT);
        assert_eq!((rotated[0].hash.as_str(), rotated[4].hash.as_str()), ("h7", "h3"));
    }
}
