//! The signatures messaging providers put on their callbacks, checked in constant time.
//!
//! - Twilio (`X-Twilio-Signature`): base64 of HMAC-SHA1, keyed by the account's auth token, of the
//!   full URL Twilio called followed by every POST parameter's name and value, sorted by name.
//!   https://www.twilio.com/docs/usage/webhooks/webhooks-security
//! - Meta (`X-Hub-Signature-256`): `sha256=` and the hex HMAC-SHA256, keyed by the app secret, of
//!   the body's bytes exactly as sent. https://developers.facebook.com/docs/graph-api/webhooks/getting-started

use aws_lc_rs::{constant_time, hmac};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// Twilio's signature of a callback to `url` with form `params`.
pub fn twilio_signature(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, auth_token.as_bytes());
    let mut context = hmac::Context::with_key(&key);
    context.update(url.as_bytes());
    for (name, value) in sorted {
        context.update(name.as_bytes());
        context.update(value.as_bytes());
    }
    STANDARD.encode(context.sign().as_ref())
}

/// Whether `header` is Twilio's signature of the callback.
pub fn twilio_signed(auth_token: &str, url: &str, params: &[(String, String)], header: &str) -> bool {
    let expected = twilio_signature(auth_token, url, params);
    constant_time::verify_slices_are_equal(expected.as_bytes(), header.trim().as_bytes()).is_ok()
}

/// Meta's `X-Hub-Signature-256` of `body`.
pub fn meta_signature(app_secret: &str, body: &[u8]) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, app_secret.as_bytes());
    let digest = hmac::sign(&key, body);
    format!("sha256={}", digest.as_ref().iter().map(|byte| format!("{byte:02x}")).collect::<String>())
}

/// Whether `header` is Meta's signature of `body`.
pub fn meta_signed(app_secret: &str, body: &[u8], header: &str) -> bool {
    let expected = meta_signature(app_secret, body);
    constant_time::verify_slices_are_equal(expected.as_bytes(), header.trim().to_ascii_lowercase().as_bytes()).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(name, value)| ((*name).to_owned(), (*value).to_owned())).collect()
    }

    #[test]
    fn twilios_documented_example_verifies() {
        // The example of Twilio's webhook security page (and its libraries' tests).
        let token = "12345";
        let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
        let params = pairs(&[
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+14158675309"),
            ("Digits", "1234"),
            ("From", "+14158675309"),
            ("To", "+18005551212"),
        ]);
        assert_eq!(twilio_signature(token, url, &params), "RSOYDt4T1cUTdK1PDd93/VVr8B8=");
        assert!(twilio_signed(token, url, &params, "RSOYDt4T1cUTdK1PDd93/VVr8B8="));
        assert!(!twilio_signed("54321", url, &params, "RSOYDt4T1cUTdK1PDd93/VVr8B8="), "another token");
        let changed = pairs(&[("CallSid", "CA1234567890ABCDE"), ("Digits", "9999")]);
        assert!(!twilio_signed(token, url, &changed, "RSOYDt4T1cUTdK1PDd93/VVr8B8="), "other parameters");
        assert!(!twilio_signed(token, "https://mycompany.com/other", &params, "RSOYDt4T1cUTdK1PDd93/VVr8B8="));
    }

    #[test]
    fn metas_signature_is_the_bodys_hmac_in_hex() {
        let body = br#"{"object":"whatsapp_business_account"}"#;
        let header = meta_signature("app-secret", body);
        assert!(header.starts_with("sha256=") && header.len() == 7 + 64, "{header}");
        assert!(meta_signed("app-secret", body, &header));
        assert!(meta_signed("app-secret", body, &header.to_ascii_uppercase().replace("SHA256", "sha256")));
        assert!(!meta_signed("other-secret", body, &header));
        assert!(!meta_signed("app-secret", b"{}", &header));
        assert!(!meta_signed("app-secret", body, ""));
    }
}
