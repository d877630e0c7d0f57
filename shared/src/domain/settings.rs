//! An organisation's rule settings: one typed object with the defaults of PRODUCT.md. Later rules
//! (conflicts, attendance, payroll) read their thresholds from here, never from constants of
//! their own.

use garde::Validate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Every rule setting of an organisation. A field missing from a stored tenant takes its default,
/// so adding a setting needs no migration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Validate, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// A check-in this many minutes after the shift's start is still on time (inclusive).
    #[garde(range(max = 120))]
    #[schema(maximum = 120)]
    pub late_grace_minutes: u32,
    /// A check-out this many minutes before the shift's end is not an early exit (inclusive).
    #[garde(range(max = 120))]
    #[schema(maximum = 120)]
    pub early_exit_grace_minutes: u32,
    /// Check-in opens this many minutes before a shift starts.
    #[garde(range(max = 720))]
    #[schema(maximum = 720)]
    pub check_in_opens_minutes_before: u32,
    /// Check-in and check-out close this many minutes after a shift ends.
    #[garde(range(max = 720))]
    #[schema(maximum = 720)]
    pub check_in_closes_minutes_after: u32,
    /// What a check-in outside the location's radius gets: refused, or accepted and flagged.
    #[garde(skip)]
    pub geofence: GeofenceMode,
    /// Whether a check-in needs a photo.
    #[garde(skip)]
    pub photo_required: bool,
    /// Minimum rest between two shifts of one person, in minutes (11 h).
    #[garde(range(max = 1440))]
    #[schema(maximum = 1440)]
    pub min_rest_minutes: u32,
    /// Most days in a row one person may work.
    #[garde(range(min = 1, max = 31))]
    #[schema(minimum = 1, maximum = 31)]
    pub max_consecutive_days: u32,
    /// The weekly cap of a person who has none of their own, in hours.
    #[garde(range(min = 1, max = 168))]
    #[schema(minimum = 1, maximum = 168)]
    pub weekly_hours_cap: u32,
    /// Worked minutes in one day beyond this are overtime (8 h).
    #[garde(range(min = 60, max = 1440))]
    #[schema(minimum = 60, maximum = 1440)]
    pub daily_overtime_after_minutes: u32,
    /// Worked minutes in one week beyond this are overtime (40 h).
    #[garde(range(min = 60, max = 10080))]
    #[schema(minimum = 60, maximum = 10080)]
    pub weekly_overtime_after_minutes: u32,
    /// Overtime pay as a percentage of the hourly rate (150 = 1.5×).
    #[garde(range(min = 100, max = 400))]
    #[schema(minimum = 100, maximum = 400)]
    pub overtime_rate_percent: u32,
    #[garde(skip)]
    pub pay_period: PayPeriod,
    /// Flat deductions taken from gross pay, each a share of it in basis points (1 % = 100).
    #[garde(length(max = 10), dive)]
    #[schema(max_items = 10)]
    pub deductions: Vec<Deduction>,
    /// Staff may drop their own assignment until this many hours before the shift starts.
    #[garde(range(max = 720))]
    #[schema(maximum = 720)]
    pub drop_cutoff_hours: u32,
    /// A swap a colleague has taken still needs a coordinator's approval; off, taking it hands
    /// the shift over at once (the rules are checked either way).
    #[garde(skip)]
    pub swap_approval_required: bool,
    /// An offered place counts only once its person accepts it. Off (the default), an unanswered
    /// offer counts as scheduled: its person is reminded, counted in the weekly hours and marked
    /// absent when the window closes without them (showing up is the answer: checking in
    /// accepts it).
    #[garde(skip)]
    pub offers_need_answer: bool,
    /// Shift reminders go out this many hours before the start.
    #[garde(range(max = 168))]
    #[schema(maximum = 168)]
    pub reminder_hours_before: u32,
    /// Owners, admins and platform admins must pass two-factor authentication before any
    /// action beyond their own profile.
    #[garde(skip)]
    pub require_admin_mfa: bool,
    /// Staff may sign in with a code sent to their phone (`POST /auth/otp/request`) instead of
    /// their password. Other roles always need their password (and their second factor).
    #[garde(skip)]
    pub phone_sign_in: bool,
    /// Which channels besides email may carry each kind of message (SMS and WhatsApp cost
    /// more): a kind not listed goes by any channel its recipient prefers. Email always may.
    #[garde(length(max = 30), dive)]
    #[schema(max_items = 30)]
    pub message_channels: Vec<KindChannels>,
}

/// The channels besides email one kind of message may go by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KindChannels {
    #[garde(skip)]
    pub kind: crate::notify::Kind,
    /// `sms`, `whatsapp`; empty: email only.
    #[garde(length(max = 3))]
    #[schema(max_items = 3)]
    pub channels: Vec<crate::notify::ChannelKind>,
}

impl Settings {
    /// The channels `kind` may go by, when the organisation limits them (email always may).
    pub fn channels_for(&self, kind: crate::notify::Kind) -> Option<&[crate::notify::ChannelKind]> {
        self.message_channels.iter().find(|allowed| allowed.kind == kind).map(|allowed| allowed.channels.as_slice())
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            late_grace_minutes: 5,
            early_exit_grace_minutes: 5,
            check_in_opens_minutes_before: 60,
            check_in_closes_minutes_after: 60,
            geofence: GeofenceMode::Reject,
            photo_required: false,
            min_rest_minutes: 11 * 60,
            max_consecutive_days: 6,
            weekly_hours_cap: 48,
            daily_overtime_after_minutes: 8 * 60,
            weekly_overtime_after_minutes: 40 * 60,
            overtime_rate_percent: 150,
            pay_period: PayPeriod::Weekly,
            deductions: Vec::new(),
            drop_cutoff_hours: 24,
            swap_approval_required: true,
            offers_need_answer: false,
            reminder_hours_before: 12,
            message_channels: Vec::new(),
            require_admin_mfa: true,
            phone_sign_in: false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GeofenceMode {
    /// A check-in outside the radius is refused (422 `outside_geofence`).
    Reject,
    /// It is accepted and flagged for review.
    Flag,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PayPeriod {
    Weekly,
    Biweekly,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Deduction {
    #[garde(length(chars, min = 1, max = 60), custom(crate::validate::not_blank))]
    #[schema(min_length = 1, max_length = 60, pattern = r"[^\s\x00-\x1f\x7f-\x9f]")]
    pub name: String,
    /// Share of gross pay in basis points: 1 % = 100, at most 100 %.
    #[garde(range(max = 10000))]
    #[schema(maximum = 10000)]
    pub basis_points: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Weekday {
    #[serde(alias = "mon")]
    Monday,
    #[serde(alias = "tue")]
    Tuesday,
    #[serde(alias = "wed")]
    Wednesday,
    #[serde(alias = "thu")]
    Thursday,
    #[serde(alias = "fri")]
    Friday,
    #[serde(alias = "sat")]
    Saturday,
    #[serde(alias = "sun")]
    Sunday,
}

impl Settings {
    /// Whether a place in `status` counts as scheduled: accepted ones always, offered ones unless
    /// offers need an answer, declined ones never.
    pub fn counts_as_scheduled(&self, status: crate::store::schedule::AssignmentStatus) -> bool {
        use crate::store::schedule::AssignmentStatus;
        match status {
            AssignmentStatus::Accepted => true,
            AssignmentStatus::Offered => !self.offers_need_answer,
            AssignmentStatus::Declined => false,
        }
    }
}

impl From<Weekday> for chrono::Weekday {
    fn from(weekday: Weekday) -> Self {
        match weekday {
            Weekday::Monday => chrono::Weekday::Mon,
            Weekday::Tuesday => chrono::Weekday::Tue,
            Weekday::Wednesday => chrono::Weekday::Wed,
            Weekday::Thursday => chrono::Weekday::Thu,
            Weekday::Friday => chrono::Weekday::Fri,
            Weekday::Saturday => chrono::Weekday::Sat,
            Weekday::Sunday => chrono::Weekday::Sun,
        }
    }
}

impl From<chrono::Weekday> for Weekday {
    fn from(weekday: chrono::Weekday) -> Self {
        match weekday {
            chrono::Weekday::Mon => Weekday::Monday,
            chrono::Weekday::Tue => Weekday::Tuesday,
            chrono::Weekday::Wed => Weekday::Wednesday,
            chrono::Weekday::Thu => Weekday::Thursday,
            chrono::Weekday::Fri => Weekday::Friday,
            chrono::Weekday::Sat => Weekday::Saturday,
            chrono::Weekday::Sun => Weekday::Sunday,
        }
    }
}

/// The schema of a time zone: every name of the tz database, so a client can offer the list and
/// a generated value is always one the API accepts.
pub struct TimeZone;

impl utoipa::PartialSchema for TimeZone {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        let names: Vec<&str> = chrono_tz::TZ_VARIANTS.iter().map(|zone| zone.name()).collect();
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::Type::String)
            .description(Some("An IANA time zone name, e.g. `Europe/Berlin`"))
            .enum_values(Some(names))
            .into()
    }
}

impl utoipa::ToSchema for TimeZone {
    fn name() -> std::borrow::Cow<'static, str> {
        "TimeZone".into()
    }
}

/// An IANA time zone name known to the tz database (`Europe/Berlin`, `UTC`).
pub fn time_zone<T: crate::validate::Text>(value: &T, _: &()) -> garde::Result {
    match value.text() {
        Some(name) if name.parse::<chrono_tz::Tz>().is_err() => {
            Err(garde::Error::new("must be an IANA time zone such as Europe/Berlin"))
        }
        _ => Ok(()),
    }
}

/// An ISO 4217 currency code: three capital letters.
pub fn currency<T: crate::validate::Text>(value: &T, _: &()) -> garde::Result {
    match value.text() {
        Some(code) if !(code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase())) => {
            Err(garde::Error::new("must be an ISO 4217 currency code such as EUR"))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_tenant_without_settings_gets_every_default() {
        let settings: Settings = serde_json::from_str("{}").unwrap();
        assert_eq!(settings, Settings::default());
        assert!(settings.require_admin_mfa);
        assert_eq!((settings.late_grace_minutes, settings.min_rest_minutes), (5, 660));
    }

    #[test]
    fn the_defaults_pass_their_own_rules() {
        assert!(Settings::default().validate().is_ok());
        let too_long = Settings { late_grace_minutes: 121, ..Settings::default() };
        assert!(too_long.validate().is_err());
    }

    #[test]
    fn an_unanswered_offer_counts_unless_offers_need_an_answer() {
        use crate::store::schedule::AssignmentStatus::{Accepted, Declined, Offered};
        let lenient = Settings::default();
        assert!(lenient.counts_as_scheduled(Accepted) && lenient.counts_as_scheduled(Offered));
        assert!(!lenient.counts_as_scheduled(Declined));
        let strict = Settings { offers_need_answer: true, ..Settings::default() };
        assert!(strict.counts_as_scheduled(Accepted) && !strict.counts_as_scheduled(Offered));
    }

    #[test]
    fn time_zones_come_from_the_tz_database() {
        assert!(time_zone(&"Europe/Berlin".to_owned(), &()).is_ok());
        assert!(time_zone(&"UTC".to_owned(), &()).is_ok());
        assert!(time_zone(&"Mars/Olympus_Mons".to_owned(), &()).is_err());
        assert!(time_zone(&None::<String>, &()).is_ok());
    }

    #[test]
    fn currencies_are_three_capitals() {
        assert!(currency(&"EUR".to_owned(), &()).is_ok());
        assert!(currency(&"eur".to_owned(), &()).is_err() && currency(&"EURO".to_owned(), &()).is_err());
    }
}
