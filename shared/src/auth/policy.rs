//! Roles, and the policy helpers handlers call before acting (each names the permission it
//! needs: [`super::permissions`]).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::Error;
use crate::auth::Caller;
use crate::auth::permissions::{Permission, Permissions};

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
    /// Whether this role must pass two-factor authentication before acting above staff, under its
    /// organisation's `require_admin_mfa` setting: owners, admins and platform admins do.
    pub fn mfa_enforced(self, require_admin_mfa: bool) -> bool {
        require_admin_mfa && matches!(self, Role::Owner | Role::Admin | Role::PlatformAdmin)
    }
}

impl Caller {
    /// What the caller may do: their role's fixed set and their permission set's.
    pub fn permissions(&self) -> Permissions {
        self.permissions
    }

    /// Whether the caller holds `permission` (the second factor aside: see [`Caller::require`]).
    pub fn holds(&self, permission: Permission) -> bool {
        self.permissions().contains(permission)
    }

    /// Allows the call when the caller holds `required`, otherwise 403 `forbidden`. Every
    /// permission is above what staff may do, so it also needs a session that passed two-factor
    /// authentication when the caller's role must have one (the token's `mfa_enforced`),
    /// otherwise 403 `mfa_required`. What anyone may do for themselves (their profile, sessions,
    /// enabling 2FA) calls no `require` and needs neither.
    pub fn require(&self, required: Permission) -> Result<(), Error> {
        if !self.holds(required) {
            Err(Error::Forbidden("you do not have the permission this needs"))
        } else if self.mfa_enforced && !self.mfa {
            Err(Error::MfaRequired)
        } else {
            Ok(())
        }
    }

    /// For reading or acting on `person_id`'s records: their own need nothing more; anyone
    /// else's need `required`, under the same 2FA rule as [`Caller::require`] (403
    /// `mfa_required`), and without it are not found (see [`Caller::require_or_hidden`]).
    pub fn require_unless_own(&self, person_id: &str, required: Permission) -> Result<(), Error> {
        if person_id == self.person_id { Ok(()) } else { self.require_or_hidden(required) }
    }

    /// As [`Caller::require`], but without `required` the thing is not found (404), as if it did
    /// not exist: for what only some may even know of (another's records, draft shifts).
    pub fn require_or_hidden(&self, required: Permission) -> Result<(), Error> {
        if self.holds(required) { self.require(required) } else { Err(Error::NotFound) }
    }

    /// A platform admin acting on the organisation `tenant_id` (`platform.manage`, as
    /// [`Caller::require`] has it): the platform's own organisation is none of theirs to act on
    /// as one (404).
    pub fn require_platform_over(&self, tenant_id: &str) -> Result<(), Error> {
        self.require(Permission::PlatformManage)?;
        if tenant_id == crate::store::platform::PLATFORM_TENANT { Err(Error::NotFound) } else { Ok(()) }
    }

    /// Nobody gives (in a role, a permission set, or a set's definition) a permission they do not
    /// hold themselves: 403 `forbidden` otherwise.
    pub fn may_give(&self, permissions: Permissions) -> Result<(), Error> {
        if self.permissions.is_superset_of(permissions) {
            Ok(())
        } else {
            Err(Error::Forbidden("nobody gives a permission they do not hold"))
        }
    }

    /// Whether the caller sees pay (rates, as pay stubs): `payroll.read`, with their 2FA.
    pub fn sees_pay(&self) -> bool {
        self.require(Permission::PayrollRead).is_ok()
    }

    /// Whether the caller sees `person_id`'s pay: their own, or as [`Caller::sees_pay`].
    pub fn sees_pay_of(&self, person_id: &str) -> bool {
        person_id == self.person_id || self.sees_pay()
    }

    /// Separation of duties: nobody below owner overrides, verifies or approves their own record
    /// or request (403 `own_record`). An owner answers to nobody in the organisation, and could
    /// invite a second account of their own anyway, so an owner's own decisions stand, audited
    /// like any other.
    pub fn not_own(&self, person_id: &str) -> Result<(), Error> {
        if person_id == self.person_id && self.role != Role::Owner { Err(Error::OwnRecord) } else { Ok(()) }
    }
}

#[cfg(test)]
mod tests {
    use super::Role::*;
    use super::*;
    use crate::auth::permissions::Permission::*;

    fn caller(role: Role, mfa: bool, mfa_enforced: bool) -> Caller {
        Caller {
            tenant_id: "T".into(),
            person_id: "P".into(),
            role,
            session_id: "S".into(),
            mfa,
            mfa_enforced,
            permissions: role.permissions(),
            scope: Default::default(),
            request_id: "R".into(),
            ip: None,
        }
    }

    #[test]
    fn owners_admins_and_platform_admins_must_pass_2fa_when_their_organisation_says_so() {
        for role in [Owner, Admin, PlatformAdmin] {
            assert!(role.mfa_enforced(true), "{role:?}");
            assert!(!role.mfa_enforced(false), "{role:?}");
        }
        for role in [Coordinator, Staff] {
            assert!(!role.mfa_enforced(true) && !role.mfa_enforced(false), "{role:?}");
        }
    }

    #[test]
    fn ones_own_records_are_open_and_others_follow_the_permission_and_its_2fa() {
        let staff = caller(Staff, false, false);
        assert!(staff.require_unless_own("P", PeopleRead).is_ok());
        assert!(matches!(staff.require_unless_own("Q", PeopleRead), Err(Error::NotFound)));
        let admin_without = caller(Admin, false, true);
        assert!(admin_without.require_unless_own("P", PeopleRead).is_ok());
        assert!(matches!(admin_without.require_unless_own("Q", PeopleRead), Err(Error::MfaRequired)));
        assert!(matches!(admin_without.require_or_hidden(ScheduleWrite), Err(Error::MfaRequired)));
        assert!(caller(Admin, true, true).require_unless_own("Q", PeopleRead).is_ok());
        assert!(matches!(caller(Coordinator, false, false).require_or_hidden(PayrollRead), Err(Error::NotFound)));
    }

    #[test]
    fn pay_is_seen_by_admins_with_2fa_and_by_each_person_for_themself() {
        assert!(caller(Admin, true, true).sees_pay_of("Q") && caller(Owner, false, false).sees_pay());
        assert!(!caller(Admin, false, true).sees_pay_of("Q") && caller(Admin, false, true).sees_pay_of("P"));
        assert!(!caller(Coordinator, false, false).sees_pay() && caller(Staff, false, false).sees_pay_of("P"));
    }

    #[test]
    fn nobody_below_owner_decides_on_their_own() {
        for role in [Admin, Coordinator, Staff] {
            assert!(matches!(caller(role, true, true).not_own("P"), Err(Error::OwnRecord)), "{role:?}");
            assert!(caller(role, true, true).not_own("Q").is_ok(), "{role:?}");
        }
        assert!(caller(Owner, true, true).not_own("P").is_ok());
    }

    #[test]
    fn an_admin_action_without_2fa_is_mfa_required_where_it_is_enforced() {
        let without = caller(Owner, false, true);
        assert!(matches!(without.require(PeopleWrite), Err(Error::MfaRequired)));
        assert!(matches!(without.require(ScheduleWrite), Err(Error::MfaRequired)));
        assert!(without.sees_pay_of("P"), "what is one's own needs no second factor");
        assert!(caller(Owner, true, true).require(BillingManage).is_ok());
        assert!(caller(Owner, false, false).require(BillingManage).is_ok(), "the organisation does not require it");
        assert!(caller(PlatformAdmin, false, true).require(PlatformManage).is_err());
        assert!(caller(Coordinator, false, false).require(ScheduleWrite).is_ok());
    }

    #[test]
    fn the_permission_is_checked_before_the_second_factor() {
        assert!(matches!(caller(Staff, false, false).require(PeopleWrite), Err(Error::Forbidden(_))));
        assert!(matches!(caller(Admin, false, true).require(BillingManage), Err(Error::Forbidden(_))));
        assert!(matches!(caller(Admin, true, true).require(BillingManage), Err(Error::Forbidden(_))));
        assert!(matches!(caller(Owner, true, true).require(PlatformManage), Err(Error::Forbidden(_))));
    }
}
