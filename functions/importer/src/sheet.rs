//! Reading an import file into rows of cells: CSV (UTF-8 with or without a BOM, `,` or `;`
//! found from the header line, quoted fields, CRLF) and .xlsx (the first sheet, streamed cell by
//! cell). Whatever the bytes, the answer is rows or errors naming what is wrong, never a panic.

use std::io::Cursor;

use calamine::{DataRef, Reader, Xlsx};
use rota::domain::imports::Column;
use rota::store::imports::{ImportFormat, MAX_IMPORT_ROWS, RowError};

/// The longest cell accepted, in bytes; a longer one is a file that is not what it says.
pub const MAX_CELL_BYTES: usize = 4 * 1024;
/// The most columns a row may have.
const MAX_COLUMNS: usize = 100;

#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Empty,
    Text(String),
    Number(f64),
    /// A date or time cell of a workbook (an Excel serial, read as a date and time).
    DateTime(chrono::NaiveDateTime),
}

impl Cell {
    /// The cell as text, trimmed: a whole number without decimals, a date as `YYYY-MM-DD` (with
    /// ` HH:MM` when it has a time of day).
    pub fn text(&self) -> String {
        match self {
            Cell::Empty => String::new(),
            Cell::Text(text) => text.trim().to_owned(),
            Cell::Number(number) if number.fract() == 0.0 && number.abs() < 1e15 => format!("{number:.0}"),
            Cell::Number(number) => number.to_string(),
            Cell::DateTime(at) if at.time() == chrono::NaiveTime::MIN => at.format("%Y-%m-%d").to_string(),
            Cell::DateTime(at) => at.format("%Y-%m-%d %H:%M").to_string(),
        }
    }

    /// Whether it holds nothing but whitespace.
    pub fn is_blank(&self) -> bool {
        match self {
            Cell::Empty => true,
            Cell::Text(text) => text.trim().is_empty(),
            _ => false,
        }
    }
}

/// A data row and its number in the spreadsheet (the header is row 1).
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub number: usize,
    pub cells: Vec<Cell>,
}

impl Row {
    /// The cell at `index`, if the row reaches it.
    pub fn cell(&self, index: Option<usize>) -> &Cell {
        index.and_then(|index| self.cells.get(index)).unwrap_or(&Cell::Empty)
    }
}

/// One row's cells by column name, for a file whose header matched `columns` at `positions`
/// ([`rota::domain::imports::match_header`]).
pub struct Cells<'a> {
    pub row: &'a Row,
    pub columns: &'static [Column],
    pub positions: &'a [Option<usize>],
}

impl Cells<'_> {
    pub fn get(&self, name: &str) -> &Cell {
        let index = self.columns.iter().position(|column| column.name == name).expect("one of the file's columns");
        self.row.cell(self.positions[index])
    }

    pub fn text(&self, name: &str) -> String {
        self.get(name).text()
    }

    /// The cell's text, `None` when blank.
    pub fn optional(&self, name: &str) -> Option<String> {
        Some(self.text(name)).filter(|text| !text.is_empty())
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Sheet {
    pub header: Vec<String>,
    /// The rows after the header that are not blank.
    pub rows: Vec<Row>,
}

/// Reads a file of `format`. Errors name the row (0: the file) and say what is wrong.
pub fn read(format: ImportFormat, bytes: &[u8]) -> Result<Sheet, Vec<RowError>> {
    let rows = match format {
        ImportFormat::Csv => csv_rows(bytes)?,
        ImportFormat::Xlsx => xlsx_rows(bytes)?,
    };
    let mut rows = rows.into_iter();
    let header = rows
        .next()
        .map(|row| row.cells.iter().map(Cell::text).collect())
        .ok_or_else(|| vec![RowError::file("empty_file", "the file is empty: it needs a header row")])?;
    let rows: Vec<Row> = rows.filter(|row| !row.cells.iter().all(Cell::is_blank)).collect();
    if rows.is_empty() {
        return Err(vec![RowError::file("empty_file", "the file has a header row and no data rows")]);
    }
    Ok(Sheet { header, rows })
}

fn unreadable(message: impl Into<String>) -> Vec<RowError> {
    vec![RowError::file("unreadable_file", message)]
}

fn too_many_rows() -> Vec<RowError> {
    vec![RowError::file("too_many_rows", format!("the file has more than {MAX_IMPORT_ROWS} rows; split it"))]
}

/// The delimiter of a CSV file: `;` when its first line has more of them than `,` outside quotes
/// (spreadsheets where `,` is the decimal comma save so), else `,`.
fn delimiter(bytes: &[u8]) -> u8 {
    let (mut commas, mut semicolons, mut quoted) = (0, 0, false);
    for &byte in bytes {
        match byte {
            b'\n' if !quoted => break,
            b'"' => quoted = !quoted,
            b',' if !quoted => commas += 1,
            b';' if !quoted => semicolons += 1,
            _ => {}
        }
    }
    if semicolons > commas { b';' } else { b',' }
}

fn csv_rows(bytes: &[u8]) -> Result<Vec<Row>, Vec<RowError>> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    // Text never holds NUL: a workbook, an image or a zip named .csv does.
    if bytes.iter().take(8 * 1024).any(|&byte| byte == 0) {
        return Err(unreadable("this is not a CSV text file (a binary file, an .xlsx saved as .csv?)"));
    }
    let mut reader =
        csv::ReaderBuilder::new().has_headers(false).flexible(true).delimiter(delimiter(bytes)).from_reader(bytes);
    let mut rows = Vec::new();
    let mut record = csv::ByteRecord::new();
    let mut errors = Vec::new();
    let (mut newlines, mut counted_to) = (0, 0);
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(error) => return Err(unreadable(format!("not readable as CSV ({error})"))),
        }
        // The line it starts on: what a spreadsheet shows as its row (blank lines count).
        // The reader's position is where it resumed, which can be inside the last record's line
        // end or before blank lines it skipped: the record starts after those.
        let mut start = record.position().map_or(counted_to, |position| position.byte() as usize).min(bytes.len());
        while matches!(bytes.get(start), Some(b'\r' | b'\n')) {
            start += 1;
        }
        newlines += bytes[counted_to.min(start)..start].iter().filter(|&&byte| byte == b'\n').count();
        counted_to = start;
        let number = newlines + 1;
        if rows.len() > MAX_IMPORT_ROWS {
            return Err(too_many_rows());
        }
        if record.len() > MAX_COLUMNS {
            return Err(unreadable(format!("row {number} has {} columns; at most {MAX_COLUMNS}", record.len())));
        }
        let mut cells = Vec::with_capacity(record.len());
        for field in &record {
            if field.len() > MAX_CELL_BYTES {
                errors.push(RowError::new(
                    number,
                    None,
                    "too_long",
                    format!("a cell is longer than {MAX_CELL_BYTES} bytes"),
                ));
                cells.push(Cell::Empty);
                continue;
            }
            match std::str::from_utf8(field) {
                Ok(text) if text.trim_start().starts_with('=') => {
                    errors.push(formula(number));
                    cells.push(Cell::Empty);
                }
                Ok(text) => cells.push(Cell::Text(text.to_owned())),
                Err(_) => {
                    errors.push(RowError::new(
                        number,
                        None,
                        "invalid",
                        "is not UTF-8 text: save the file as CSV UTF-8",
                    ));
                    cells.push(Cell::Empty);
                }
            }
        }
        rows.push(Row { number, cells });
        // A file of nothing but broken rows says so in its first 1,000.
        if errors.len() >= rota::store::imports::MAX_IMPORT_ERRORS {
            return Err(errors);
        }
    }
    if errors.is_empty() { Ok(rows) } else { Err(errors) }
}

fn formula(row: usize) -> RowError {
    RowError::new(row, None, "formula", "a cell holds a formula; import values (paste as values) instead")
}

fn xlsx_rows(bytes: &[u8]) -> Result<Vec<Row>, Vec<RowError>> {
    let not_xlsx = |error: calamine::XlsxError| unreadable(format!("this is not a readable .xlsx workbook ({error})"));
    let mut workbook: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).map_err(not_xlsx)?;
    let first = workbook.sheet_names().first().cloned().ok_or_else(|| unreadable("the workbook has no sheet"))?;
    let mut cells = workbook.worksheet_cells_reader(&first).map_err(not_xlsx)?;
    let mut rows: Vec<Row> = Vec::new();
    let mut errors = Vec::new();
    while let Some(cell) = cells.next_cell_with_formula().map_err(not_xlsx)? {
        let (row, column) = (cell.pos.0 as usize, cell.pos.1 as usize);
        let number = row + 1;
        if number > MAX_IMPORT_ROWS + 1 {
            return Err(too_many_rows());
        }
        if column >= MAX_COLUMNS {
            return Err(unreadable(format!("row {number} has a cell past column {MAX_COLUMNS}")));
        }
        if cell.formula.as_deref().is_some_and(|formula| !formula.is_empty()) {
            errors.push(formula(number));
            if errors.len() >= rota::store::imports::MAX_IMPORT_ERRORS {
                return Err(errors);
            }
            continue;
        }
        let value = match cell.value {
            DataRef::Empty => continue,
            DataRef::Int(number) => Cell::Number(number as f64),
            DataRef::Float(number) => Cell::Number(number),
            DataRef::Bool(yes) => Cell::Text(yes.to_string()),
            DataRef::String(text) | DataRef::DateTimeIso(text) | DataRef::DurationIso(text) => Cell::Text(text),
            DataRef::SharedString(text) => Cell::Text(text.to_owned()),
            DataRef::DateTime(at) => match at.as_datetime() {
                Some(at) => Cell::DateTime(at),
                None => Cell::Number(at.as_f64()),
            },
            DataRef::Error(error) => {
                errors.push(RowError::new(number, None, "invalid", format!("a cell holds the error {error}")));
                continue;
            }
        };
        if matches!(&value, Cell::Text(text) if text.len() > MAX_CELL_BYTES) {
            errors.push(RowError::new(
                number,
                None,
                "too_long",
                format!("a cell is longer than {MAX_CELL_BYTES} bytes"),
            ));
            continue;
        }
        // Cells come row by row, left to right; a row with no cells is blank and left out.
        if rows.last().is_none_or(|last| last.number != number) {
            rows.push(Row { number, cells: Vec::new() });
        }
        let row = rows.last_mut().expect("pushed above");
        if row.cells.len() <= column {
            row.cells.resize(column + 1, Cell::Empty);
        }
        row.cells[column] = value;
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    // The header is the first row with a cell; a sheet starting lower is read from there.
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn texts(sheet: &Sheet) -> Vec<Vec<String>> {
        sheet.rows.iter().map(|row| row.cells.iter().map(Cell::text).collect()).collect()
    }

    #[test]
    fn csv_with_a_bom_semicolons_quotes_and_crlf() {
        let file = "\u{feff}name;email;positions\r\n\"Ortiz; Olive\";olive@x.example;\"Bar; \"\"VIP\"\"\"\r\n\r\nKim;kim@x.example;\r\n";
        let sheet = read(ImportFormat::Csv, file.as_bytes()).unwrap();
        assert_eq!(sheet.header, ["name", "email", "positions"]);
        assert_eq!(
            texts(&sheet),
            [vec!["Ortiz; Olive", "olive@x.example", "Bar; \"VIP\""], vec!["Kim", "kim@x.example", ""]]
        );
        assert_eq!(sheet.rows[1].number, 4, "the blank row 3 is left out, numbers stay the spreadsheet's");
    }

    #[test]
    fn commas_win_when_the_header_has_more_of_them() {
        let sheet = read(ImportFormat::Csv, b"name,email\nSam,\"s;1@x.example\"\n").unwrap();
        assert_eq!(texts(&sheet), [vec!["Sam", "s;1@x.example"]]);
    }

    #[test]
    fn malformed_files_are_errors_that_say_why() {
        let code = |format, bytes: &[u8]| read(format, bytes).unwrap_err()[0].code.clone();
        assert_eq!(code(ImportFormat::Csv, b""), "empty_file");
        assert_eq!(code(ImportFormat::Csv, b"name,email\n"), "empty_file");
        assert_eq!(code(ImportFormat::Csv, b"PK\x03\x04\x00\x00binary"), "unreadable_file");
        assert_eq!(code(ImportFormat::Csv, b"name,email\n\xff\xfe,x\n"), "invalid");
        assert_eq!(code(ImportFormat::Csv, b"name,email\n=HYPERLINK(\"x\"),a@x.example\n"), "formula");
        let long = format!("name,email\n{},a@x.example\n", "x".repeat(1024 * 1024));
        assert_eq!(code(ImportFormat::Csv, long.as_bytes()), "too_long");
        let many = format!("name,email\n{}", "a,b\n".repeat(MAX_IMPORT_ROWS + 1));
        assert_eq!(code(ImportFormat::Csv, many.as_bytes()), "too_many_rows");
        let exactly = format!("name,email\n{}", "a,b\n".repeat(MAX_IMPORT_ROWS));
        assert_eq!(read(ImportFormat::Csv, exactly.as_bytes()).unwrap().rows.len(), MAX_IMPORT_ROWS);
        assert_eq!(code(ImportFormat::Xlsx, b"name,email\nSam,s@x.example\n"), "unreadable_file");
        assert_eq!(code(ImportFormat::Xlsx, b"PK\x03\x04truncated"), "unreadable_file");
    }

    /// A workbook whose first sheet has `rows` (text cells, numbers when they parse), and a formula
    /// at `formula` if given.
    fn workbook(rows: &[&[&str]], formula: Option<(u32, u16)>) -> Vec<u8> {
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        for (r, row) in rows.iter().enumerate() {
            for (c, cell) in row.iter().enumerate() {
                match cell.parse::<f64>() {
                    Ok(number) => sheet.write_number(r as u32, c as u16, number).unwrap(),
                    Err(_) => sheet.write_string(r as u32, c as u16, *cell).unwrap(),
                };
            }
        }
        if let Some((row, column)) = formula {
            sheet.write_formula(row, column, "=1+1").unwrap();
        }
        book.add_worksheet().write_string(0, 0, "not the first sheet").unwrap();
        book.save_to_buffer().unwrap()
    }

    #[test]
    fn xlsx_first_sheet_with_numbers_dates_and_gaps() {
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        for (c, header) in ["name", "email", "date", "rate"].iter().enumerate() {
            sheet.write_string(0, c as u16, *header).unwrap();
        }
        sheet.write_string(1, 0, "Sam").unwrap();
        sheet.write_string(1, 1, "sam@x.example").unwrap();
        let date = rust_xlsxwriter::ExcelDateTime::from_ymd(2027, 3, 1).unwrap();
        let format = rust_xlsxwriter::Format::new().set_num_format("yyyy-mm-dd");
        sheet.write_datetime_with_format(1, 2, &date, &format).unwrap();
        sheet.write_number(1, 3, 14.5).unwrap();
        sheet.write_string(3, 1, "kim@x.example").unwrap();
        let sheet = read(ImportFormat::Xlsx, &book.save_to_buffer().unwrap()).unwrap();
        assert_eq!(sheet.header, ["name", "email", "date", "rate"]);
        assert_eq!(texts(&sheet), [vec!["Sam", "sam@x.example", "2027-03-01", "14.5"], vec!["", "kim@x.example"]]);
        assert_eq!(sheet.rows[1].number, 4);
    }

    #[test]
    fn xlsx_formulas_and_truncated_workbooks_are_refused() {
        let with_formula = workbook(&[&["name", "email"], &["Sam", "sam@x.example"]], Some((1, 0)));
        let errors = read(ImportFormat::Xlsx, &with_formula).unwrap_err();
        assert_eq!((errors[0].row, errors[0].code.as_str()), (2, "formula"));
        let whole = workbook(&[&["name", "email"], &["Sam", "sam@x.example"]], None);
        assert_eq!(read(ImportFormat::Xlsx, &whole).unwrap().rows.len(), 1);
        for cut in [whole.len() / 2, whole.len() - 30] {
            assert_eq!(read(ImportFormat::Xlsx, &whole[..cut]).unwrap_err()[0].code, "unreadable_file", "cut at {cut}");
        }
        assert_eq!(read(ImportFormat::Csv, &whole).unwrap_err()[0].code, "unreadable_file", "an .xlsx named .csv");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn arbitrary_bytes_never_panic_either_parser(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
            let _ = read(ImportFormat::Csv, &bytes);
            let _ = read(ImportFormat::Xlsx, &bytes);
        }

        #[test]
        fn a_zip_header_then_anything_never_panics(tail in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let mut bytes = b"PK\x03\x04".to_vec();
            bytes.extend(tail);
            let _ = read(ImportFormat::Xlsx, &bytes);
        }
    }
}
