//! A people file's rows, validated whole into the people they add: each row is what `POST
//! /people` takes (the same [`CreatePerson`] rules), with positions and unit by name.

use std::collections::HashMap;

use garde::Validate;
use rota::Error;
use rota::auth::Role;
use rota::domain::imports::{PEOPLE, match_header};
use rota::store::Store;
use rota::store::entities::Archivable;
use rota::store::imports::{Import, RowError};
use rota::store::people::{CreatePerson, EmergencyContact, EmploymentType, OrganisationRole, Person};
use rota::store::places::{Position, Unit};

use crate::sheet::{Cell, Cells, Sheet};
use crate::{name_key, whole_number};

/// The people of a valid file (each with the id its row number gives it), or every error.
pub async fn prepare(
    store: &Store,
    import: &Import,
    sheet: &Sheet,
) -> Result<Result<Vec<Person>, Vec<RowError>>, Error> {
    let columns = match match_header(PEOPLE, &sheet.header) {
        Ok(columns) => columns,
        Err(errors) => return Ok(Err(errors)),
    };
    let tenant_id = &import.tenant_id;
    let (positions, units, tenant) =
        tokio::try_join!(store.all::<Position>(tenant_id), store.all::<Unit>(tenant_id), store.tenant(tenant_id))?;
    let tenant = tenant.ok_or_else(|| Error::internal("the import's organisation is gone"))?;
    let positions: HashMap<String, String> = positions
        .into_iter()
        .filter(|position| !position.archived())
        .map(|position| (name_key(&position.name), position.id))
        .collect();
    let units: HashMap<String, String> = units.into_iter().map(|unit| (name_key(&unit.name), unit.id)).collect();
    let names = Names { positions, units };
    let mut errors = Vec::new();
    let mut people: Vec<(usize, Person)> = Vec::with_capacity(sheet.rows.len());
    let mut first_row_of: HashMap<String, usize> = HashMap::new();
    for (index, row) in sheet.rows.iter().enumerate() {
        let cells = Cells { row, columns: PEOPLE, positions: &columns };
        match person_of(&cells, &names, import, crate::row_id(&import.id, index)) {
            Ok(person) => match first_row_of.get(&person.email) {
                Some(first) => errors.push(RowError::new(
                    row.number,
                    Some("email"),
                    "duplicate_in_file",
                    format!("{} is also on row {first}", person.email),
                )),
                None => {
                    first_row_of.insert(person.email.clone(), row.number);
                    people.push((row.number, person));
                }
            },
            Err(row_errors) => errors.extend(row_errors),
        }
    }
    let emails: Vec<&str> = people.iter().map(|(_, person)| person.email.as_str()).collect();
    let members = store.members_among(tenant_id, &emails).await?;
    for (row, person) in &people {
        if members.contains(&person.email) {
            errors.push(RowError::new(
                *row,
                Some("email"),
                "already_member",
                format!("{} is a member of the organisation already, or has an invitation waiting", person.email),
            ));
        }
    }
    let limit = tenant.subscription.and_then(|subscription| subscription.limits.max_active_people);
    if let Some(limit) = limit.filter(|limit| tenant.people_count + people.len() as i64 > i64::from(*limit)) {
        errors.push(RowError::file(
            "plan_limit_reached",
            format!(
                "the organisation has {} people and its plan allows {limit}: {} more do not fit",
                tenant.people_count,
                people.len()
            ),
        ));
    }
    if errors.is_empty() {
        return Ok(Ok(people.into_iter().map(|(_, person)| person).collect()));
    }
    errors.sort_by_key(|error| error.row);
    Ok(Err(errors))
}

struct Names {
    positions: HashMap<String, String>,
    units: HashMap<String, String>,
}

fn person_of(cells: &Cells, names: &Names, import: &Import, id: String) -> Result<Person, Vec<RowError>> {
    let row = cells.row.number;
    let mut errors = Vec::new();
    let mut error =
        |column: &str, code: &str, message: String| errors.push(RowError::new(row, Some(column), code, message));
    let role = match cells.text("role").to_lowercase().as_str() {
        "" | "staff" => OrganisationRole::Staff,
        "coordinator" => OrganisationRole::Coordinator,
        "admin" => OrganisationRole::Admin,
        "owner" => OrganisationRole::Owner,
        other => {
            error("role", "invalid", format!("`{other}` is not a role: staff, coordinator, admin or owner"));
            OrganisationRole::Staff
        }
    };
    let granted = role.granted_by(import.requester_role).unwrap_or_else(|| {
        error("role", "not_allowed", "only an owner can import owners".into());
        Role::Staff
    });
    let mut position_ids = Vec::new();
    for name in cells.text("positions").split([';', '|']).map(str::trim).filter(|name| !name.is_empty()) {
        match names.positions.get(&name_key(name)) {
            Some(id) => position_ids.push(id.clone()),
            None => error("positions", "unknown_position", format!("no position is called `{name}`")),
        }
    }
    position_ids.dedup();
    let unit_id = cells.optional("unit").and_then(|name| match names.units.get(&name_key(&name)) {
        Some(id) => Some(id.clone()),
        None => {
            error("unit", "unknown_unit", format!("no unit is called `{name}`"));
            None
        }
    });
    let hourly_rate_minor = match cells.get("hourly_rate") {
        cell if cell.is_blank() => None,
        cell => money_minor(cell).or_else(|| {
            error("hourly_rate", "invalid", format!("`{}` is not an amount like 14.50", cell.text()));
            None
        }),
    };
    let employment_type = match cells.text("employment_type").to_lowercase().as_str() {
        "" => None,
        "staff" => Some(EmploymentType::Staff),
        "volunteer" => Some(EmploymentType::Volunteer),
        other => {
            error("employment_type", "invalid", format!("`{other}` is not staff or volunteer"));
            None
        }
    };
    let weekly_hours_cap = match cells.get("weekly_hours_cap") {
        cell if cell.is_blank() => None,
        cell => whole_number(cell).or_else(|| {
            error("weekly_hours_cap", "invalid", format!("`{}` is not a whole number of hours", cell.text()));
            None
        }),
    };
    let emergency_contact = match (cells.optional("emergency_contact_name"), cells.optional("emergency_contact_phone"))
    {
        (None, None) => None,
        (Some(name), Some(phone)) => Some(EmergencyContact { name, phone }),
        (Some(_), None) => {
            error("emergency_contact_phone", "required", "an emergency contact needs a phone number".into());
            None
        }
        (None, Some(_)) => {
            error("emergency_contact_name", "required", "an emergency contact needs a name".into());
            None
        }
    };
    let request = CreatePerson {
        email: cells.text("email").to_lowercase(),
        name: cells.text("name"),
        role,
        phone: cells.optional("phone"),
        employment_type,
        position_ids,
        hourly_rate_minor,
        weekly_hours_cap,
        unit_id,
        emergency_contact,
        permission_set_id: None,
        scope: None,
    };
    // The rules of `POST /people`, each failure named by its column.
    if let Err(report) = request.validate() {
        for (path, failure) in report.iter() {
            errors.push(RowError::new(
                row,
                Some(column_of(&path.to_string())),
                "invalid",
                failure.message().to_owned(),
            ));
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let now = import.started_at.as_deref().unwrap_or(&import.created_at);
    let mut person = request.into_person(id, import.tenant_id.clone(), granted, now);
    person.import_id = Some(import.id.clone());
    Ok(person)
}

/// The file's column for a field of [`CreatePerson`].
fn column_of(field: &str) -> &'static str {
    match field {
        "email" => "email",
        "phone" => "phone",
        "hourly_rate_minor" => "hourly_rate",
        "weekly_hours_cap" => "weekly_hours_cap",
        "emergency_contact.name" => "emergency_contact_name",
        "emergency_contact.phone" => "emergency_contact_phone",
        field if field.starts_with("position_ids") => "positions",
        "unit_id" => "unit",
        _ => "name",
    }
}

/// An amount in minor units (cents): `14.5`, `14.50`, `14,50` (a decimal comma) or a number cell.
fn money_minor(cell: &Cell) -> Option<u64> {
    let major = match cell {
        Cell::Number(number) => *number,
        cell => cell.text().replace(',', ".").parse::<f64>().ok()?,
    };
    let minor = (major * 100.0).round();
    (major.is_finite() && (0.0..=1e12).contains(&minor) && (major * 100.0 - minor).abs() < 1e-6).then_some(minor as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_read_to_the_cent_or_refused() {
        let text = |t: &str| money_minor(&Cell::Text(t.into()));
        assert_eq!(text("14.50"), Some(1450));
        assert_eq!(text("14,5"), Some(1450));
        assert_eq!(text("0"), Some(0));
        assert_eq!(money_minor(&Cell::Number(12.25)), Some(1225));
        assert_eq!(text("14.505"), None, "a fraction of a cent");
        assert_eq!(text("-1"), None);
        assert_eq!(text("NaN"), None);
        assert_eq!(text("twelve"), None);
    }
}
