//! The permission sets a person can hold: today the built-in roles, each a fixed set (see
//! `rota::auth::permissions`), and every permission with what it allows, for a frontend to show
//! who may do what.

use axum::Json;
use rota::auth::{Caller, Permission, Role};
use serde::Serialize;
use utoipa::ToSchema;

/// A named set of permissions.
#[derive(Debug, Serialize, ToSchema)]
pub struct PermissionSet {
    /// A built-in role's set is named by the role (`coordinator`).
    pub id: &'static str,
    pub name: &'static str,
    pub built_in: bool,
    pub permissions: Vec<Permission>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PermissionInfo {
    pub name: Permission,
    pub description: &'static str,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PermissionSets {
    /// The built-in roles, from staff up.
    pub items: Vec<PermissionSet>,
    /// Every permission an organisation's people can hold, and what it allows.
    pub permissions: Vec<PermissionInfo>,
}

/// The permission sets of the organisation (anyone signed in): the built-in roles, with the
/// permissions each holds. Every operation's permission is its bearer scope in this document.
#[utoipa::path(get, path = "/permission-sets", tag = "people", security(("bearer" = [])),
    responses((status = 200, description = "The sets, and every permission", body = PermissionSets)))]
pub async fn list_permission_sets(_caller: Caller) -> Json<PermissionSets> {
    let built_in = [
        (Role::Staff, "staff", "Staff"),
        (Role::Coordinator, "coordinator", "Coordinator"),
        (Role::Admin, "admin", "Admin"),
        (Role::Owner, "owner", "Owner"),
    ];
    let items = built_in
        .into_iter()
        .map(|(role, id, name)| PermissionSet { id, name, built_in: true, permissions: role.permissions().list() })
        .collect();
    let permissions = Permission::ALL
        .into_iter()
        .filter(|permission| *permission != Permission::PlatformManage)
        .map(|name| PermissionInfo { name, description: name.description() })
        .collect();
    Json(PermissionSets { items, permissions })
}
