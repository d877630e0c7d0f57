//! The cost model's replay (`api_tests::cost`, `make cost`) is reproducible: the same day of two
//! organisations of the same size costs the same units, route by route.

use std::collections::BTreeMap;

use api_tests::cost::{Call, organisation_day};
use api_tests::spawn_app;

/// Each route's calls and their read and write units (in half units, to compare exactly).
fn units(calls: &[Call]) -> BTreeMap<String, (usize, u64, u64)> {
    let mut units = BTreeMap::new();
    for call in calls {
        let entry = units.entry(call.route.clone()).or_insert((0, 0, 0));
        entry.0 += call.count;
        entry.1 += (call.spent.consumed.read_units * 2.0) as u64;
        entry.2 += (call.spent.consumed.write_units * 2.0) as u64;
    }
    units
}

#[tokio::test]
async fn the_same_day_costs_the_same_units() {
    // Two apps, each with its own queues, so that neither day's worker runs send the other's.
    let (one, other) = (spawn_app().await, spawn_app().await);
    let (first, second) = tokio::join!(organisation_day(&one, 8), organisation_day(&other, 8));
    let (first, second) = (units(&first.calls), units(&second.calls));
    assert_eq!(first, second);
    // Six of eight work today: each check-in reads the desk and writes the record in one
    // transaction, so every one costs some of both, and no more than 24 of either.
    let (check_ins, read, written) = first["POST /attendance/check-in"];
    assert_eq!(check_ins, 6);
    assert!((6 * 2..=6 * 2 * 24).contains(&read) && (6 * 2..=6 * 2 * 24).contains(&written), "{read} {written}");
}
