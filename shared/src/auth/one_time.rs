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

/// Whether two stored hashes are the same (compared in constant time).
pub fn same_hash(stored: &str, presented: &str) -> bool {
    aws_lc_rs::constant_time::verify_slices_are_equal(stored.as_bytes(), presented.as_bytes()).is_ok()
}

/// A six-digit code (a sign-in by phone), and the random salt its stored hash is made with.
pub fn code() -> (String, String) {
    // 2^64 is no multiple of a million; the bias is below one in 10^13.
    let code = format!("{:06}", OsRng.next_u64() % 1_000_000);
    let mut salt = [0; 16];
    OsRng.fill_bytes(&mut salt);
    (code, URL_SAFE_NO_PAD.encode(salt))
}

/// The stored form of a code under its salt.
pub fn code_hash(code: &str, salt: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::new().chain_update(salt.as_bytes()).chain_update(code.trim().as_bytes()).finalize())
}

/// Whether `code` is the one stored as `hash` under `salt` (compared in constant time).
pub fn code_matches(code: &str, salt: &str, hash: &str) -> bool {
    same_hash(hash, &code_hash(code, salt))
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

    #[test]
    fn codes_are_six_digits_and_stored_salted() {
        let (code, salt) = super::code();
        assert!(code.len() == 6 && code.bytes().all(|byte| byte.is_ascii_digit()), "{code}");
        assert!(super::code_matches(&format!(" {code} "), &salt, &super::code_hash(&code, &salt)));
        assert!(!super::code_matches("000000", &salt, &super::code_hash("000001", &salt)));
        assert_ne!(super::code_hash(&code, &salt), super::code_hash(&code, &super::code().1), "another salt");
    }
}
