//! Field rules for `garde`'s `custom(...)`, shared by every request type. Each works on a text
//! field and on an optional one (checked only when given).

/// A text field, required or optional.
pub trait Text {
    fn text(&self) -> Option<&str>;
}

impl Text for String {
    fn text(&self) -> Option<&str> {
        Some(self)
    }
}

impl Text for Option<String> {
    fn text(&self) -> Option<&str> {
        self.as_deref()
    }
}

/// Something besides whitespace.
pub fn not_blank<T: Text>(value: &T, _: &()) -> garde::Result {
    match value.text() {
        Some(text) if text.trim().is_empty() => Err(garde::Error::new("must not be blank")),
        _ => Ok(()),
    }
}

/// A phone number as people write them: 5 to 20 digits, optionally with `+ - . ( )` and spaces.
pub fn phone_number<T: Text>(value: &T, _: &()) -> garde::Result {
    let Some(text) = value.text() else { return Ok(()) };
    let digits = text.chars().filter(char::is_ascii_digit).count();
    let allowed = text.chars().all(|c| c.is_ascii_digit() || " +-.()".contains(c));
    if allowed && (5..=20).contains(&digits) && text.len() <= 32 {
        Ok(())
    } else {
        Err(garde::Error::new("must be a phone number: 5 to 20 digits, optionally with + - . ( ) and spaces"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_text_is_refused_and_absent_text_is_fine() {
        assert!(not_blank(&"  ".to_owned(), &()).is_err());
        assert!(not_blank(&Some("\t".to_owned()), &()).is_err());
        assert!(not_blank(&"Olive".to_owned(), &()).is_ok());
        assert!(not_blank(&None::<String>, &()).is_ok());
    }

    #[test]
    fn accepts_common_phone_formats_only() {
        for good in ["+44 20 7946 0958", "(555) 123-4567", "0612345678"] {
            assert!(phone_number(&good.to_owned(), &()).is_ok(), "{good}");
        }
        for bad in ["call me", "12", "+1 555 CALL NOW", "1234567890123456789012"] {
            assert!(phone_number(&bad.to_owned(), &()).is_err(), "{bad}");
        }
    }
}
