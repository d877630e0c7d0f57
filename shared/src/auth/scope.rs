//! Scopes: a person limited to some locations and/or units of their organisation. Locations limit
//! what happens at a place (shifts, their assignments, attendance); units limit people (who they
//! see and change). A dimension left empty is not limited. Beyond a scope is not found (404), as
//! another organisation's is.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::Error;
use crate::auth::Caller;
use crate::store::people::Person;
use crate::store::schedule::Shift;

/// Most locations (and most units) one scope names: they travel in every access token.
pub const MAX_SCOPE_IDS: usize = 25;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema, garde::Validate)]
#[serde(deny_unknown_fields)]
// Named apart from a broadcast's `Scope` (where it goes) in the OpenAPI document.
#[schema(as = AccessScope, example = json!({ "location_ids": ["01J2Z3LOCATIONRIVERSIDEHAL"], "unit_ids": [] }))]
pub struct Scope {
    /// Only these locations' shifts, assignments and attendance; every location when empty.
    #[garde(length(max = MAX_SCOPE_IDS), inner(length(min = 1, max = 64)))]
    #[schema(max_items = 25, min_length = 1, max_length = 64)]
    #[serde(default)]
    pub location_ids: Vec<String>,
    /// Only these units' people; everyone when empty.
    #[garde(length(max = MAX_SCOPE_IDS), inner(length(min = 1, max = 64)))]
    #[schema(max_items = 25, min_length = 1, max_length = 64)]
    #[serde(default)]
    pub unit_ids: Vec<String>,
}

impl Scope {
    /// Limits nothing.
    pub fn is_open(&self) -> bool {
        self.location_ids.is_empty() && self.unit_ids.is_empty()
    }

    /// As given, in one order and without repeats: equal scopes compare equal.
    pub fn normalised(mut self) -> Self {
        for ids in [&mut self.location_ids, &mut self.unit_ids] {
            ids.sort();
            ids.dedup();
        }
        self
    }

    pub fn sees_location(&self, location_id: &str) -> bool {
        self.location_ids.is_empty() || self.location_ids.iter().any(|id| id == location_id)
    }

    /// A person of no unit is beyond every scope that limits units.
    pub fn sees_unit(&self, unit_id: Option<&str>) -> bool {
        self.unit_ids.is_empty() || unit_id.is_some_and(|unit| self.unit_ids.iter().any(|id| id == unit))
    }

    /// Whether everything this scope lets see, `wider` does too.
    pub fn is_within(&self, wider: &Scope) -> bool {
        let within = |narrow: &[String], wide: &[String]| {
            wide.is_empty() || (!narrow.is_empty() && narrow.iter().all(|id| wide.contains(id)))
        };
        within(&self.location_ids, &wider.location_ids) && within(&self.unit_ids, &wider.unit_ids)
    }
}

impl Caller {
    /// Something at `location_id`: not found beyond the caller's locations.
    pub fn within_location(&self, location_id: &str) -> Result<(), Error> {
        if self.scope.sees_location(location_id) { Ok(()) } else { Err(Error::NotFound) }
    }

    /// Something of `person_id`'s at `location_id`: the caller's own anywhere, anyone else's only
    /// within the caller's locations.
    pub fn within_location_unless_own(&self, person_id: &str, location_id: &str) -> Result<(), Error> {
        if person_id == self.person_id { Ok(()) } else { self.within_location(location_id) }
    }

    /// A shift read (with whatever was read with it; `None`: there is none), when it is at one of
    /// the caller's locations; otherwise not found.
    pub fn shift_in_scope<T>(&self, found: Option<(Shift, T)>) -> Result<(Shift, T), Error> {
        found.filter(|(shift, _)| self.scope.sees_location(&shift.location_id)).ok_or(Error::NotFound)
    }

    /// Whether `person` (placed on a shift, say) is the caller or within the caller's units.
    pub fn sees_person(&self, person: &Person) -> bool {
        person.id == self.person_id || self.scope.sees_unit(person.unit_id.as_deref())
    }

    /// A person read (`None`: there is none), when it is the caller themself or of the caller's
    /// units; otherwise not found.
    pub fn person_in_scope(&self, person: Option<Person>) -> Result<Person, Error> {
        person.filter(|person| self.sees_person(person)).ok_or(Error::NotFound)
    }

    /// The locations a list reads for the caller: the one `asked` for (none when it is beyond
    /// the caller's scope, as another organisation's would be), else the scope's, else every
    /// location (`None`).
    pub fn locations_to_read(&self, asked: Option<&str>) -> Option<Vec<String>> {
        to_read(&self.scope.location_ids, asked)
    }

    /// As [`Caller::locations_to_read`], of units.
    pub fn units_to_read(&self, asked: Option<&str>) -> Option<Vec<String>> {
        to_read(&self.scope.unit_ids, asked)
    }

    /// Where the caller makes something at `location_id`: one of their locations; something at
    /// no one location (reaching every location) only when they are not limited to some.
    pub fn may_act_at(&self, location_id: Option<&str>) -> Result<(), Error> {
        match location_id {
            Some(location) => self.within_location(location),
            None if self.scope.location_ids.is_empty() => Ok(()),
            None => Err(Error::field("location_id", "is needed: you act at your own locations")),
        }
    }

    /// Nobody gives a scope wider than their own (a coordinator of two locations limits others
    /// to those, never opens them): 403 `forbidden` otherwise.
    pub fn may_give_scope(&self, scope: &Scope) -> Result<(), Error> {
        if scope.is_within(&self.scope) {
            Ok(())
        } else {
            Err(Error::Forbidden("nobody gives a scope wider than their own"))
        }
    }
}

/// The ids a list reads under a scope's `limited` ids (empty: not limited): see
/// [`Caller::locations_to_read`].
fn to_read(limited: &[String], asked: Option<&str>) -> Option<Vec<String>> {
    match asked {
        Some(id) => {
            let seen = limited.is_empty() || limited.iter().any(|own| own == id);
            Some(seen.then(|| id.to_owned()).into_iter().collect())
        }
        None => (!limited.is_empty()).then(|| limited.to_vec()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(locations: &[&str], units: &[&str]) -> Scope {
        Scope {
            location_ids: locations.iter().map(|id| (*id).to_owned()).collect(),
            unit_ids: units.iter().map(|id| (*id).to_owned()).collect(),
        }
    }

    #[test]
    fn an_empty_dimension_limits_nothing_and_a_named_one_only_lets_its_own_through() {
        let open = Scope::default();
        assert!(open.is_open() && open.sees_location("A") && open.sees_unit(None) && open.sees_unit(Some("U")));
        let limited = scope(&["A", "B"], &[]);
        assert!(!limited.is_open());
        assert!(limited.sees_location("A") && limited.sees_location("B") && !limited.sees_location("C"));
        assert!(limited.sees_unit(None), "units are not limited");
        let units = scope(&[], &["U"]);
        assert!(units.sees_unit(Some("U")) && !units.sees_unit(Some("V")) && !units.sees_unit(None));
        assert!(units.sees_location("C"), "locations are not limited");
    }

    #[test]
    fn a_scope_is_within_another_when_it_sees_no_more() {
        let wide = scope(&["A", "B"], &["U"]);
        assert!(scope(&["A"], &["U"]).is_within(&wide));
        assert!(wide.is_within(&wide));
        assert!(!scope(&["A", "C"], &["U"]).is_within(&wide), "a location beyond");
        assert!(!scope(&["A"], &[]).is_within(&wide), "units opened");
        assert!(!Scope::default().is_within(&wide), "everything opened");
        assert!(scope(&["Z"], &["V"]).is_within(&Scope::default()), "the open scope holds every other");
    }

    #[test]
    fn normalising_sorts_and_drops_repeats() {
        assert_eq!(scope(&["B", "A", "B"], &["U", "U"]).normalised(), scope(&["A", "B"], &["U"]));
    }
}
