//! Rate-limit counters: one item per subject and window, expiring with the window.

use super::{Store, key, keys, n};
use crate::Error;
use crate::auth::rate_limit::RateLimit;

impl Store {
    /// How many events `subject` has recorded in the window holding `now`.
    pub async fn rate_limit_count(&self, limit: &RateLimit, subject: &str, now: i64) -> Result<u32, Error> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::rate_limit(limit.name, subject, limit.window(now)), keys::RATE_LIMIT_SK)))
            .consistent_read(true)
            .send()
            .await?;
        let count = output.item.as_ref().and_then(|item| item.get("hits")).and_then(|hits| hits.as_n().ok());
        Ok(count.and_then(|hits| hits.parse().ok()).unwrap_or(0))
    }

    /// Records one event, atomically, whichever instance records it.
    pub async fn rate_limit_hit(&self, limit: &RateLimit, subject: &str, now: i64) -> Result<(), Error> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::rate_limit(limit.name, subject, limit.window(now)), keys::RATE_LIMIT_SK)))
            .update_expression("ADD hits :one SET expires_at = :expires")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":expires", n(limit.window_end(now)))
            .send()
            .await?;
        Ok(())
    }
}
