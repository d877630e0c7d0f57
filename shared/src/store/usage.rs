//! An organisation's use of Rota in a month, as the platform admin reads it: events running in
//! it and check-ins to its shifts, counted by DynamoDB (`Select: COUNT`), never read out. Reads
//! are the month's events (the organisation's events, filtered) and the month's attendance
//! records by shift start (gsi2): one round trip while each is under 1 MB read.

use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::types::Select;

use super::page::Index;
use super::{Store, keys, s};
use crate::Error;

impl Store {
    /// Events that run on a day of `[first_day, last_day]` (`YYYY-MM-DD`), and check-ins to shifts
    /// starting in `[from, to)` (RFC 3339), in parallel.
    pub async fn usage_counts(
        &self,
        tenant_id: &str,
        (first_day, last_day): (&str, &str),
        (from, to): (&str, &str),
    ) -> Result<(i64, i64), Error> {
        let events = self
            .client
            .query()
            .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
            .filter_expression("starts_on <= :last AND ends_on >= :first")
            .expression_attribute_values(":pk", s(keys::tenant(tenant_id)))
            .expression_attribute_values(":prefix", s(<super::schedule::Event as super::entities::Entity>::PREFIX))
            .expression_attribute_values(":first", s(first_day))
            .expression_attribute_values(":last", s(last_day));
        let check_ins = self
            .by_start_query(Index::Gsi2, keys::attendance(tenant_id), (Some(from), Some(to)))
            .filter_expression("attribute_type(check_in_at, :string)")
            .expression_attribute_values(":string", s("S"));
        tokio::try_join!(self.count(events), self.count(check_ins))
    }

    /// How many items `query` matches, page by page.
    async fn count(&self, query: QueryFluentBuilder) -> Result<i64, Error> {
        let query = query.table_name(&self.table).select(Select::Count);
        let (mut total, mut start) = (0, None);
        loop {
            let output = query.clone().set_exclusive_start_key(start).send().await?;
            total += i64::from(output.count);
            match output.last_evaluated_key {
                Some(key) => start = Some(key),
                None => return Ok(total),
            }
        }
    }
}
