//! What the scheduled jobs keep: each week's hours warnings (`T#{t}#HOURS#{week}` / person), and
//! once-only markers — a shift reminder sent (`T#{t}#REMINDED` / `{assignment}#{start}`), a
//! week's digest sent to a coordinator (`T#{t}#DIGEST#{week}` / person) — each claimed with one
//! conditional put, so runs that overlap or repeat send it once.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::schedule::{Shift, start_range};
use super::{Store, from_item, key, keys, n, s, to_item, written};
use crate::Error;
use crate::domain::hours::Level;

/// A person near or over their weekly cap, as the last weekly check found them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct HoursWarning {
    pub tenant_id: String,
    pub person_id: String,
    pub person_name: String,
    /// Their unit, when the check found it: whose coordinators, limited to units, see it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit_id: Option<String>,
    /// The week's first day on the organisation's calendar (`YYYY-MM-DD`).
    pub week: String,
    /// Minutes worked so far (settled attendance records).
    pub worked_minutes: i64,
    /// Minutes still scheduled (places on shifts not yet ended or settled).
    pub scheduled_minutes: i64,
    pub total_minutes: i64,
    /// Their own cap, else the organisation's.
    pub cap_hours: u32,
    pub level: Level,
    /// When the check found it.
    pub checked_at: String,
}

impl HoursWarning {
    /// The order coordinators read a week's warnings in: over first, then by name.
    pub fn reading_order(a: &Self, b: &Self) -> std::cmp::Ordering {
        (b.level, &a.person_name, &a.person_id).cmp(&(a.level, &b.person_name, &b.person_id))
    }
}

impl Store {
    /// A week's hours warnings, by person id (one Query, page after page).
    pub async fn hours_warnings(&self, tenant_id: &str, week: &str) -> Result<Vec<HoursWarning>, Error> {
        let query = self
            .client
            .query()
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s(keys::hours_warnings(tenant_id, week)))
            .consistent_read(true);
        self.every(query).await?.into_iter().map(from_item).collect()
    }

    /// Stores a warning, replacing the week's earlier one of the person.
    pub async fn hours_warning_put(&self, warning: &HoursWarning) -> Result<(), Error> {
        let keys = [("pk", keys::hours_warnings(&warning.tenant_id, &warning.week)), ("sk", warning.person_id.clone())];
        self.client.put_item().table_name(&self.table).set_item(Some(to_item(warning, &keys)?)).send().await?;
        Ok(())
    }

    /// Removes a person's warning of a week (they are no longer near their cap).
    pub async fn hours_warning_delete(&self, tenant_id: &str, week: &str, person_id: &str) -> Result<(), Error> {
        let key = key(keys::hours_warnings(tenant_id, week), person_id);
        self.client.delete_item().table_name(&self.table).set_key(Some(key)).send().await?;
        Ok(())
    }

    /// Every shift (any status) starting within `[from, to)`: the organisation's shift index, every
    /// page, unfiltered, so what is read is exactly that range's shifts.
    pub async fn shifts_starting(&self, tenant_id: &str, from: &str, to: &str) -> Result<Vec<Shift>, Error> {
        let (condition, bounds) = start_range("gsi2sk", (Some(from), Some(to)));
        let mut query = self
            .client
            .query()
            .index_name("gsi2")
            .key_condition_expression(format!("gsi2pk = :pk{condition}"))
            .expression_attribute_values(":pk", s(keys::shifts(tenant_id)));
        for (placeholder, value) in bounds {
            query = query.expression_attribute_values(placeholder, s(value));
        }
        self.every(query).await?.into_iter().map(from_item).collect()
    }

    /// Claims the once-only marker `(pk, sk)`, kept until `expires_at` (epoch seconds): `false`
    /// when it was claimed before. One conditional put.
    pub async fn claim_once(&self, pk: String, sk: &str, expires_at: i64) -> Result<bool, Error> {
        let mut item = key(pk, sk);
        item.insert("expires_at".into(), n(expires_at));
        written(
            self.client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(pk)")
                .send()
                .await,
        )
    }

    /// Gives a marker back after what it stood for failed, so a retry may do it.
    pub async fn release_once(&self, pk: String, sk: &str) -> Result<(), Error> {
        self.client.delete_item().table_name(&self.table).set_key(Some(key(pk, sk))).send().await?;
        Ok(())
    }
}
