//! Named permissions: what an operation needs, and what each built-in role holds (a fixed set).
//!
//! Every operation above what anyone may do for themselves names one permission
//! (`Caller::require`), and the OpenAPI document states it as the operation's bearer scope. The
//! built-in roles are fixed sets of them, nested as the old ladder was (staff ⊂ coordinator ⊂
//! admin ⊂ owner); the platform admin holds only the platform's. Owners define sets of their own
//! (`POST /permission-sets`) from the organisation's permissions (all but `platform.manage`).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Role;

/// One thing a person may be allowed to do in their organisation (what each allows:
/// [`Permission::description`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
pub enum Permission {
    #[serde(rename = "people.read")]
    PeopleRead,
    #[serde(rename = "people.review")]
    PeopleReview,
    #[serde(rename = "people.write")]
    PeopleWrite,
    #[serde(rename = "organisation.manage")]
    OrganisationManage,
    #[serde(rename = "imports.run")]
    ImportsRun,
    #[serde(rename = "schedule.write")]
    ScheduleWrite,
    #[serde(rename = "attendance.read")]
    AttendanceRead,
    #[serde(rename = "attendance.correct")]
    AttendanceCorrect,
    #[serde(rename = "attendance.review")]
    AttendanceReview,
    #[serde(rename = "costs.read")]
    CostsRead,
    #[serde(rename = "payroll.read")]
    PayrollRead,
    #[serde(rename = "payroll.close")]
    PayrollClose,
    #[serde(rename = "payroll.reopen")]
    PayrollReopen,
    #[serde(rename = "billing.quote")]
    BillingQuote,
    #[serde(rename = "billing.manage")]
    BillingManage,
    #[serde(rename = "audit.read")]
    AuditRead,
    #[serde(rename = "integrations.read")]
    IntegrationsRead,
    #[serde(rename = "integrations.manage")]
    IntegrationsManage,
    #[serde(rename = "permissions.manage")]
    PermissionsManage,
    #[serde(rename = "platform.manage")]
    PlatformManage,
}

use Permission::*;

impl Permission {
    pub const ALL: [Permission; 20] = [
        PeopleRead,
        PeopleReview,
        PeopleWrite,
        OrganisationManage,
        ImportsRun,
        ScheduleWrite,
        AttendanceRead,
        AttendanceCorrect,
        AttendanceReview,
        CostsRead,
        PayrollRead,
        PayrollClose,
        PayrollReopen,
        BillingQuote,
        BillingManage,
        AuditRead,
        IntegrationsRead,
        IntegrationsManage,
        PermissionsManage,
        PlatformManage,
    ];

    /// Its name, as the API and the OpenAPI document write it (`schedule.write`).
    pub fn name(self) -> &'static str {
        CATALOGUE[self as usize].0
    }

    /// What it allows, in a sentence.
    pub fn description(self) -> &'static str {
        CATALOGUE[self as usize].1
    }

    fn bit(self) -> u32 {
        1 << self as u32
    }
}

/// Each permission's name and what it allows, in the order of the enum (a test checks the names
/// against serde's).
const CATALOGUE: [(&str, &str); 20] = [
    ("people.read", "See everyone's profile (rates only with `payroll.read`), availability and feedback."),
    ("people.review", "Give a worker feedback."),
    ("people.write", "Invite, change and deactivate people, and re-send invitations."),
    ("organisation.manage", "The organisation's settings, locations, positions and units."),
    ("imports.run", "Imports from spreadsheets."),
    ("schedule.write", "Events, shifts (drafts too), assignments, requests' decisions, hours warnings, broadcasts."),
    ("attendance.read", "Everyone's attendance records, and their exports."),
    ("attendance.correct", "Correct an attendance record (an override)."),
    ("attendance.review", "Review check-in photos."),
    ("costs.read", "What an event's shifts cost."),
    ("payroll.read", "Everyone's pay stubs and rates, and their exports."),
    ("payroll.close", "Close a pay period."),
    ("payroll.reopen", "Reopen a closed pay period."),
    ("billing.quote", "Ask for an event's quote (on a plan that charges per event)."),
    ("billing.manage", "The subscription, payments, invoices, credits and event unlocks."),
    ("audit.read", "The audit log and the log of messages sent."),
    ("integrations.read", "See the single sign-on and SCIM set-up."),
    ("integrations.manage", "Change the single sign-on set-up and the SCIM token."),
    ("permissions.manage", "Define the organisation's own permission sets."),
    ("platform.manage", "The platform's tenants, plans, packs, payments and figures (platform admins only)."),
];

/// A set of permissions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Permissions(u32);

impl Permissions {
    pub const fn none() -> Self {
        Self(0)
    }

    /// The set a token carries (`perms`), as bits.
    pub fn bits(self) -> u32 {
        self.0
    }

    /// The set of a token's bits; bits of no permission are dropped.
    pub fn from_bits(bits: u32) -> Self {
        Self(bits & Self::of(&Permission::ALL).0)
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn of(permissions: &[Permission]) -> Self {
        Self(permissions.iter().fold(0, |bits, permission| bits | permission.bit()))
    }

    pub fn contains(self, permission: Permission) -> bool {
        self.0 & permission.bit() != 0
    }

    /// Every permission of `self` and of `other`.
    pub fn with(self, other: Permissions) -> Self {
        Self(self.0 | other.0)
    }

    pub fn is_superset_of(self, other: Permissions) -> bool {
        self.0 & other.0 == other.0
    }

    /// Every permission an organisation's people can hold: all but the platform's.
    pub fn organisation() -> Self {
        Self::of(&Permission::ALL).without(PlatformManage)
    }

    pub fn without(self, permission: Permission) -> Self {
        Self(self.0 & !permission.bit())
    }

    /// Its permissions, in the order of [`Permission::ALL`].
    pub fn list(self) -> Vec<Permission> {
        Permission::ALL.into_iter().filter(|permission| self.contains(*permission)).collect()
    }
}

const COORDINATOR: &[Permission] =
    &[PeopleRead, PeopleReview, ScheduleWrite, AttendanceRead, AttendanceCorrect, CostsRead];
const ADMIN: &[Permission] = &[
    PeopleWrite,
    OrganisationManage,
    ImportsRun,
    AttendanceReview,
    PayrollRead,
    PayrollClose,
    BillingQuote,
    AuditRead,
    IntegrationsRead,
];
const OWNER: &[Permission] = &[PayrollReopen, BillingManage, IntegrationsManage, PermissionsManage];

impl Role {
    /// The fixed set a built-in role holds: each tenant role holds the one below's and more.
    pub fn permissions(self) -> Permissions {
        match self {
            Role::Staff => Permissions::none(),
            Role::Coordinator => Permissions::of(COORDINATOR),
            Role::Admin => Role::Coordinator.permissions().with(Permissions::of(ADMIN)),
            Role::Owner => Role::Admin.permissions().with(Permissions::of(OWNER)),
            Role::PlatformAdmin => Permissions::of(&[PlatformManage]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_serdes_and_bits_are_distinct() {
        for permission in Permission::ALL {
            assert_eq!(serde_json::to_value(permission).unwrap(), permission.name(), "{permission:?}");
            assert_eq!(Permissions::of(&[permission]).list(), vec![permission]);
        }
        assert_eq!(Permissions::of(&Permission::ALL).list().len(), Permission::ALL.len());
    }

    #[test]
    fn built_in_roles_nest_as_the_ladder_did() {
        let ladder = [Role::Staff, Role::Coordinator, Role::Admin, Role::Owner];
        for pair in ladder.windows(2) {
            let (lower, higher) = (pair[0].permissions(), pair[1].permissions());
            assert!(higher.is_superset_of(lower) && higher != lower, "{pair:?}");
        }
        assert_eq!(Role::Staff.permissions().list(), vec![]);
        assert!(!Role::Owner.permissions().contains(PlatformManage));
        assert_eq!(Role::PlatformAdmin.permissions().list(), vec![PlatformManage]);
        assert!(Role::Admin.permissions().contains(PayrollClose) && !Role::Admin.permissions().contains(PayrollReopen));
        assert!(
            Role::Coordinator.permissions().contains(ScheduleWrite)
                && !Role::Coordinator.permissions().contains(PeopleWrite)
        );
    }
}
