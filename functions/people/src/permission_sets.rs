//! Permission sets: the built-in roles' fixed ones (see `rota::auth::permissions`) and the
//! organisation's own, which owners define from its permissions (never one they do not hold
//! themselves); every permission with what it allows, for a frontend to show who may do what.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use garde::Validate;
use rota::auth::permissions::Permissions;
use rota::auth::{Caller, Permission, Role};
use rota::clock::Now;
use rota::error::Problem;
use rota::http::ValidJson;
use rota::records::{committed, save};
use rota::store::audit::AuditEntry;
use rota::store::permission_sets::CustomPermissionSet;
use rota::validate::{not_blank, nullable};
use rota::{AppState, Error};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A named set of permissions.
#[derive(Debug, Serialize, ToSchema)]
pub struct PermissionSet {
    /// A built-in role's set is named by the role (`coordinator`); the organisation's by an id.
    pub id: String,
    pub name: String,
    pub built_in: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub permissions: Vec<Permission>,
    /// The organisation's sets only: send it back on a change.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PermissionInfo {
    pub name: Permission,
    pub description: &'static str,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PermissionSets {
    /// The built-in roles, from staff up, then the organisation's own sets, oldest first.
    pub items: Vec<PermissionSet>,
    /// Every permission an organisation's people can hold, and what it allows.
    pub permissions: Vec<PermissionInfo>,
}

/// The permission sets of the organisation (anyone signed in): the built-in roles, with the
/// permissions each holds, and the organisation's own. Every operation's permission is its
/// bearer scope in this document.
#[utoipa::path(get, path = "/permission-sets", tag = "people", security(("bearer" = [])),
    responses((status = 200, description = "The sets, and every permission", body = PermissionSets)))]
pub async fn list_permission_sets(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<PermissionSets>, Error> {
    // Round trip 1: the organisation's own sets.
    let own = state.store.all::<CustomPermissionSet>(&caller.tenant_id).await?;
    let built_in = [
        (Role::Staff, "staff", "Staff"),
        (Role::Coordinator, "coordinator", "Coordinator"),
        (Role::Admin, "admin", "Admin"),
        (Role::Owner, "owner", "Owner"),
    ];
    let built_in = built_in.into_iter().map(|(role, id, name)| PermissionSet {
        id: id.to_owned(),
        name: name.to_owned(),
        built_in: true,
        description: None,
        permissions: role.permissions().list(),
        version: None,
    });
    let own = own.into_iter().map(|set| PermissionSet {
        id: set.id,
        name: set.name,
        built_in: false,
        description: set.description,
        permissions: set.permissions,
        version: Some(set.version),
    });
    let permissions = Permissions::organisation()
        .list()
        .into_iter()
        .map(|name| PermissionInfo { name, description: name.description() })
        .collect();
    Ok(Json(PermissionSets { items: built_in.chain(own).collect(), permissions }))
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "name": "Finance clerk", "description": "Pay periods, stubs and exports; no scheduling",
    "permissions": ["payroll.read", "payroll.close", "costs.read"] }))]
pub struct CreatePermissionSet {
    #[garde(length(chars, min = 1, max = 100), custom(not_blank))]
    #[schema(min_length = 1, max_length = 100, pattern = r"[^\s\x00-\x1f\x7f-\x9f]")]
    pub name: String,
    #[garde(length(chars, max = 500))]
    #[schema(max_length = 500)]
    pub description: Option<String>,
    /// The organisation's permissions (not `platform.manage`), each held by the caller.
    #[garde(length(min = 1, max = 40), custom(organisation_permissions))]
    #[schema(schema_with = permissions_schema)]
    pub permissions: Vec<Permission>,
}

/// Omitted fields stay as they are; `description: null` removes it.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "permissions": ["payroll.read", "costs.read"] }))]
pub struct UpdatePermissionSet {
    #[garde(length(chars, min = 1, max = 100), custom(not_blank))]
    #[schema(min_length = 1, max_length = 100, pattern = r"[^\s\x00-\x1f\x7f-\x9f]")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[garde(inner(inner(length(chars, max = 500))))]
    #[schema(value_type = Option<String>, nullable, max_length = 500)]
    pub description: Option<Option<String>>,
    #[garde(inner(length(min = 1, max = 40)), custom(|permissions: &Option<Vec<Permission>>, _: &()| {
        permissions.as_ref().map_or(Ok(()), |permissions| organisation_permissions(permissions, &()))
    }))]
    #[schema(schema_with = permissions_schema)]
    pub permissions: Option<Vec<Permission>>,
    /// The `version` last read; when given, a stale write answers 409.
    #[garde(range(max = rota::validate::MAX_VERSION))]
    pub version: Option<u64>,
}

fn organisation_permissions(permissions: &[Permission], _: &()) -> garde::Result {
    if permissions.contains(&Permission::PlatformManage) {
        return Err(garde::Error::new("platform.manage is the platform's, not an organisation's"));
    }
    Ok(())
}

/// A list of the organisation's permissions (all but the platform's), at least one.
fn permissions_schema() -> utoipa::openapi::Array {
    use utoipa::openapi::{ArrayBuilder, ObjectBuilder, Type};
    let names = Permissions::organisation().list().into_iter().map(Permission::name);
    let item = ObjectBuilder::new().schema_type(Type::String).enum_values(Some(names));
    ArrayBuilder::new().items(item).min_items(Some(1)).max_items(Some(40)).build()
}

/// Each once, in the catalogue's order; and nothing the caller does not hold (403): nobody grants
/// what they could not do themselves.
fn granted_by(caller: &Caller, permissions: &[Permission]) -> Result<Vec<Permission>, Error> {
    let set = Permissions::of(permissions);
    caller.may_give(set)?;
    Ok(set.list())
}

/// Defines a permission set of the organisation's (owners), audited as `permission_set.created`.
#[utoipa::path(post, path = "/permission-sets", tag = "people", security(("bearer" = ["permissions.manage"])),
    request_body = CreatePermissionSet,
    responses(
        (status = 201, description = "The new set", body = CustomPermissionSet),
        (status = 403, description = "A permission named is not the caller's own (`forbidden`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_permission_set(
    State(state): State<AppState>,
    caller: Caller,
    ValidJson(request): ValidJson<CreatePermissionSet>,
) -> Result<(StatusCode, Json<CustomPermissionSet>), Error> {
    caller.require(Permission::PermissionsManage)?;
    let now = Now::get();
    let set = CustomPermissionSet {
        id: ulid::Ulid::new().to_string(),
        tenant_id: caller.tenant_id.clone(),
        name: request.name.trim().to_owned(),
        description: request.description.map(|text| text.trim().to_owned()).filter(|text| !text.is_empty()),
        permissions: granted_by(&caller, &request.permissions)?,
        version: 1,
        created_at: now.iso.clone(),
        updated_at: now.iso.clone(),
    };
    let audit = AuditEntry::new(
        &caller.actor(),
        "permission_set.created",
        ("permission_set", &set.id),
        None::<&CustomPermissionSet>,
        Some(&set),
        &now.iso,
    );
    // Round trip 1: the set and its audit entry.
    committed(state.store.create(&set, &audit, Vec::new()).await?)?;
    Ok((StatusCode::CREATED, Json(set)))
}

/// Changes a permission set of the organisation's (owners), audited as `permission_set.updated`.
#[utoipa::path(patch, path = "/permission-sets/{set_id}", tag = "people", security(("bearer" = ["permissions.manage"])),
    params(("set_id" = String, Path)), request_body = UpdatePermissionSet,
    responses(
        (status = 200, description = "The changed set", body = CustomPermissionSet),
        (status = 403, description = "A permission named is not the caller's own (`forbidden`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such set of this organisation's (a built-in role's set cannot change)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`version` is stale", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update_permission_set(
    State(state): State<AppState>,
    caller: Caller,
    Path(set_id): Path<String>,
    ValidJson(update): ValidJson<UpdatePermissionSet>,
) -> Result<Json<CustomPermissionSet>, Error> {
    caller.require(Permission::PermissionsManage)?;
    let permissions = update.permissions.as_deref().map(|permissions| granted_by(&caller, permissions)).transpose()?;
    // Round trip 1: the set as it is.
    let before = state.store.entity::<CustomPermissionSet>(&caller.tenant_id, &set_id).await?.ok_or(Error::NotFound)?;
    // Round trip 2: the change with its audit entry, if nobody changed the set meanwhile.
    let after = save(&state, &caller, before, update.version, "updated", |set| {
        if let Some(name) = update.name {
            set.name = name.trim().to_owned();
        }
        if let Some(description) = update.description {
            set.description = description.map(|text| text.trim().to_owned()).filter(|text| !text.is_empty());
        }
        if let Some(permissions) = permissions {
            set.permissions = permissions;
        }
        Ok(())
    })
    .await?;
    Ok(Json(after))
}

#[cfg(test)]
mod tests {
    use super::*;
    use Permission::*;

    fn caller(role: Role) -> Caller {
        Caller {
            tenant_id: "T".into(),
            person_id: "P".into(),
            role,
            session_id: "S".into(),
            mfa: true,
            mfa_enforced: true,
            permissions: role.permissions(),
            scope: Default::default(),
            request_id: "R".into(),
            ip: None,
        }
    }

    #[test]
    fn a_set_holds_each_permission_once_and_only_what_its_maker_holds() {
        let admin = caller(Role::Admin);
        assert_eq!(granted_by(&admin, &[PayrollRead, CostsRead, PayrollRead]).unwrap(), [CostsRead, PayrollRead]);
        assert!(matches!(granted_by(&admin, &[PayrollRead, BillingManage]), Err(Error::Forbidden(_))));
        assert!(granted_by(&caller(Role::Owner), &Permissions::organisation().list()).is_ok());
        assert!(organisation_permissions(&[AuditRead, PlatformManage], &()).is_err());
    }
}
