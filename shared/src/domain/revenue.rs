//! The platform's revenue figures as subscriptions change: how many organisations stand in each
//! status, and the monthly recurring revenue (MRR) per currency. Pure: the store adds these
//! changes to its counters in the transaction of each change.
//!
//! MRR counts what paying subscriptions bring a month, as Stripe's dashboard does: `active` and
//! `past_due` ones (still subscribed, payment being collected), at their plan's price per month (a
//! yearly price ÷ 12, rounded down); trials and cancelled subscriptions bring nothing.

use std::collections::BTreeMap;

/// A subscription as the figures count it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counted<'a> {
    /// `trialing`, `active`, `past_due` or `cancelled`.
    pub status: &'a str,
    /// The plan's price per month, in minor units of `currency`.
    pub mrr_minor: i64,
    /// ISO 4217, upper case.
    pub currency: &'a str,
}

impl Counted<'_> {
    fn brings(&self) -> bool {
        matches!(self.status, "active" | "past_due") && self.mrr_minor > 0 && !self.currency.is_empty()
    }
}

/// A plan's price per month: a yearly one spread over twelve months (rounded down).
pub fn monthly(price_minor: i64, yearly: bool) -> i64 {
    if yearly { price_minor / 12 } else { price_minor }
}

/// The counters' changes when an organisation's subscription goes from `before` to `after`
/// (none: no subscription): `subscriptions_{status}` by ±1, `mrr_{currency}` by what it brings.
/// Counters that do not change are left out, so an unchanged subscription changes nothing.
pub fn changes(before: Option<Counted>, after: Option<Counted>) -> BTreeMap<String, i64> {
    let mut changes = BTreeMap::new();
    for (counted, sign) in [(before, -1), (after, 1)] {
        let Some(counted) = counted else { continue };
        *changes.entry(format!("subscriptions_{}", counted.status)).or_insert(0) += sign;
        if counted.brings() {
            *changes.entry(format!("mrr_{}", counted.currency)).or_insert(0) += sign * counted.mrr_minor;
        }
    }
    changes.retain(|_, change| *change != 0);
    changes
}

/// Whether the change is a churn: a subscription that was not cancelled now is.
pub fn churned(before: Option<Counted>, after: Option<Counted>) -> bool {
    before.is_some_and(|before| before.status != "cancelled") && after.is_some_and(|after| after.status == "cancelled")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counted(status: &str, mrr_minor: i64) -> Counted<'_> {
        Counted { status, mrr_minor, currency: "EUR" }
    }

    #[test]
    fn a_trial_that_becomes_paid_moves_one_organisation_and_brings_its_price() {
        let changes = changes(Some(counted("trialing", 4900)), Some(counted("active", 4900)));
        let expected = BTreeMap::from([
            ("mrr_EUR".to_owned(), 4900),
            ("subscriptions_active".to_owned(), 1),
            ("subscriptions_trialing".to_owned(), -1),
        ]);
        assert_eq!(changes, expected);
    }

    #[test]
    fn overdue_still_counts_a_plan_change_moves_only_the_difference_and_nothing_changes_nothing() {
        assert!(changes(Some(counted("active", 4900)), Some(counted("active", 4900))).is_empty());
        let overdue = changes(Some(counted("active", 4900)), Some(counted("past_due", 4900)));
        assert_eq!(overdue.get("mrr_EUR"), None, "past_due still brings its price");
        assert_eq!(overdue.get("subscriptions_past_due"), Some(&1));
        let upgraded = changes(Some(counted("active", 1900)), Some(counted("active", 4900)));
        assert_eq!(upgraded, BTreeMap::from([("mrr_EUR".to_owned(), 3000)]));
    }

    #[test]
    fn cancelling_takes_its_price_away_and_is_a_churn_once() {
        let (active, cancelled) = (counted("active", 4900), counted("cancelled", 4900));
        let changes = changes(Some(active), Some(cancelled));
        assert_eq!(changes.get("mrr_EUR"), Some(&-4900));
        assert!(churned(Some(active), Some(cancelled)));
        assert!(!churned(Some(cancelled), Some(cancelled)), "told twice, churned once");
        assert!(!churned(None, Some(cancelled)));
    }

    #[test]
    fn a_new_organisation_counts_and_a_yearly_price_is_spread() {
        assert_eq!(changes(None, Some(counted("trialing", 0))), BTreeMap::from([("subscriptions_trialing".into(), 1)]));
        assert_eq!(monthly(12_000, true), 1_000);
        assert_eq!(monthly(12_011, true), 1_000);
        assert_eq!(monthly(4_900, false), 4_900);
    }
}
