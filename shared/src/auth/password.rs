//! argon2id with the OWASP parameters: m = 19 MiB, t = 2, p = 1.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand_core::OsRng;

use crate::Error;

fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("constant argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes a password into a PHC string (parameters and salt travel with the hash).
pub async fn hash(password: String) -> Result<String, Error> {
    blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        argon2().hash_password(password.as_bytes(), &salt).map(|h| h.to_string()).map_err(Error::internal)
    })
    .await
}

/// Checks a password against a stored PHC string. With no stored hash (unknown email) it still
/// does the same work, so response time does not reveal which emails exist.
pub async fn verify(password: String, stored: Option<String>) -> Result<bool, Error> {
    blocking(move || {
        let stored = stored.as_deref().unwrap_or(DUMMY_HASH);
        let parsed = PasswordHash::new(stored).map_err(Error::internal)?;
        Ok(argon2().verify_password(password.as_bytes(), &parsed).is_ok())
    })
    .await
}

/// A hash of nothing anyone knows, with the same parameters as real ones: verifying against it
/// costs what a real verify costs. A constant, so even the first unknown-email login of a cold
/// instance takes no longer than the others.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$i1OR0udoze5hBVq78ZPIBA$D2wMKgXPZNFjb0MvH4sjwGDA5YTOsyGwkR7F6olou1k";

/// argon2 is deliberately slow CPU work: keep it off the async workers.
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> Result<T, Error> + Send + 'static) -> Result<T, Error> {
    tokio::task::spawn_blocking(work).await.map_err(Error::internal)?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_with_owasp_parameters_and_verifies() {
        let stored = hash("correct horse battery".into()).await.unwrap();
        assert!(stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{stored}");
        assert!(verify("correct horse battery".into(), Some(stored.clone())).await.unwrap());
        assert!(!verify("wrong horse battery".into(), Some(stored)).await.unwrap());
        assert!(!verify("anything".into(), None).await.unwrap());
    }

    #[test]
    fn the_dummy_hash_costs_what_a_real_one_does() {
        let dummy = PasswordHash::new(DUMMY_HASH).unwrap();
        let salt = SaltString::generate(&mut OsRng);
        let real = argon2().hash_password(b"x", &salt).unwrap();
        assert_eq!(dummy.algorithm, real.algorithm);
        assert_eq!(dummy.params, real.params);
    }
}
