//! Locations (venues, sites, rooms) and positions (job roles): tenant records an admin keeps.
//! Deleting one archives it (`archived_at`): shifts and people that name it keep their history.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::entities::Archivable;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Location {
    pub id: String,
    pub tenant_id: String,
    pub name: String,
    pub address: Option<String>,
    /// WGS 84 degrees.
    pub lat: f64,
    pub lng: f64,
    /// The geofence: check-ins farther than this from (lat, lng) are refused or flagged.
    pub radius_m: u32,
    /// IANA zone; a shift's local times are in it.
    pub time_zone: String,
    pub tags: Vec<String>,
    pub archived_at: Option<String>,
    pub version: u64,
    pub created_at: String,
    pub updated_at: String,
}

crate::entity!(Location, "LOC#", "location");

impl Archivable for Location {
    fn archived(&self) -> bool {
        self.archived_at.is_some()
    }
    fn archive(&mut self, now: &str) {
        self.archived_at.get_or_insert_with(|| now.to_owned());
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Position {
    pub id: String,
    pub tenant_id: String,
    pub name: String,
    pub description: Option<String>,
    /// What an hour of this position costs when the person has no rate of their own, in minor
    /// units of the tenant's currency. Shown to admins and up only, as pay is.
    pub default_hourly_rate_minor: Option<u64>,
    pub archived_at: Option<String>,
    pub version: u64,
    pub created_at: String,
    pub updated_at: String,
}

crate::entity!(Position, "POS#", "position");

impl Archivable for Position {
    fn archived(&self) -> bool {
        self.archived_at.is_some()
    }
    fn archive(&mut self, now: &str) {
        self.archived_at.get_or_insert_with(|| now.to_owned());
    }
}

/// A team or class. At most one lead: setting it is a versioned write, so of two concurrent
/// "make X lead" one wins and the other is 409.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Unit {
    pub id: String,
    pub tenant_id: String,
    pub name: String,
    pub lead_person_id: Option<String>,
    pub version: u64,
    pub created_at: String,
    pub updated_at: String,
}

crate::entity!(Unit, "UNIT#", "unit");
