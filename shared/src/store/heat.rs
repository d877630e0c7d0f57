//! Partition heat: from the partitions a workload touches (each access: the partition key of the
//! table or index it reads or writes, when, and its units — see [`super::capacity`]), the peak
//! rate each partition sees in any one second, judged against DynamoDB's per-partition limits with
//! headroom. The cost model's replay feeds it, scaled to the organisation and platform sizes issue
//! 24 names; a partition it calls hot is sharded (write sharding with a read fan-out).
//! <https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/bp-partition-key-design.html>

use std::collections::HashMap;

/// What one partition serves a second: 3,000 read units, 1,000 write units.
pub const PARTITION_READ_UNITS_PER_SEC: f64 = 3000.0;
pub const PARTITION_WRITE_UNITS_PER_SEC: f64 = 1000.0;

/// The share of a partition's limits the design may use: over half is hot (bursts, retries and
/// adaptive capacity's delay need the rest).
pub const HEADROOM: f64 = 0.5;

/// One read or write of a partition.
#[derive(Debug, Clone, PartialEq)]
pub struct Access {
    /// The table's or index's partition key value (`T#…#ATT`, `STATS#2026-12`).
    pub partition: String,
    /// When, in milliseconds.
    pub at_ms: i64,
    pub read_units: f64,
    pub write_units: f64,
}

/// A partition's busiest second.
#[derive(Debug, Clone, PartialEq)]
pub struct Heat {
    pub partition: String,
    pub peak_read_units_per_sec: f64,
    pub peak_write_units_per_sec: f64,
}

impl Heat {
    /// Whether either rate passes its limit's [`HEADROOM`].
    pub fn is_hot(&self) -> bool {
        self.peak_read_units_per_sec > PARTITION_READ_UNITS_PER_SEC * HEADROOM
            || self.peak_write_units_per_sec > PARTITION_WRITE_UNITS_PER_SEC * HEADROOM
    }

    /// The larger of the two rates as a share of its limit (1.0: at the limit).
    pub fn load(&self) -> f64 {
        (self.peak_read_units_per_sec / PARTITION_READ_UNITS_PER_SEC)
            .max(self.peak_write_units_per_sec / PARTITION_WRITE_UNITS_PER_SEC)
    }
}

/// Each partition's peak one-second read and write rates (each at its own busiest second), the
/// most loaded first.
pub fn heat(accesses: &[Access]) -> Vec<Heat> {
    let mut seconds: HashMap<(&str, i64), (f64, f64)> = HashMap::new();
    for access in accesses {
        let second = seconds.entry((access.partition.as_str(), access.at_ms.div_euclid(1000))).or_default();
        second.0 += access.read_units;
        second.1 += access.write_units;
    }
    let mut peaks: HashMap<&str, Heat> = HashMap::new();
    for ((partition, _), (reads, writes)) in seconds {
        let peak = peaks.entry(partition).or_insert_with(|| Heat {
            partition: partition.to_owned(),
            peak_read_units_per_sec: 0.0,
            peak_write_units_per_sec: 0.0,
        });
        peak.peak_read_units_per_sec = peak.peak_read_units_per_sec.max(reads);
        peak.peak_write_units_per_sec = peak.peak_write_units_per_sec.max(writes);
    }
    let mut heat: Vec<Heat> = peaks.into_values().collect();
    heat.sort_by(|a, b| b.load().total_cmp(&a.load()).then_with(|| a.partition.cmp(&b.partition)));
    heat
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `count` check-ins spread evenly over `seconds`, each writing its record (two units in a
    /// transaction) and adding one to `counter(i)`.
    fn check_ins(count: i64, seconds: i64, counter: impl Fn(i64) -> String) -> Vec<Access> {
        (0..count)
            .flat_map(|i| {
                let at_ms = i * seconds * 1000 / count;
                [
                    Access { partition: format!("T#org#ATTLOG#{i}"), at_ms, read_units: 0.0, write_units: 2.0 },
                    Access { partition: counter(i), at_ms, read_units: 0.0, write_units: 2.0 },
                ]
            })
            .collect()
    }

    #[test]
    fn one_counter_every_check_in_moves_holds_a_steady_morning_but_not_its_burst_unless_sharded() {
        // 50,000 people checking in evenly over 10 minutes: ≈ 83 a second, ≈ 167 write units a
        // second on the counter — a third of what it may take.
        let steady = heat(&check_ins(50_000, 600, |_| "STATS#2030-07".to_owned()));
        assert_eq!(steady[0].partition, "STATS#2030-07");
        assert!((160.0..=170.0).contains(&steady[0].peak_write_units_per_sec), "{:?}", steady[0]);
        assert!(steady.iter().all(|partition| !partition.is_hot()), "{:?}", steady[0]);

        // The gate opening: 600 check-ins in one second. One counter is hot; ten shards are not.
        let unsharded = heat(&check_ins(600, 1, |_| "STATS#2030-07".to_owned()));
        assert_eq!(unsharded[0].peak_write_units_per_sec, 1200.0);
        assert!(unsharded[0].is_hot(), "{:?}", unsharded[0]);
        assert!(unsharded[1..].iter().all(|partition| !partition.is_hot()));
        let sharded = heat(&check_ins(600, 1, |i| format!("STATS#2030-07#{}", i % 10)));
        assert_eq!((sharded[0].peak_write_units_per_sec, sharded.len()), (120.0, 610));
        assert!(sharded.iter().all(|partition| !partition.is_hot()), "{:?}", sharded[0]);
    }

    #[test]
    fn a_partition_is_judged_by_its_busiest_second_not_its_average() {
        let quiet_then_busy = [
            Access { partition: "P".into(), at_ms: 0, read_units: 10.0, write_units: 0.0 },
            Access { partition: "P".into(), at_ms: 5_000, read_units: 1_600.0, write_units: 0.0 },
            Access { partition: "P".into(), at_ms: 5_999, read_units: 1.0, write_units: 0.0 },
            Access { partition: "P".into(), at_ms: 6_000, read_units: 1.0, write_units: 0.0 },
        ];
        let heat = heat(&quiet_then_busy);
        assert_eq!((heat.len(), heat[0].peak_read_units_per_sec), (1, 1601.0));
        assert!(heat[0].is_hot(), "1,601 read units a second is over half of 3,000");
        assert!((0.53..=0.54).contains(&heat[0].load()));
    }
}
