//! Field rules for `garde`'s `custom(...)`, shared by every request type. Each works on a text
//! field and on an optional one (checked only when given).
//!
//! Each rule also has the regular expression a request schema declares for it
//! (`#[schema(pattern = ...)]` takes only a literal, hence the `const`s); the tests below check
//! that rule and expression agree, and schemathesis checks the served schema against the API.

/// Schema pattern of [`not_blank`]: at least one character that is neither whitespace nor a
/// control character.
pub const NOT_BLANK: &str = r"[^\s\x00-\x1f\x7f-\x9f]";

/// Schema pattern of [`phone_number`] (with `max_length = 32`).
pub const PHONE_NUMBER: &str = r"^[ +\-.()]*(?:[0-9][ +\-.()]*){5,20}$";

/// Schema pattern of [`international_phone`] (with `max_length = 32`): the shape only; the rule
/// also checks the number against its country's plan.
pub const INTERNATIONAL_PHONE: &str = r"^ *(?:\+|00)[ ().-]*[1-9](?:[ ().-]*[0-9]){7,14}[ ().-]*$";

/// Schema pattern of [`totp_code`].
pub const TOTP_CODE: &str = "^[0-9]{6}$";

/// The largest `version` a request may send: a JSON integer's int64 range, as the document says.
pub const MAX_VERSION: u64 = i64::MAX as u64;

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

/// Something besides whitespace and control characters.
pub fn not_blank<T: Text>(value: &T, _: &()) -> garde::Result {
    match value.text() {
        Some(text) if text.chars().all(|c| c.is_whitespace() || c.is_control()) => {
            Err(garde::Error::new("must not be blank"))
        }
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

/// A phone Rota sends messages to: a valid number in international form (see
/// [`crate::phone::parse`]; stored as E.164).
pub fn international_phone<T: Text>(value: &T, _: &()) -> garde::Result {
    match value.text() {
        Some(text) if crate::phone::parse(text).is_none() => {
            Err(garde::Error::new("must be a valid phone number in international form, such as +44 7911 123456"))
        }
        _ => Ok(()),
    }
}

/// Optional free text (a note, a reason) as it is stored: trimmed, and none at all when blank.
pub fn trimmed(text: Option<String>) -> Option<String> {
    text.map(|text| text.trim().to_owned()).filter(|text| !text.is_empty())
}

/// For `#[serde(default, deserialize_with = "nullable")]` on an `Option<Option<T>>`: absent is
/// `None` (leave as is), `null` is `Some(None)` (remove), a value is `Some(Some(value))`.
pub fn nullable<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    serde::Deserialize::deserialize(deserializer).map(Some)
}

/// The schema of a list of at most `MAX_ITEMS` texts of 1 to `MAX_CHARS` characters, not blank (for
/// `#[schema(schema_with = texts::<20, 40>)]`: utoipa cannot put limits on items otherwise).
pub fn texts<const MAX_ITEMS: usize, const MAX_CHARS: usize>() -> utoipa::openapi::Array {
    use utoipa::openapi::{ArrayBuilder, ObjectBuilder, Type};
    let item = ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(1))
        .max_length(Some(MAX_CHARS))
        .pattern(Some(NOT_BLANK));
    ArrayBuilder::new().items(item).max_items(Some(MAX_ITEMS)).build()
}

/// The schema of a list of `MIN_ITEMS` to `MAX_ITEMS` record ids (1 to 64 characters each).
pub fn ids<const MIN_ITEMS: usize, const MAX_ITEMS: usize>() -> utoipa::openapi::Array {
    use utoipa::openapi::{ArrayBuilder, ObjectBuilder, Type};
    let item = ObjectBuilder::new().schema_type(Type::String).min_length(Some(1)).max_length(Some(64));
    ArrayBuilder::new().items(item).min_items(Some(MIN_ITEMS)).max_items(Some(MAX_ITEMS)).build()
}

/// As [`texts`], for an optional field where `null` means "leave as it is".
pub fn texts_or_null<const MAX_ITEMS: usize, const MAX_CHARS: usize>() -> utoipa::openapi::Array {
    use utoipa::openapi::schema::{SchemaType, Type};
    let mut array = texts::<MAX_ITEMS, MAX_CHARS>();
    array.schema_type = SchemaType::from_iter([Type::Array, Type::Null]);
    array
}

/// The years every date and instant a request names must fall in (both included): far enough
/// for any rota, near enough that no date arithmetic downstream can overflow.
pub const YEARS: std::ops::RangeInclusive<i32> = 2000..=2100;

/// A date or an instant, required or optional (see [`in_years`]).
pub trait Dated {
    fn year(&self) -> Option<i32>;
}

impl Dated for chrono::NaiveDate {
    fn year(&self) -> Option<i32> {
        Some(chrono::Datelike::year(self))
    }
}

impl Dated for chrono::DateTime<chrono::Utc> {
    fn year(&self) -> Option<i32> {
        Some(chrono::Datelike::year(self))
    }
}

impl<T: Dated> Dated for Option<T> {
    fn year(&self) -> Option<i32> {
        self.as_ref().and_then(Dated::year)
    }
}

/// In [`YEARS`]: the one bound on every date input, as a 422 naming the field.
pub fn in_years<T: Dated>(value: &T, _: &()) -> garde::Result {
    match value.year() {
        Some(year) if !YEARS.contains(&year) => {
            Err(garde::Error::new(format!("must be in the years {} to {}", YEARS.start(), YEARS.end())))
        }
        _ => Ok(()),
    }
}

/// A date from a path or another text: `YYYY-MM-DD` in [`YEARS`], else a 422 naming `field`.
pub fn date_in_years(text: &str, field: &str) -> Result<chrono::NaiveDate, crate::Error> {
    text.parse::<chrono::NaiveDate>().ok().filter(|date| in_years(date, &()).is_ok()).ok_or_else(|| {
        let message = format!("must be a date, YYYY-MM-DD, in the years {} to {}", YEARS.start(), YEARS.end());
        crate::Error::field(field, &message)
    })
}

/// Six digits, as an authenticator app shows a TOTP code.
pub fn totp_code<T: Text>(value: &T, _: &()) -> garde::Result {
    match value.text() {
        Some(text) if !crate::auth::totp::looks_like_code(text) => {
            Err(garde::Error::new("must be the 6 digits of a code"))
        }
        _ => Ok(()),
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
    fn not_blank_agrees_with_its_schema_pattern() {
        let pattern = regex::Regex::new(NOT_BLANK).unwrap();
        for code in (0..0x3100).chain([0xfeff, 0x1_f600]) {
            let Some(c) = char::from_u32(code) else { continue };
            for text in [c.to_string(), format!(" {c}\t")] {
                assert_eq!(not_blank(&text, &()).is_ok(), pattern.is_match(&text), "U+{code:04X} in {text:?}");
            }
        }
    }

    #[test]
    fn phone_number_agrees_with_its_schema_pattern() {
        let pattern = regex::Regex::new(PHONE_NUMBER).unwrap();
        let pieces = ["", "1", "12345", "+", " ", "-", ".", "(", ")", "x", "0612345678", "99999999999"];
        for a in pieces {
            for b in pieces {
                for c in pieces {
                    let text = format!("{a}{b}{c}{b}");
                    let schema = pattern.is_match(&text) && text.chars().count() <= 32;
                    assert_eq!(phone_number(&text, &()).is_ok(), schema, "{text:?}");
                }
            }
        }
    }

    #[test]
    fn international_phone_agrees_with_its_schema_pattern() {
        let pattern = regex::Regex::new(INTERNATIONAL_PHONE).unwrap();
        let pieces = ["", "+", "00", " ", "-", "(", ")", "x", "0", "44", "7911", "123456", "4479111234569999"];
        for a in pieces {
            for b in pieces {
                for c in pieces {
                    let text = format!("{a}{b}{c}{b}");
                    let shape = pattern.is_match(&text);
                    assert_eq!(crate::phone::written_internationally(&text), shape, "{text:?}");
                    if international_phone(&text, &()).is_ok() {
                        assert!(shape && text.chars().count() <= 32, "{text:?}");
                    }
                }
            }
        }
        assert!(international_phone(&"+44 (7911) 123-456".to_owned(), &()).is_ok());
        assert!(international_phone(&"+44 7700 900123".to_owned(), &()).is_err(), "never allocated");
        assert!(international_phone(&None::<String>, &()).is_ok());
    }

    #[test]
    fn totp_code_agrees_with_its_schema_pattern() {
        let pattern = regex::Regex::new(TOTP_CODE).unwrap();
        let pieces = ["", "0", "12", "123", "123456", " ", "a", "-", "٣", "\n"];
        for a in pieces {
            for b in pieces {
                for c in pieces {
                    let text = format!("{a}{b}{c}");
                    assert_eq!(totp_code(&text, &()).is_ok(), pattern.is_match(&text), "{text:?}");
                }
            }
        }
        assert!(totp_code(&None::<String>, &()).is_ok());
    }

    #[test]
    fn dates_and_instants_are_bounded_to_the_years_both_ways() {
        use chrono::{NaiveDate, TimeZone, Utc};
        let day = |y| NaiveDate::from_ymd_opt(y, 1, 1).unwrap();
        for (year, fine) in [(1999, false), (2000, true), (2100, true), (2101, false), (262_142, false), (-5, false)] {
            assert_eq!(in_years(&day(year), &()).is_ok(), fine, "{year}");
            assert_eq!(in_years(&Some(day(year).and_hms_opt(0, 0, 0).unwrap().and_utc()), &()).is_ok(), fine, "{year}");
        }
        assert!(in_years(&None::<NaiveDate>, &()).is_ok());
        assert!(in_years(&Utc.with_ymd_and_hms(2100, 12, 31, 23, 59, 59).unwrap(), &()).is_ok());
        assert_eq!(date_in_years("2030-07-01", "start").ok(), Some(day(2030) + chrono::Days::new(181)));
        for bad in ["+262142-12-31", "1999-12-31", "2030-13-01", "tomorrow"] {
            assert!(date_in_years(bad, "start").is_err(), "{bad}");
        }
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
