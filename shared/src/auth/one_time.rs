//! One-time tokens for emailed links (sign-up verification; invitations and password resets
//! later): 256 random bits, URL-safe; only the SHA-256 is stored, so the store never holds a
//! usable link.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand_core::{OsRng, RngCore};
use sha2::{Digest, Sha256};

/// A new token and the hash to store for it.
pub fn generate() -> (String, String) {
    let mut secret = [0; 32];
    OsRng.fill_bytes(&mut secret);
    let token = URL_SAFE_NO_PAD.encode(secret);
    let hash = hash(&token);
    (token, hash)
}

/// The stored form of a token a client sent back.
pub fn hash(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(token.trim().as_bytes()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn tokens_are_random_and_stored_only_as_their_hash() {
        let (token, hash) = super::generate();
        assert_eq!(token.len(), 43);
        assert_eq!(super::hash(&token), hash);
        assert_ne!(hash, token);
        assert_ne!(super::generate().0, token);
    }
}
