//! The organisation's own permission sets (`T#{t}` / `PSET#{id}`), next to the built-in roles'
//! fixed ones (`crate::auth::permissions`).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Permission;
use crate::auth::permissions::Permissions;

/// A named set of permissions an owner defined (a finance clerk's, an IT administrator's).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CustomPermissionSet {
    pub id: String,
    pub tenant_id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// In the order of the catalogue (`GET /permission-sets`), each once.
    pub permissions: Vec<Permission>,
    pub version: u64,
    pub created_at: String,
    pub updated_at: String,
}

crate::entity!(CustomPermissionSet, "PSET#", "permission_set");

impl super::Store {
    /// The permissions of the organisation's set `set_id` (none without one, or for a set that
    /// is gone): what a session of its holder may do besides their role.
    pub async fn granted(&self, tenant_id: &str, set_id: Option<&str>) -> Result<Permissions, crate::Error> {
        let Some(set_id) = set_id else { return Ok(Permissions::none()) };
        let set = self.entity::<CustomPermissionSet>(tenant_id, set_id).await?;
        Ok(set.map_or(Permissions::none(), |set| Permissions::of(&set.permissions)))
    }
}
