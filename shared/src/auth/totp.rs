//! TOTP (RFC 6238) as Rota uses it: HMAC-SHA1, 30-second steps, 6 digits, one step of clock skew
//! either way, with `totp-rs` doing the arithmetic. Pure: no clock inside, every time is passed in.
//!
//! A check answers the time step the code belongs to, not just yes or no: RFC 6238 §5.2 wants a
//! code accepted at most once, so the store keeps the newest accepted step and takes a code only
//! for a later one, with a conditional write (see `store::mfa`).

use rand_core::{OsRng, RngCore};
use totp_rs::{Algorithm, Builder, Secret, Totp};

use crate::Error;

/// The issuer authenticator apps show next to the account.
pub const ISSUER: &str = "Rota";
pub const STEP_SECS: i64 = 30;
pub const DIGITS: u8 = 6;
/// Steps accepted before and after the current one (clock drift, a code typed as it changed).
pub const SKEW_STEPS: u16 = 1;
/// 160 bits, as RFC 4226 recommends.
const SECRET_BYTES: usize = 20;

/// A new shared secret, base32 (RFC 4648, no padding: 32 characters) as authenticator apps take it.
pub fn generate_secret() -> String {
    let mut bytes = [0; SECRET_BYTES];
    OsRng.fill_bytes(&mut bytes);
    Secret::from(bytes).to_base32()
}

fn totp(secret: &str, account: Option<&str>) -> Result<Totp, Error> {
    let bytes = Secret::try_from_base32(secret).map_err(|_| Error::internal("a stored TOTP secret is not base32"))?;
    let mut builder = Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(DIGITS)
        .with_skew(SKEW_STEPS)
        .with_step_duration(STEP_SECS as u64)
        .with_secret(bytes);
    if let Some(account) = account {
        // A colon separates issuer and account in the URI's label, so none may hold one.
        builder = builder.with_issuer(Some(ISSUER)).with_account_name(account.replace(':', "_"));
    }
    builder.build().map_err(|e| Error::internal(format!("TOTP settings refused: {e}")))
}

/// The `otpauth://totp/Rota:{account}?secret=…&issuer=Rota` URI an authenticator app scans (as a
/// QR code) or takes as a link; the defaults it leaves out are ours (SHA1, 6 digits, 30 s).
pub fn otpauth_uri(secret: &str, account: &str) -> Result<String, Error> {
    totp(secret, Some(account))?.to_url().map_err(|e| Error::internal(format!("TOTP URI: {e}")))
}

/// The time step (`time / 30`) whose code `code` is, if it is the code of the step at `now` or of
/// the one before or after it. Anything but exactly six digits is no code.
pub fn verify(secret: &str, code: &str, now: i64) -> Result<Option<i64>, Error> {
    let Ok(now) = u64::try_from(now) else { return Ok(None) };
    Ok(totp(secret, None)?.check(code, now).map(|step| step as i64))
}

/// The code of the step that `time` falls in.
pub fn code_at(secret: &str, time: i64) -> Result<String, Error> {
    let time = u64::try_from(time).map_err(|_| Error::internal("a time before 1970"))?;
    Ok(totp(secret, None)?.generate(time).to_string())
}

/// Whether `code` has the shape of a TOTP code (six digits) rather than of a recovery code.
pub fn looks_like_code(code: &str) -> bool {
    code.len() == DIGITS as usize && code.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B's SHA1 secret, "12345678901234567890" in ASCII, as base32.
    const RFC_SECRET: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

    /// Appendix B's SHA1 vectors: time and its 8-digit code. Ours are 6 digits, and a shorter code
    /// is the same value modulo a smaller power of ten: the last 6 digits.
    const RFC_VECTORS: [(i64, &str); 6] = [
        (59, "94287082"),
        (1111111109, "07081804"),
        (1111111111, "14050471"),
        (1234567890, "89005924"),
        (2000000000, "69279037"),
        (20000000000, "65353130"),
    ];

    #[test]
    fn codes_match_the_rfc_6238_vectors() {
        for (time, code) in RFC_VECTORS {
            assert_eq!(code_at(RFC_SECRET, time).unwrap(), code[2..], "T = {time}");
        }
        // And with 8 digits, the vectors as printed: the builder is configured as the RFC's.
        let eight =
            Builder::new().with_digits(8).with_secret(Secret::try_from_base32(RFC_SECRET).unwrap()).build().unwrap();
        for (time, code) in RFC_VECTORS {
            assert_eq!(eight.generate(time as u64).to_string(), code, "T = {time}");
        }
    }

    #[test]
    fn a_code_is_accepted_one_step_either_side_and_answers_its_step() {
        let now = 1_111_111_111; // step 37_037_037, 1 s into it
        let step = now / STEP_SECS;
        let code = code_at(RFC_SECRET, now).unwrap();
        assert_eq!(verify(RFC_SECRET, &code, now).unwrap(), Some(step));
        assert_eq!(verify(RFC_SECRET, &code, now + STEP_SECS).unwrap(), Some(step), "one step late");
        assert_eq!(verify(RFC_SECRET, &code, now - STEP_SECS).unwrap(), Some(step), "one step early");
        assert_eq!(verify(RFC_SECRET, &code, now + 2 * STEP_SECS).unwrap(), None, "two steps late");
        assert_eq!(verify(RFC_SECRET, &code, now - 2 * STEP_SECS).unwrap(), None, "two steps early");
        let next = code_at(RFC_SECRET, now + STEP_SECS).unwrap();
        assert_eq!(verify(RFC_SECRET, &next, now).unwrap(), Some(step + 1));
    }

    #[test]
    fn anything_but_the_right_six_digits_is_refused() {
        let now = 1_234_567_890;
        let code = code_at(RFC_SECRET, now).unwrap();
        let wrong = format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000);
        for attempt in [wrong.as_str(), "", "12345", "1234567", "+12345", "abcdef", &format!(" {code}")] {
            assert_eq!(verify(RFC_SECRET, attempt, now).unwrap(), None, "{attempt:?}");
        }
        assert_eq!(verify(RFC_SECRET, &code, -1).unwrap(), None, "a time before 1970");
        let other = generate_secret();
        assert_eq!(verify(&other, &code, now).unwrap().is_some(), code_at(&other, now).unwrap() == code);
    }

    #[test]
    fn secrets_are_160_random_bits_in_base32() {
        let secret = generate_secret();
        assert_eq!(secret.len(), 32);
        assert!(secret.bytes().all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b)), "{secret}");
        assert_ne!(generate_secret(), secret);
    }

    #[test]
    fn the_uri_names_issuer_account_and_secret() {
        let uri = otpauth_uri(RFC_SECRET, "olive@harbour.example").unwrap();
        assert_eq!(uri, format!("otpauth://totp/Rota:olive%40harbour.example?secret={RFC_SECRET}&issuer=Rota"));
        let odd = otpauth_uri(RFC_SECRET, "a:b@example.com").unwrap();
        assert!(odd.starts_with("otpauth://totp/Rota:a_b%40example.com?"), "{odd}");
    }

    #[test]
    fn codes_and_recovery_codes_are_told_apart_by_shape() {
        assert!(looks_like_code("012345"));
        assert!(!looks_like_code("01234") && !looks_like_code("abcd-efgh") && !looks_like_code("٠١٢٣٤٥"));
    }
}
