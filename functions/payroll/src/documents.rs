//! What leaves payroll as files: a pay stub as a PDF (`rota::pdf`), and a period's stubs as the
//! import files of two payroll providers — ADP Workforce Now's paydata CSV (`Co Code`, `Batch ID`,
//! `File #` in columns 1–3, then regular and overtime hours) and Gusto's hours CSV (employees by
//! name, and by Gusto employee ID when known). Pure: the handlers read and write.

use chrono::NaiveDate;
use rota::domain::money;
use rota::files::{cell, hours};
use rota::pdf::Document;
use rota::store::invoices::Party;
use rota::store::payroll::PayStub;

/// The stub's PDF: the employer (its billing details, else its name), the person (and their
/// payroll number), the period, hours regular and overtime, the rate, gross, deductions and net.
pub fn stub_pdf(stub: &PayStub, employer: &Party, payroll_id: Option<&str>) -> Vec<u8> {
    let mut page = Document::titled("Pay stub");
    page.party("Employer", employer);
    let employee: Vec<String> = std::iter::once(stub.person_name.clone())
        .chain(payroll_id.map(|id| format!("Employee number: {id}")))
        .collect();
    page.block("Employee", &employee);
    page.row("Pay period", &format!("{} to {}", stub.period_start, stub.period_end), false);
    page.row("Shifts", &stub.shifts.to_string(), false);
    page.space(1.0);
    let amount = |minor: i64| money::format(minor, &stub.currency);
    page.row("Hourly rate", &amount(stub.hourly_rate_minor), false);
    page.row("Regular hours", &hours(stub.regular_minutes), false);
    page.row("Overtime hours", &hours(stub.overtime_minutes), false);
    page.row("Regular pay", &amount(stub.regular_minor), false);
    page.row("Overtime pay", &amount(stub.overtime_minor), false);
    page.row("Gross pay", &amount(stub.gross_minor), true);
    for deduction in &stub.deductions {
        page.row(&deduction.name, &amount(-deduction.amount_minor), false);
    }
    page.row("Net pay", &amount(stub.net_minor), true);
    page.space(1.0);
    page.note(&format!("Stub {} · closed {}", stub.id, stub.closed_at.get(..10).unwrap_or(&stub.closed_at)));
    page.finish()
}

/// ADP's paydata batch ID for a period: `RO` and the period's first day as `MMDD`.
pub fn adp_batch_id(period: NaiveDate) -> String {
    format!("RO{}", period.format("%m%d"))
}

/// ADP Workforce Now paydata: one row per stub, its person's File # (`payroll_id`) third.
pub fn adp_paydata(company_code: &str, batch_id: &str, stubs: &[(&PayStub, &str)]) -> Result<Vec<u8>, csv::Error> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(["Co Code", "Batch ID", "File #", "Reg Hours", "O/T Hours"])?;
    for (stub, file_number) in stubs {
        writer.write_record([
            company_code,
            batch_id,
            file_number,
            &hours(stub.regular_minutes),
            &hours(stub.overtime_minutes),
        ])?;
    }
    writer.into_inner().map_err(|error| csv::Error::from(error.into_error()))
}

/// Gusto's hours CSV: first and last name (the last word of the name is the last name), the Gusto
/// employee ID when known, regular and overtime hours.
pub fn gusto_hours(stubs: &[(&PayStub, Option<&str>)]) -> Result<Vec<u8>, csv::Error> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(["first_name", "last_name", "gusto_employee_id", "regular_hours", "overtime_hours"])?;
    for (stub, employee_id) in stubs {
        let name = stub.person_name.trim();
        let (first, last) = name.rsplit_once(' ').unwrap_or(("", name));
        writer.write_record([
            &cell(first.trim()),
            &cell(last),
            employee_id.unwrap_or_default(),
            &hours(stub.regular_minutes),
            &hours(stub.overtime_minutes),
        ])?;
    }
    writer.into_inner().map_err(|error| csv::Error::from(error.into_error()))
}

#[cfg(test)]
mod tests {
    use rota::store::payroll::StubDeduction;

    use super::*;

    fn stub(name: &str, regular_minutes: i64, overtime_minutes: i64) -> PayStub {
        PayStub {
            id: "2030-07-01_P".into(),
            tenant_id: "T".into(),
            person_id: "P".into(),
            person_name: name.into(),
            period_start: "2030-07-01".into(),
            period_end: "2030-07-07".into(),
            currency: "EUR".into(),
            hourly_rate_minor: 1500,
            shifts: 5,
            worked_minutes: regular_minutes + overtime_minutes,
            regular_minutes,
            overtime_minutes,
            regular_minor: 0,
            overtime_minor: 0,
            gross_minor: 0,
            deductions: vec![StubDeduction { name: "Tax".into(), amount_minor: 0 }],
            net_minor: 0,
            closed_at: "2030-07-08T09:00:00Z".into(),
            version: 1,
            created_at: "2030-07-08T09:00:00Z".into(),
            updated_at: "2030-07-08T09:00:00Z".into(),
        }
    }

    #[test]
    fn adp_paydata_leads_with_company_batch_and_file_number() {
        let (ann, bo) = (stub("Ann Lee", 2_400, 90), stub("Bo", 480, 0));
        let file = adp_paydata("RTA", "RO0701", &[(&ann, "000123"), (&bo, "000124")]).unwrap();
        assert_eq!(
            String::from_utf8(file).unwrap(),
            "Co Code,Batch ID,File #,Reg Hours,O/T Hours\nRTA,RO0701,000123,40.00,1.50\nRTA,RO0701,000124,8.00,0.00\n"
        );
        assert_eq!(adp_batch_id(NaiveDate::from_ymd_opt(2030, 7, 1).unwrap()), "RO0701");
    }

    #[test]
    fn gusto_rows_split_the_name_at_its_last_word_and_defuse_formulas() {
        let (ann, mono, formula) = (stub("Ann Marie Lee", 600, 30), stub("Cher", 60, 0), stub("=cmd Kim", 60, 0));
        let file = gusto_hours(&[(&ann, Some("5G9934")), (&mono, None), (&formula, None)]).unwrap();
        let lines: Vec<String> = String::from_utf8(file).unwrap().lines().map(str::to_owned).collect();
        assert_eq!(lines[0], "first_name,last_name,gusto_employee_id,regular_hours,overtime_hours");
        assert_eq!(lines[1], "Ann Marie,Lee,5G9934,10.00,0.50");
        assert_eq!(lines[2], ",Cher,,1.00,0.00");
        assert_eq!(lines[3], "'=cmd,Kim,,1.00,0.00");
    }
}
