//! What the scheduled job reads and writes to close check-in windows: the organisations, their
//! published shifts by start, each shift's assignments, and how far the last run got
//! (`T#{t}` / [`keys::CLOSED_THROUGH_SK`]).

use serde::{Deserialize, Serialize};

use super::platform::PLATFORM_TENANT;
use super::schedule::{Assignment, Shift, ShiftStatus};
use super::{Store, from_item, key, keys, s};
use crate::Error;
use crate::store::entities::Entity;

/// How far a scheduled job got in one organisation: for the closing job, every window closing at
/// or before `through` is closed; for archiving, every stale draft starting before it.
#[derive(Debug, Serialize, Deserialize)]
struct ClosedThrough {
    through: String,
}

impl Store {
    /// The ids of the active organisations (the platform's own excluded): their index, every page,
    /// ids and statuses only.
    pub async fn active_tenant_ids(&self) -> Result<Vec<String>, Error> {
        #[derive(Deserialize)]
        struct Id {
            id: String,
        }
        let query = self
            .client
            .query()
            .index_name("gsi1")
            .key_condition_expression("gsi1pk = :tenants")
            .filter_expression("id <> :platform AND #status = :active")
            .projection_expression("id")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":tenants", s(keys::TENANTS))
            .expression_attribute_values(":platform", s(PLATFORM_TENANT))
            .expression_attribute_values(":active", s("active"));
        self.every(query).await?.into_iter().map(|item| from_item::<Id>(item).map(|id| id.id)).collect()
    }

    /// Every published shift starting within `[from, to)`: the organisation's shift index, every
    /// page (see [`Store::shifts_starting`]).
    pub async fn published_shifts(&self, tenant_id: &str, from: &str, to: &str) -> Result<Vec<Shift>, Error> {
        let mut shifts = self.shifts_starting(tenant_id, from, to).await?;
        shifts.retain(|shift| shift.status == ShiftStatus::Published);
        Ok(shifts)
    }

    /// A shift's assignments, strongly consistent (one Query: they sort right under the shift's
    /// id).
    pub async fn shift_assignments(&self, tenant_id: &str, shift_id: &str) -> Result<Vec<Assignment>, Error> {
        let query = self
            .client
            .query()
            .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
            .expression_attribute_values(":pk", s(keys::tenant(tenant_id)))
            .expression_attribute_values(":prefix", s(format!("{}{shift_id}_", Assignment::PREFIX)))
            .consistent_read(true);
        self.every(query).await?.into_iter().map(from_item).collect()
    }

    /// Where the last run of the closing job got to in this organisation, if it ever ran.
    pub async fn closed_through(&self, tenant_id: &str) -> Result<Option<String>, Error> {
        self.job_mark(tenant_id, keys::CLOSED_THROUGH_SK).await
    }

    /// Records that the closing job got to `through` (see [`Store::set_job_mark`]).
    pub async fn set_closed_through(&self, tenant_id: &str, through: &str) -> Result<(), Error> {
        self.set_job_mark(tenant_id, keys::CLOSED_THROUGH_SK, through).await
    }

    /// Where the last run of a scheduled job (its mark `sk` under the tenant) got to, if it ever
    /// ran.
    pub async fn job_mark(&self, tenant_id: &str, sk: &str) -> Result<Option<String>, Error> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::tenant(tenant_id), sk)))
            .consistent_read(true)
            .send()
            .await?;
        Ok(output.item.map(from_item::<ClosedThrough>).transpose()?.map(|mark| mark.through))
    }

    /// Records that a scheduled job got to `through`; never moves the mark back (two runs may
    /// overlap: the later one's mark stays).
    pub async fn set_job_mark(&self, tenant_id: &str, sk: &str, through: &str) -> Result<(), Error> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(super::to_item(
                &ClosedThrough { through: through.to_owned() },
                &[("pk", keys::tenant(tenant_id)), ("sk", sk.to_owned())],
            )?))
            .condition_expression("attribute_not_exists(through) OR through < :through")
            .expression_attribute_values(":through", s(through))
            .send()
            .await;
        match result {
            Err(error) if error.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => Ok(()),
            other => other.map(drop).map_err(Into::into),
        }
    }
}
