//! Phone numbers. A number coming in (a person's phone, a sign-in request) is read at the edge
//! with libphonenumber's metadata (the `rlibphonenumber` crate; [`parse`]): written in any international form, valid in its
//! country's numbering plan, kept as E.164. A stored number is read back with [`e164`].

use rlibphonenumber::{PhoneNumber, PhoneNumberFormat};

/// The longest phone text read (the schemas' `max_length`).
pub const MAX_LENGTH: usize = 32;

/// E.164 (`+447911123456`) of a number written in international form (`+44 7911 123456`,
/// `0044 (7911) 123-456`: see [`written_internationally`]) that is a valid number of its country's
/// plan. None for a national number (`07911 123456`: no country to read it in), an impossible or
/// unallocated one, or anything longer than [`MAX_LENGTH`].
pub fn parse(text: &str) -> Option<String> {
    if text.chars().count() > MAX_LENGTH || !written_internationally(text) {
        return None;
    }
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    let international = format!("+{}", if text.trim_start().starts_with('+') { &digits } else { &digits[2..] });
    let number: PhoneNumber = international.parse().ok()?;
    number.is_valid().then(|| number.format_as(PhoneNumberFormat::E164).into_owned())
}

/// The shape of a number in international form, as [`crate::validate::INTERNATIONAL_PHONE`]
/// states it: `+` or `00`, then 8 to 15 digits, the first not 0, with spaces, dots, dashes and
/// brackets anywhere after the prefix.
pub fn written_internationally(text: &str) -> bool {
    let text = text.trim_start_matches(' ');
    let Some(rest) = text.strip_prefix('+').or_else(|| text.strip_prefix("00")) else { return false };
    let mut digits = rest.chars().filter(char::is_ascii_digit);
    rest.chars().all(|c| c.is_ascii_digit() || " ().-".contains(c))
        && digits.next().is_some_and(|first| first != '0')
        && (7..=14).contains(&digits.count())
}

/// A phone as it is stored, once its rule has passed: [`parse`]d (trimmed only in the case the
/// rule was not applied).
pub fn stored(text: &str) -> String {
    parse(text).unwrap_or_else(|| text.trim().to_owned())
}

/// A stored phone as E.164, for SMS, WhatsApp, phone sign-in and `wa.me` links. Phones are
/// stored as E.164 since they are [`parse`]d on the way in; one stored before that as it was
/// written is read here the cheap way (spaces, dashes, dots and brackets dropped, a leading `00`
/// read as `+`). None when it is not an international number.
pub fn e164(stored: &str) -> Option<String> {
    let compact: String = stored.chars().filter(|c| !" -.()".contains(*c)).collect();
    let number = match compact.strip_prefix("00") {
        Some(rest) => format!("+{rest}"),
        None => compact,
    };
    let digits = number.strip_prefix('+')?;
    let fits =
        (8..=15).contains(&digits.len()) && !digits.starts_with('0') && digits.bytes().all(|b| b.is_ascii_digit());
    fits.then_some(number)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_in_any_international_form_are_kept_as_e164() {
        for (written, e164) in [
            ("+44 7911 123456", "+447911123456"),
            ("0044 (7911) 123-456", "+447911123456"),
            ("  +44.7911.123.456 ", "+447911123456"),
            ("00 1-415-867-5309", "+14158675309"),
            ("+44 20 7946 0958", "+442079460958"),
            ("+1 (415) 867-5309", "+14158675309"),
            ("+49 1512 3456789", "+4915123456789"),
            ("+91 98765 43210", "+919876543210"),
        ] {
            assert_eq!(parse(written).as_deref(), Some(e164), "{written}");
        }
    }

    #[test]
    fn national_impossible_and_unallocated_numbers_are_refused() {
        for refused in [
            "07911 123456",         // national: no country to read it in
            "+44 7911 12345",       // one digit short of a UK mobile
            "+44 7911 1234567",     // one digit too many
            "+44 7700 900123",      // Ofcom's range for drama, never allocated
            "+1 555 0100",          // too short for the North American plan
            "+999 1234 5678",       // no such country code
            "+44 20 7946 0958 x12", // an extension cannot take an SMS
            "+44 CALL NOW",
            "tel:+44-7911-123456",
            "+0044 7911 123456",
            "",
            "+",
            "+4479111234560000000000000000000000",
        ] {
            assert_eq!(parse(refused), None, "{refused:?}");
        }
    }

    #[test]
    fn stored_numbers_read_as_e164() {
        assert_eq!(e164("+447911123456").as_deref(), Some("+447911123456"));
        assert_eq!(e164("0044 (20) 7946-0958").as_deref(), Some("+442079460958"), "stored as written before");
        for not_international in ["020 7946 0958", "", "+", "+0 20 7946 0958", "+44 20 7946 0958 ext 2", "+1234567"] {
            assert_eq!(e164(not_international), None, "{not_international}");
        }
    }
}
