//! The organisation's own permission sets (`T#{t}` / `PSET#{id}`), next to the built-in roles'
//! fixed ones (`crate::auth::permissions`).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Permission;

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
