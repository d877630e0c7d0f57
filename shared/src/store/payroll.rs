//! Pay periods and pay stubs. Closing a period writes one stub per person who worked in it
//! (`STUB#{start}_{person}`: closing again rewrites the same stubs, never adds more), then, last,
//! one transaction that marks the period closed and locks its weeks (`PAYWEEK#{first day}`). A
//! correction of attendance in a locked week is refused in its own transaction, and two periods
//! can never cover the same week. Reopening (owners) unlocks the weeks.

use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::{ConditionCheck, Put, TransactWriteItem, WriteRequest};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::attendance::Attendance;
use super::page::{Index, Page, PageRequest};
use super::{Item, Store, from_item, key, keys, s};
use crate::Error;
use crate::domain::payroll::{Hours, first_day_of_week, pay, split};
use crate::domain::settings::{Settings, Weekday};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PeriodStatus {
    Closed,
    /// An owner opened it again: corrections are possible; closing it again recomputes its stubs.
    Reopened,
}

/// A pay period that was closed: its days, its totals, who closed (and reopened) it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PayPeriodRecord {
    /// Its first day, `YYYY-MM-DD`.
    pub id: String,
    pub tenant_id: String,
    pub start: String,
    /// Its last day, included.
    pub end: String,
    pub status: PeriodStatus,
    pub currency: String,
    /// The stubs of the latest close, and their sums.
    pub stub_count: usize,
    pub worked_minutes: i64,
    pub gross_minor: i64,
    pub net_minor: i64,
    pub closed_by: String,
    pub closed_at: String,
    pub reopened_by: Option<String>,
    pub reopened_at: Option<String>,
    pub version: u64,
    pub created_at: String,
    pub updated_at: String,
}

crate::entity!(PayPeriodRecord, "PERIOD#", "pay_period");

/// One deduction taken from a stub.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StubDeduction {
    pub name: String,
    pub amount_minor: i64,
}

/// A person's pay for one period, in minor units of the organisation's currency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PayStub {
    /// `{period start}_{person_id}`.
    pub id: String,
    pub tenant_id: String,
    pub person_id: String,
    pub person_name: String,
    pub period_start: String,
    pub period_end: String,
    pub currency: String,
    /// The rate the hours were paid at: the person's own, else their main position's default.
    pub hourly_rate_minor: i64,
    /// Shifts with a check-in in the period.
    pub shifts: usize,
    pub worked_minutes: i64,
    pub regular_minutes: i64,
    pub overtime_minutes: i64,
    pub regular_minor: i64,
    pub overtime_minor: i64,
    pub gross_minor: i64,
    pub deductions: Vec<StubDeduction>,
    pub net_minor: i64,
    /// The closing that wrote it (a period closed again after reopening writes it anew).
    pub closed_at: String,
    pub version: u64,
    pub created_at: String,
    pub updated_at: String,
}

crate::entity!(
    PayStub,
    "STUB#",
    "pay_stub",
    extra = |stub: &PayStub| {
        vec![
            ("gsi1pk", keys::person_stubs(&stub.tenant_id, &stub.person_id)),
            ("gsi1sk", stub.period_start.clone()),
            ("gsi2pk", keys::stubs(&stub.tenant_id)),
            ("gsi2sk", format!("{}#{}", stub.period_start, stub.person_id)),
        ]
    }
);

/// What a person's stub is made of: who, at what rate, and the records of the period.
pub struct Payee<'a> {
    pub person_id: &'a str,
    pub person_name: &'a str,
    pub hourly_rate_minor: i64,
    pub records: Vec<&'a Attendance>,
}

/// The organisation's terms a period is paid on.
pub struct Terms<'a> {
    pub tenant_id: &'a str,
    pub zone: chrono_tz::Tz,
    pub week_start: Weekday,
    pub currency: &'a str,
    pub settings: &'a Settings,
}

impl PayStub {
    /// The stub of `payee` for the days `period` (both included): their records' worked minutes
    /// by the check-in's day, split into regular and overtime, priced. Pure: `now` is the close.
    pub fn of(payee: &Payee, period: (NaiveDate, NaiveDate), terms: &Terms, now: &str) -> Self {
        let mut days: BTreeMap<NaiveDate, i64> = BTreeMap::new();
        let mut shifts = 0;
        for (date, minutes) in payee.records.iter().filter_map(|record| record.worked_on(terms.zone)) {
            if (period.0..=period.1).contains(&date) {
                *days.entry(date).or_default() += minutes;
                shifts += 1;
            }
        }
        let hours: Hours = split(&days, terms.week_start, terms.settings);
        let money = pay(hours, payee.hourly_rate_minor, terms.settings);
        let start = period.0.to_string();
        Self {
            id: format!("{start}_{}", payee.person_id),
            tenant_id: terms.tenant_id.to_owned(),
            person_id: payee.person_id.to_owned(),
            person_name: payee.person_name.to_owned(),
            period_start: start,
            period_end: period.1.to_string(),
            currency: terms.currency.to_owned(),
            hourly_rate_minor: payee.hourly_rate_minor,
            shifts,
            worked_minutes: days.values().sum(),
            regular_minutes: hours.regular_minutes,
            overtime_minutes: hours.overtime_minutes,
            regular_minor: money.regular_minor,
            overtime_minor: money.overtime_minor,
            gross_minor: money.gross_minor,
            deductions: money
                .deductions
                .into_iter()
                .map(|d| StubDeduction { name: d.name, amount_minor: d.amount_minor })
                .collect(),
            net_minor: money.net_minor,
            closed_at: now.to_owned(),
            version: 1,
            created_at: now.to_owned(),
            updated_at: now.to_owned(),
        }
    }
}

/// The first days of the weeks of a period.
pub fn weeks_of(period: (NaiveDate, NaiveDate), week_start: Weekday) -> Vec<NaiveDate> {
    let mut weeks = Vec::new();
    let mut week = first_day_of_week(period.0, week_start);
    while week <= period.1 {
        weeks.push(week);
        week = week + chrono::Days::new(7);
    }
    weeks
}

impl Store {
    /// A period's record and its stubs, strongly consistent where it matters (the record).
    pub async fn period_with_stubs(
        &self,
        tenant_id: &str,
        start: &str,
    ) -> Result<(Option<PayPeriodRecord>, Vec<PayStub>), Error> {
        tokio::try_join!(self.entity::<PayPeriodRecord>(tenant_id, start), self.period_stubs(tenant_id, start))
    }

    /// Every stub of a period, by person (pages of 1 MB: one round trip for hundreds of people).
    pub async fn period_stubs(&self, tenant_id: &str, start: &str) -> Result<Vec<PayStub>, Error> {
        let mut stubs = Vec::new();
        let mut from = None;
        loop {
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .index_name("gsi2")
                .key_condition_expression("gsi2pk = :pk AND begins_with(gsi2sk, :period)")
                .expression_attribute_values(":pk", s(keys::stubs(tenant_id)))
                .expression_attribute_values(":period", s(format!("{start}#")))
                .set_exclusive_start_key(from)
                .send()
                .await?;
            for item in output.items.unwrap_or_default() {
                stubs.push(from_item(item)?);
            }
            match output.last_evaluated_key {
                Some(key) => from = Some(key),
                None => return Ok(stubs),
            }
        }
    }

    /// Writes stubs (and deletes `gone`: stubs of an earlier close whose person has no hours
    /// now), 25 to a `BatchWriteItem`, all batches in parallel, asking again for what DynamoDB
    /// leaves unprocessed. Each is a whole item under a fixed key, so writing twice is harmless.
    pub async fn write_stubs(&self, stubs: &[PayStub], gone: &[PayStub]) -> Result<(), Error> {
        let mut requests = Vec::with_capacity(stubs.len() + gone.len());
        for stub in stubs {
            let put = aws_sdk_dynamodb::types::PutRequest::builder()
                .set_item(Some(self.entity_item(stub)?))
                .build()
                .map_err(Error::internal)?;
            requests.push(WriteRequest::builder().put_request(put).build());
        }
        for stub in gone {
            let delete = aws_sdk_dynamodb::types::DeleteRequest::builder()
                .set_key(Some(key(keys::tenant(&stub.tenant_id), format!("STUB#{}", stub.id))))
                .build()
                .map_err(Error::internal)?;
            requests.push(WriteRequest::builder().delete_request(delete).build());
        }
        let batches = requests.chunks(25).map(|batch| async move {
            let mut batch = batch.to_vec();
            for _ in 0..8 {
                let output = self.client.batch_write_item().request_items(&self.table, batch).send().await?;
                match output.unprocessed_items.and_then(|mut left| left.remove(&self.table)) {
                    Some(left) if !left.is_empty() => batch = left,
                    _ => return Ok(()),
                }
            }
            Err(Error::internal("DynamoDB kept stub writes unprocessed"))
        });
        futures_util::future::try_join_all(batches).await?;
        Ok(())
    }

    /// The weeks of a period locked for it: refused if another period holds one of them.
    pub fn weeks_locked(
        &self,
        tenant_id: &str,
        weeks: &[NaiveDate],
        period: &str,
    ) -> Result<Vec<TransactWriteItem>, Error> {
        weeks
            .iter()
            .map(|week| {
                let item: Item = [
                    ("pk".to_owned(), s(keys::tenant(tenant_id))),
                    ("sk".to_owned(), s(keys::pay_week_sk(&week.to_string()))),
                    ("period".to_owned(), s(period)),
                ]
                .into();
                let put = Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(item))
                    .condition_expression("attribute_not_exists(pk) OR #period = :period")
                    .expression_attribute_names("#period", "period")
                    .expression_attribute_values(":period", s(period))
                    .build()
                    .map_err(Error::internal)?;
                Ok(TransactWriteItem::builder().put(put).build())
            })
            .collect()
    }

    /// The weeks of a period unlocked (reopening).
    pub fn weeks_unlocked(&self, tenant_id: &str, weeks: &[NaiveDate]) -> Result<Vec<TransactWriteItem>, Error> {
        weeks
            .iter()
            .map(|week| self.removal(key(keys::tenant(tenant_id), keys::pay_week_sk(&week.to_string()))))
            .collect()
    }

    /// A condition that the week starting `week` is not in a closed period: one more item of a
    /// transaction that changes attendance counted in that week.
    pub fn week_open(&self, tenant_id: &str, week: NaiveDate) -> Result<TransactWriteItem, Error> {
        let check = ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::tenant(tenant_id), keys::pay_week_sk(&week.to_string()))))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(Error::internal)?;
        Ok(TransactWriteItem::builder().condition_check(check).build())
    }

    /// Stubs, newest period first: one person's (gsi1) or the organisation's (gsi2), of one
    /// period if given.
    pub async fn stubs(
        &self,
        tenant_id: &str,
        person_id: Option<&str>,
        period: Option<&str>,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> Result<Page<PayStub>, Error> {
        let (index, partition) = match person_id {
            Some(person) => (Index::Gsi1, keys::person_stubs(tenant_id, person)),
            None => (Index::Gsi2, keys::stubs(tenant_id)),
        };
        let request = PageRequest::new(limit, cursor, index, &partition)?;
        let (pk, sk) = if index == Index::Gsi1 { ("gsi1pk", "gsi1sk") } else { ("gsi2pk", "gsi2sk") };
        let mut query = self.client.query().expression_attribute_values(":pk", s(partition)).scan_index_forward(false);
        query = match (period, index) {
            (Some(period), Index::Gsi1) => query
                .key_condition_expression(format!("{pk} = :pk AND {sk} = :period"))
                .expression_attribute_values(":period", s(period)),
            (Some(period), _) => query
                .key_condition_expression(format!("{pk} = :pk AND begins_with({sk}, :period)"))
                .expression_attribute_values(":period", s(format!("{period}#"))),
            (None, _) => query.key_condition_expression(format!("{pk} = :pk")),
        };
        self.page(query, request, index, false).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn worked(check_in: &str, minutes: i64) -> Attendance {
        let mut record = crate::store::attendance::sample(check_in, check_in, 0);
        record.check_in_at = Some(check_in.into());
        record.worked_minutes = minutes;
        record
    }

    #[test]
    fn a_stub_counts_the_periods_days_on_the_organisations_calendar_and_prices_them() {
        // Monday 2030-07-01 to Sunday 07-07, London. The Sunday-night check-in (00:30 BST on
        // Monday 07-08) is the next period's; the one at 23:30 UTC on 06-30 is 00:30 BST on 07-01.
        let records = [
            worked("2030-06-30T23:30:00Z", 600),
            worked("2030-07-02T08:00:00Z", 480),
            worked("2030-07-07T23:30:00Z", 480),
        ];
        let settings = Settings {
            deductions: vec![crate::domain::settings::Deduction { name: "Tax".into(), basis_points: 2000 }],
            ..Settings::default()
        };
        let terms = Terms {
            tenant_id: "T",
            zone: chrono_tz::Europe::London,
            week_start: Weekday::Monday,
            currency: "GBP",
            settings: &settings,
        };
        let payee =
            Payee { person_id: "P", person_name: "Sam", hourly_rate_minor: 1200, records: records.iter().collect() };
        let period = (NaiveDate::from_ymd_opt(2030, 7, 1).unwrap(), NaiveDate::from_ymd_opt(2030, 7, 7).unwrap());
        let stub = PayStub::of(&payee, period, &terms, "2030-07-08T09:00:00.000Z");
        assert_eq!((stub.id.as_str(), stub.shifts, stub.worked_minutes), ("2030-07-01_P", 2, 1080));
        assert_eq!((stub.regular_minutes, stub.overtime_minutes), (960, 120));
        // 16 h × 12.00 + 2 h × 18.00 = 192.00 + 36.00; tax 20 % of 228.00.
        assert_eq!((stub.regular_minor, stub.overtime_minor, stub.gross_minor), (19200, 3600, 22800));
        assert_eq!(stub.deductions, [StubDeduction { name: "Tax".into(), amount_minor: 4560 }]);
        assert_eq!(stub.net_minor, 18240);
    }

    #[test]
    fn a_periods_weeks_start_on_the_organisations_week_start() {
        let date = |d| NaiveDate::from_ymd_opt(2030, 7, d).unwrap();
        assert_eq!(weeks_of((date(1), date(14)), Weekday::Monday), [date(1), date(8)]);
        assert_eq!(weeks_of((date(7), date(13)), Weekday::Sunday), [date(7)]);
    }
}
