//! Rate-limit counters: one item per limit and subject, expiring (TTL) with its window.

use aws_sdk_dynamodb::types::ReturnValue;

use super::{Item, Store, condition_failed, key, keys, n, written};
use crate::Error;
use crate::auth::rate_limit::{Counter, RateLimit};

impl Store {
    /// Counts one event and returns the counter with it: one conditional write that adds one to
    /// the live window, or opens the window when there is none. Only when an expired window is
    /// still stored (TTL deletes late) does it take a second write, which replaces that window
    /// unless a concurrent event just did (then it counts in theirs).
    pub async fn rate_limit_hit(&self, limit: &RateLimit, subject: &str, now: i64) -> Result<Counter, Error> {
        let key = key(keys::rate_limit(limit.name, subject), keys::RATE_LIMIT_SK);
        let expires_at = now + limit.window_secs;
        for _ in 0..3 {
            let added = self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(key.clone()))
                .update_expression(
                    "SET hits = if_not_exists(hits, :zero) + :one, expires_at = if_not_exists(expires_at, :expires)",
                )
                .condition_expression("attribute_not_exists(expires_at) OR expires_at > :now")
                .expression_attribute_values(":zero", n(0))
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":expires", n(expires_at))
                .expression_attribute_values(":now", n(now))
                .return_values(ReturnValue::AllNew)
                .send()
                .await;
            match added {
                Ok(output) => return counter(output.attributes.as_ref()),
                Err(error) if condition_failed(&error) => {}
                Err(error) => return Err(error.into()),
            }
            let mut item = key.clone();
            item.extend([("hits".to_owned(), n(1)), ("expires_at".to_owned(), n(expires_at))]);
            let replaced = self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression("expires_at <= :now")
                .expression_attribute_values(":now", n(now))
                .send()
                .await;
            if written(replaced)? {
                return Ok(Counter { hits: 1, expires_at });
            }
        }
        Err(Error::internal(format!("rate-limit counter {} kept changing under concurrent writes", limit.name)))
    }

    /// Takes back an event counted by [`Store::rate_limit_hit`] (a login that turned out right),
    /// if its window is still the one it was counted in.
    pub async fn rate_limit_undo(&self, limit: &RateLimit, subject: &str, counted: Counter) -> Result<(), Error> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::rate_limit(limit.name, subject), keys::RATE_LIMIT_SK)))
            .update_expression("ADD hits :minus_one")
            .condition_expression("expires_at = :expires AND hits > :zero")
            .expression_attribute_values(":minus_one", n(-1))
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":expires", n(counted.expires_at))
            .send()
            .await;
        written(result)?;
        Ok(())
    }
}

fn counter(item: Option<&Item>) -> Result<Counter, Error> {
    let number = |name: &str| item?.get(name)?.as_n().ok()?.parse::<i64>().ok();
    match (number("hits"), number("expires_at")) {
        (Some(hits), Some(expires_at)) => Ok(Counter { hits: hits.clamp(0, u32::MAX as i64) as u32, expires_at }),
        _ => Err(Error::internal("a rate-limit counter without hits or expires_at")),
    }
}
