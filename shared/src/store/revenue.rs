//! The platform's revenue counters (`GET /admin/revenue`), kept as billing changes, never
//! computed by reading organisations.
//!
//! Every change that moves a figure adds to one counter item in its own transaction: the
//! organisations per subscription status and the MRR per currency on `TOTALS`, and what happened
//! in a month (churn, failed payments, credits and unlocks sold) on `MONTH#{yyyy-mm}`. So that no
//! one item takes every organisation's billing traffic, the counters are sharded: each change
//! goes to one of [`SHARDS`] partitions (`REVENUE#{n}`) chosen at random, and a read sums them all
//! (one `BatchGetItem` of `2 × SHARDS` keys). A partition takes 1,000 WCU/s; a transactional
//! write of a small item costs 2, so the counters hold `SHARDS × 500` billing changes a second.

use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, TransactWriteItem, Update};

use super::{Store, key, n};
use crate::Error;

/// How many partitions the counters are spread over.
pub const SHARDS: u32 = 8;
const TOTALS: &str = "TOTALS";

fn shard_pk(shard: u32) -> String {
    format!("REVENUE#{shard}")
}

fn month_sk(month: &str) -> String {
    format!("MONTH#{month}")
}

/// The counters as summed over the shards: what stands now, and what happened in one month.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters {
    pub totals: BTreeMap<String, i64>,
    pub month: BTreeMap<String, i64>,
}

impl Store {
    /// The writes that add `totals` and `month`'s `monthly` changes to the counters (of one shard,
    /// at random), for the transaction of the change they count; none when nothing changes.
    pub(crate) fn revenue_items(
        &self,
        totals: &BTreeMap<String, i64>,
        month: &str,
        monthly: &BTreeMap<String, i64>,
    ) -> Result<Vec<TransactWriteItem>, Error> {
        let shard = u32::try_from(ulid::Ulid::new().random() % u128::from(SHARDS)).unwrap_or_default();
        [(TOTALS.to_owned(), totals), (month_sk(month), monthly)]
            .into_iter()
            .filter(|(_, changes)| !changes.is_empty())
            .map(|(sk, changes)| {
                let mut update = Update::builder().table_name(&self.table).set_key(Some(key(shard_pk(shard), sk)));
                let mut adds = Vec::new();
                for (index, (name, change)) in changes.iter().enumerate() {
                    adds.push(format!("#c{index} :c{index}"));
                    update = update
                        .expression_attribute_names(format!("#c{index}"), name)
                        .expression_attribute_values(format!(":c{index}"), n(*change));
                }
                let update =
                    update.update_expression(format!("ADD {}", adds.join(", "))).build().map_err(Error::internal)?;
                Ok(TransactWriteItem::builder().update(update).build())
            })
            .collect()
    }

    /// The counters summed over every shard: the totals now, and `month`'s (`YYYY-MM`).
    pub async fn revenue_counters(&self, month: &str) -> Result<Counters, Error> {
        let keys = (0..SHARDS).flat_map(|shard| [key(shard_pk(shard), TOTALS), key(shard_pk(shard), month_sk(month))]);
        let request = KeysAndAttributes::builder().set_keys(Some(keys.collect())).build().map_err(Error::internal)?;
        let mut counters = Counters::default();
        let mut pending = Some(std::collections::HashMap::from([(self.table.clone(), request)]));
        // Unprocessed keys (throttling) are asked for again until none are left.
        while let Some(request) = pending.take().filter(|request| !request.is_empty()) {
            let output = self.client.batch_get_item().set_request_items(Some(request)).send().await?;
            for item in output.responses.unwrap_or_default().into_values().flatten() {
                let is_totals = matches!(item.get("sk"), Some(AttributeValue::S(sk)) if sk == TOTALS);
                let sums = if is_totals { &mut counters.totals } else { &mut counters.month };
                for (name, value) in &item {
                    if let AttributeValue::N(number) = value {
                        *sums.entry(name.clone()).or_insert(0) += number.parse::<i64>().map_err(Error::internal)?;
                    }
                }
            }
            pending = output.unprocessed_keys;
        }
        Ok(counters)
    }
}
