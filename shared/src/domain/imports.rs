//! What an import file's columns are, and how its header row is matched to them. No I/O: the
//! importer reads the file, the people function answers the templates.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// One column of an import file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    /// The header as the template writes it (matched ignoring case, spaces, `_` and `-`).
    pub name: &'static str,
    pub required: bool,
    /// The template's example cell.
    pub example: &'static str,
}

const fn column(name: &'static str, required: bool, example: &'static str) -> Column {
    Column { name, required, example }
}

/// A people file: the fields of `POST /people`, positions and unit by name.
pub const PEOPLE: &[Column] = &[
    column("name", true, "Sam Staff"),
    column("email", true, "sam@harbour.example"),
    column("role", false, "staff"),
    column("positions", false, "Bar; Cloakroom"),
    column("unit", false, "North Stand"),
    column("hourly_rate", false, "14.50"),
    column("employment_type", false, "staff"),
    column("weekly_hours_cap", false, "38"),
    column("phone", false, "+44 20 7946 0000"),
    column("emergency_contact_name", false, "Alex Staff"),
    column("emergency_contact_phone", false, "+44 20 7946 0001"),
];

/// A shifts file: location, position and event by name, local date and times.
pub const SHIFTS: &[Column] = &[
    column("location", true, "Harbour Arena"),
    column("position", true, "Bar"),
    column("date", true, "2027-03-01"),
    column("start", true, "18:00"),
    column("end", true, "02:00"),
    column("headcount", false, "4"),
    column("break_minutes", false, "30"),
    column("notes", false, "Doors open 19:00"),
    column("event", false, "Spring Concert"),
    column("assignees", false, "sam@harbour.example; kim@harbour.example"),
];

/// What is wrong with one cell (or a whole row, no `column`; or the file, `row` 0).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RowError {
    /// The spreadsheet's row number: the header is row 1, the first data row 2; 0 for the file.
    pub row: usize,
    /// The column's header as the template names it.
    pub column: Option<String>,
    /// Machine-readable: `required`, `invalid`, `unknown_column`, `missing_column`,
    /// `duplicate_column`, `duplicate_in_file`, `already_member`, `unknown_position`,
    /// `unknown_unit`, `not_allowed`, `formula`, `too_long`, `unreadable_file`, `too_many_rows`,
    /// `empty_file`, `plan_limit_reached`; for a shift's `assignees`, `unknown_person` and the conflict rules' codes
    /// (`overlap`, `position_not_held`, `headcount_full`, `time_off`, `person_inactive`,
    /// `outside_availability`, `weekly_hours_cap`, `min_rest`, `consecutive_days`).
    pub code: String,
    pub message: String,
}

impl RowError {
    pub fn new(row: usize, column: Option<&str>, code: &str, message: impl Into<String>) -> Self {
        Self { row, column: column.map(str::to_owned), code: code.to_owned(), message: message.into() }
    }

    /// An error with the whole file.
    pub fn file(code: &str, message: impl Into<String>) -> Self {
        Self::new(0, None, code, message)
    }
}

/// A header as it is compared: lower case, without spaces, `_` and `-`.
fn normalised(header: &str) -> String {
    header
        .chars()
        .filter(|c| !matches!(c, ' ' | '_' | '-') && !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Where each of `columns` is in a file whose header row is `headers`: `positions[i]` is the
/// index of `columns[i]`, if present. Unknown, repeated and missing required columns are errors
/// naming them (row 1).
pub fn match_header(columns: &[Column], headers: &[String]) -> Result<Vec<Option<usize>>, Vec<RowError>> {
    let mut positions = vec![None; columns.len()];
    let mut errors = Vec::new();
    for (index, header) in headers.iter().enumerate() {
        let wanted = normalised(header);
        if wanted.is_empty() {
            continue;
        }
        match columns.iter().position(|column| normalised(column.name) == wanted) {
            Some(known) if positions[known].is_some() => errors.push(RowError::new(
                1,
                Some(columns[known].name),
                "duplicate_column",
                format!("the column `{}` appears twice", columns[known].name),
            )),
            Some(known) => positions[known] = Some(index),
            None => {
                let names: Vec<&str> = columns.iter().map(|column| column.name).collect();
                errors.push(RowError::new(
                    1,
                    Some(header.trim()),
                    "unknown_column",
                    format!("unknown column `{}`; the columns are {}", header.trim(), names.join(", ")),
                ));
            }
        }
    }
    for (column, position) in columns.iter().zip(&positions) {
        if column.required && position.is_none() {
            errors.push(RowError::new(
                1,
                Some(column.name),
                "missing_column",
                format!("the column `{}` is required", column.name),
            ));
        }
    }
    if errors.is_empty() { Ok(positions) } else { Err(errors) }
}

/// The template of a file: its header row and one example row, as CSV.
pub fn template(columns: &[Column]) -> String {
    let quoted = |cell: &str| {
        if cell.contains([',', '"', ';', '\n']) {
            format!("\"{}\"", cell.replace('"', "\"\""))
        } else {
            cell.to_owned()
        }
    };
    let header: Vec<String> = columns.iter().map(|column| quoted(column.name)).collect();
    let example: Vec<String> = columns.iter().map(|column| quoted(column.example)).collect();
    format!("{}\r\n{}\r\n", header.join(","), example.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(names: &[&str]) -> Vec<String> {
        names.iter().map(|name| (*name).to_owned()).collect()
    }

    #[test]
    fn headers_match_ignoring_case_spaces_and_underscores() {
        let found = match_header(PEOPLE, &headers(&["E-Mail", " Name ", "Hourly Rate", "WEEKLY_HOURS_CAP"])).unwrap();
        assert_eq!(found[0], Some(1), "name");
        assert_eq!(found[1], Some(0), "email");
        assert_eq!(found[5], Some(2), "hourly_rate");
        assert_eq!(found[7], Some(3), "weekly_hours_cap");
        assert_eq!(found[2], None, "role is optional");
    }

    #[test]
    fn unknown_repeated_and_missing_columns_are_named() {
        let errors = match_header(PEOPLE, &headers(&["name", "Name", "colour"])).unwrap_err();
        let codes: Vec<(&str, Option<&str>)> =
            errors.iter().map(|error| (error.code.as_str(), error.column.as_deref())).collect();
        assert_eq!(
            codes,
            [("duplicate_column", Some("name")), ("unknown_column", Some("colour")), ("missing_column", Some("email"))]
        );
        assert!(errors.iter().all(|error| error.row == 1));
    }

    #[test]
    fn a_template_is_its_header_and_an_example_that_match_again() {
        for columns in [PEOPLE, SHIFTS] {
            let template = template(columns);
            let lines: Vec<&str> = template.lines().collect();
            assert_eq!(lines.len(), 2);
            let header = headers(&lines[0].split(',').collect::<Vec<_>>());
            assert_eq!(match_header(columns, &header).unwrap().iter().flatten().count(), columns.len());
        }
        assert!(template(PEOPLE).contains("\"Bar; Cloakroom\""), "a cell with `;` is quoted for `;` files");
    }
}
