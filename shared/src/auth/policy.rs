//! Roles and the policy helper handlers call before acting.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::Error;
use crate::auth::Caller;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    PlatformAdmin,
    Owner,
    Admin,
    Coordinator,
    Staff,
}

impl Role {
    /// Tenant roles are a ladder: owner ⊇ admin ⊇ coordinator ⊇ staff. The platform admin
    /// stands outside any tenant and gets no tenant role by default.
    fn tenant_rank(self) -> Option<u8> {
        match self {
            Role::Owner => Some(4),
            Role::Admin => Some(3),
            Role::Coordinator => Some(2),
            Role::Staff => Some(1),
            Role::PlatformAdmin => None,
        }
    }

    /// Whether this role may do what `required` may do within its tenant.
    pub fn includes(self, required: Role) -> bool {
        match (self.tenant_rank(), required.tenant_rank()) {
            (Some(have), Some(need)) => have >= need,
            _ => self == required,
        }
    }
}

impl Caller {
    /// Allows the call when the caller's role includes `required`, otherwise 403.
    pub fn require(&self, required: Role) -> Result<(), Error> {
        if self.role.includes(required) { Ok(()) } else { Err(Error::Forbidden("your role does not allow this")) }
    }
}

#[cfg(test)]
mod tests {
    use super::Role::*;

    #[test]
    fn tenant_roles_form_a_ladder() {
        assert!(Owner.includes(Admin) && Admin.includes(Coordinator) && Coordinator.includes(Staff));
        assert!(!Staff.includes(Coordinator) && !Coordinator.includes(Admin) && !Admin.includes(Owner));
    }

    #[test]
    fn platform_admin_is_separate_from_tenant_roles() {
        assert!(PlatformAdmin.includes(PlatformAdmin));
        assert!(!PlatformAdmin.includes(Staff) && !Owner.includes(PlatformAdmin));
    }
}
