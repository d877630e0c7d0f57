//! Dunning: what happens to an organisation whose subscription payment is overdue, day by day.
//!
//! Days are counted from the failed payment (`past_due_since`): day 1 is its first 24 hours.
//! The owners are reminded on days 1, 3 and 7; once the grace (14 days unless the operator sets
//! another) is over, the organisation is suspended and its owners are told. A sweep that missed
//! a day sends only the latest notice due, never a backlog.

use chrono::{DateTime, Utc};

/// The days of overdue payment on which the owners are reminded.
pub const REMINDER_DAYS: [i64; 3] = [1, 3, 7];

/// Days of overdue payment before the organisation is suspended, unless the operator sets another.
pub const DEFAULT_GRACE_DAYS: i64 = 14;

/// What the owners are told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    /// The payment is overdue (`day` of it); the organisation will be suspended if it stays so.
    Reminder { day: i64 },
    /// The organisation is suspended until the payment is made.
    Suspended,
}

impl Notice {
    /// The notice's name among the ones of one overdue payment (each is sent once).
    pub fn name(self) -> String {
        match self {
            Self::Reminder { day } => format!("day-{day}"),
            Self::Suspended => "suspended".to_owned(),
        }
    }
}

/// Where the organisation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    Active,
    /// Suspended by dunning (a payment reactivates it).
    SuspendedForPayment,
    /// Suspended by the platform for some other reason: dunning leaves it to the platform.
    SuspendedByPlatform,
}

/// What to do now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    pub suspend: bool,
    pub notice: Option<Notice>,
}

/// The step of dunning due at `now` for a payment overdue since `since`.
pub fn step(since: DateTime<Utc>, now: DateTime<Utc>, grace_days: i64, standing: Standing) -> Step {
    let nothing = Step { suspend: false, notice: None };
    if now < since || standing == Standing::SuspendedByPlatform {
        return nothing;
    }
    let day = (now - since).num_days() + 1;
    if day > grace_days {
        return Step { suspend: standing == Standing::Active, notice: Some(Notice::Suspended) };
    }
    let reminder = REMINDER_DAYS.iter().rev().find(|&&reminder| reminder <= day);
    Step { suspend: false, notice: reminder.map(|&day| Notice::Reminder { day }) }
}

/// The day the organisation is suspended if the payment overdue since `since` stays so.
pub fn suspends_on(since: DateTime<Utc>, grace_days: i64) -> DateTime<Utc> {
    since + chrono::Duration::days(grace_days)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn since() -> DateTime<Utc> {
        "2027-03-01T10:00:00Z".parse().unwrap()
    }

    fn on(hours: i64, standing: Standing) -> Step {
        step(since(), since() + chrono::Duration::hours(hours), DEFAULT_GRACE_DAYS, standing)
    }

    fn reminder(day: i64) -> Step {
        Step { suspend: false, notice: Some(Notice::Reminder { day }) }
    }

    #[test]
    fn owners_are_reminded_on_days_one_three_and_seven_then_suspended_after_the_grace() {
        use Standing::Active;
        assert_eq!(on(0, Active), reminder(1), "at once");
        assert_eq!(on(47, Active), reminder(1), "day 2");
        assert_eq!((on(48, Active), on(143, Active)), (reminder(3), reminder(3)), "days 3 to 6");
        assert_eq!((on(144, Active), on(14 * 24 - 1, Active)), (reminder(7), reminder(7)), "days 7 to 14");
        let suspend = Step { suspend: true, notice: Some(Notice::Suspended) };
        assert_eq!((on(14 * 24, Active), on(40 * 24, Active)), (suspend, suspend), "from day 15");
    }

    #[test]
    fn a_suspended_organisation_is_suspended_once_and_one_suspended_by_the_platform_is_left_alone() {
        let told = Step { suspend: false, notice: Some(Notice::Suspended) };
        assert_eq!(on(15 * 24, Standing::SuspendedForPayment), told);
        assert_eq!(on(15 * 24, Standing::SuspendedByPlatform), Step { suspend: false, notice: None });
        assert_eq!(on(2, Standing::SuspendedByPlatform), Step { suspend: false, notice: None });
        assert_eq!(on(-1, Standing::Active), Step { suspend: false, notice: None }, "a clock behind");
    }

    #[test]
    fn the_grace_is_the_operators_and_the_notices_have_names() {
        let at = since() + chrono::Duration::days(3);
        assert!(step(since(), at, 3, Standing::Active).suspend);
        assert_eq!(step(since(), at, 4, Standing::Active), reminder(3));
        assert_eq!(suspends_on(since(), 14), "2027-03-15T10:00:00Z".parse::<DateTime<Utc>>().unwrap());
        assert_eq!(
            (Notice::Reminder { day: 3 }.name(), Notice::Suspended.name()),
            ("day-3".into(), "suspended".into())
        );
    }
}
