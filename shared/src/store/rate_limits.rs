//! Rate-limit counters: one item per limit and subject, expiring (TTL) with its window.

use super::{Store, key, keys, n};
use crate::Error;
use crate::auth::rate_limit::{Counter, Hit, RateLimit};

impl Store {
    pub async fn rate_limit_counter(&self, limit: &RateLimit, subject: &str) -> Result<Option<Counter>, Error> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::rate_limit(limit.name, subject), keys::RATE_LIMIT_SK)))
            .consistent_read(true)
            .send()
            .await?;
        let number = |name: &str| output.item.as_ref()?.get(name)?.as_n().ok()?.parse::<i64>().ok();
        Ok(number("hits").zip(number("expires_at")).map(|(hits, expires_at)| Counter { hits: hits as u32, expires_at }))
    }

    /// Records one event, given the counter as last read (`ADD` is atomic across instances).
    pub async fn rate_limit_hit(
        &self,
        limit: &RateLimit,
        subject: &str,
        seen: Option<Counter>,
        now: i64,
    ) -> Result<(), Error> {
        let request = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::rate_limit(limit.name, subject), keys::RATE_LIMIT_SK)))
            .expression_attribute_values(":one", n(1));
        let request = match limit.hit(seen, now) {
            Hit::Increment => request.update_expression("ADD hits :one"),
            Hit::Start { expires_at } => request
                .update_expression("SET hits = :one, expires_at = :expires")
                .expression_attribute_values(":expires", n(expires_at)),
        };
        request.send().await?;
        Ok(())
    }
}
