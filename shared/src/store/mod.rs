//! The DynamoDB tables: key design in [`keys`], one module per aggregate, typed items in and
//! typed items out. Every tenant-owned key starts with `T#{tenant_id}`.
//!
//! Two tables. The main one (`ROTA_TABLE`) holds everything the functions share. The secrets
//! table (`ROTA_SECRETS_TABLE`) holds what only the auth function may read or write: password
//! hashes ([`people::Credential`], and pending sign-ups), refresh sessions, 2FA enrolments and
//! logins waiting for their second factor. Only the auth function's role names it, and only it
//! is given its name (template.yaml), so a function that parses untrusted input (people,
//! schedule, …) can neither read a credential nor write one. Its own table rather than an IAM
//! `dynamodb:LeadingKeys` condition on the main table: an enrolment shares its partition
//! (`T#{t}`) with the tenant's people and settings, which every function reads by Query, so no
//! leading-key pattern could tell them apart; and a table is a boundary a later item cannot
//! cross by being keyed carelessly. Transactions and batched reads span both tables, so no
//! operation takes another round trip for it.

pub mod attendance;
pub mod audit;
pub mod auto_fill;
pub mod billing;
pub mod broadcasts;
pub mod calendar;
pub mod capacity;
pub mod closing;
pub mod consumed;
pub mod credits;
pub mod crm;
pub mod dashboard;
pub mod entities;
pub mod feedback;
pub mod heat;
pub mod hours;
pub mod imports;
pub mod invoices;
pub mod keys;
pub mod links;
pub mod mfa;
pub mod notifications;
pub mod page;
pub mod payroll;
pub mod people;
pub mod permission_sets;
pub mod places;
pub mod placing;
pub mod platform;
pub mod rate_limits;
pub mod requests;
pub mod revenue;
pub mod round_trips;
pub mod schedule;
pub mod scim;
pub mod sessions;
pub mod sign_in_codes;
pub mod signups;
pub mod sso;
pub mod support;
pub mod tenants;
pub mod unlocks;
pub mod usage;
pub mod webhooks;

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
/// One write of a transaction, as the store's builders make them for handlers to combine.
pub use aws_sdk_dynamodb::types::TransactWriteItem;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, KeysAndAttributes};
use serde::Serialize;
use serde::de::DeserializeOwned;

pub use round_trips::{RequestTrips, RoundTrips, Spent};

use crate::Error;

pub type Item = HashMap<String, AttributeValue>;

#[derive(Clone)]
pub struct Store {
    pub(crate) client: Client,
    pub(crate) table: String,
    /// The secrets table, where this function may reach it (the auth function, the dev server,
    /// tests); `None` elsewhere.
    secrets: Option<String>,
    round_trips: RoundTrips,
}

/// The table an item lives in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum In {
    Main,
    Secrets,
}

impl Store {
    pub fn new(client: Client, table: String, round_trips: RoundTrips) -> Self {
        Self { client, table, secrets: None, round_trips }
    }

    /// This store with the secrets table named `secrets` (none when `None`).
    pub fn with_secrets(mut self, secrets: Option<String>) -> Self {
        self.secrets = secrets;
        self
    }

    /// The secrets table's name; an error in a function that is not given it.
    pub(crate) fn secrets(&self) -> Result<&str, Error> {
        self.secrets.as_deref().ok_or_else(|| {
            Error::internal("ROTA_SECRETS_TABLE is not set: only the auth function reaches the secrets table")
        })
    }

    pub(crate) fn name_of(&self, table: In) -> Result<&str, Error> {
        match table {
            In::Main => Ok(&self.table),
            In::Secrets => self.secrets(),
        }
    }

    /// A store on its own DynamoDB client, built from the shared SDK settings with the
    /// round-trip interceptor. Against a local endpoint (moto) the interceptor models each call's
    /// units; in AWS it asks DynamoDB for them.
    pub fn from_sdk(sdk: &aws_config::SdkConfig, table: String, round_trips: RoundTrips) -> Self {
        let round_trips = round_trips.modelled(sdk.endpoint_url().is_some());
        let config = aws_sdk_dynamodb::config::Builder::from(sdk).interceptor(round_trips.clone()).build();
        Self::new(Client::from_conf(config), table, round_trips)
    }

    /// The DynamoDB client and table, for tests that set up state no endpoint can (a suspended
    /// tenant, a deactivated person).
    pub fn raw(&self) -> (&Client, &str) {
        (&self.client, &self.table)
    }

    /// The DynamoDB client and the secrets table, for tests (an aged session, a 2FA step moved
    /// back). Panics without one.
    pub fn raw_secrets(&self) -> (&Client, &str) {
        (&self.client, self.secrets.as_deref().expect("a store with the secrets table"))
    }

    /// The round-trip interceptor of this store's client, where each request's count is reported.
    pub fn round_trips(&self) -> &RoundTrips {
        &self.round_trips
    }

    /// Every item `query` finds, from DynamoDB's own pages of up to 1 MB one after another (one
    /// round trip while what it finds is under 1 MB).
    pub(crate) async fn every(&self, query: QueryFluentBuilder) -> Result<Vec<Item>, Error> {
        let query = query.table_name(&self.table);
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let output = query.clone().set_exclusive_start_key(start).send().await?;
            items.extend(output.items.unwrap_or_default());
            match output.last_evaluated_key {
                Some(key) => start = Some(key),
                None => return Ok(items),
            }
        }
    }

    /// Reads a key that holds nothing: whether the table answers (`GET /health`).
    pub async fn ping(&self) -> Result<(), Error> {
        let health = key("HEALTH".to_owned(), "HEALTH".to_owned());
        self.client.get_item().table_name(&self.table).set_key(Some(health)).projection_expression("pk").send().await?;
        Ok(())
    }

    /// The main table's item under `key` deleted, whether or not it exists, for a transaction.
    pub(crate) fn removal(&self, key: Item) -> Result<TransactWriteItem, Error> {
        let delete = Delete::builder().table_name(&self.table).set_key(Some(key)).build().map_err(Error::internal)?;
        Ok(TransactWriteItem::builder().delete(delete).build())
    }

    /// The items under `keys` of the main table, strongly consistent, in one `BatchGetItem`:
    /// each key's item or `None`, in the order of `keys`.
    pub(crate) async fn batch_get(&self, keys: &[Item]) -> Result<Vec<Option<Item>>, Error> {
        self.batch_get_read(keys, true).await
    }

    /// As [`Store::batch_get`], eventually consistent when not `consistent`: half the read
    /// units, for what only informs (a ranking) and is read again strongly before anything is
    /// written.
    pub(crate) async fn batch_get_read(&self, keys: &[Item], consistent: bool) -> Result<Vec<Option<Item>>, Error> {
        let wanted: Vec<(In, Item)> = keys.iter().map(|key| (In::Main, key.clone())).collect();
        self.batch_get_in(&wanted, consistent).await
    }

    /// The main table's items that exist among `keys` (any number), in no particular order:
    /// `BatchGetItem`s of 100 keys, eight at once.
    pub(crate) async fn batch_get_all(&self, keys: &[Item]) -> Result<Vec<Item>, Error> {
        use futures_util::{StreamExt, TryStreamExt};

        // The futures made first, then streamed: a closure in the stream would make a caller's
        // future not provably `Send` (rust-lang/rust#102211).
        let requests: Vec<_> = keys.chunks(100).map(|batch| self.batch_get(batch)).collect();
        let batches: Vec<Vec<Option<Item>>> =
            futures_util::stream::iter(requests).buffer_unordered(8).try_collect().await?;
        Ok(batches.into_iter().flatten().flatten().collect())
    }

    /// The items under `wanted`, each in its table, strongly consistent, in one `BatchGetItem`
    /// (asking again for any DynamoDB leaves unprocessed under load): each key's item or `None`,
    /// in the order of `wanted`.
    pub(crate) async fn batch_get_from(&self, wanted: &[(In, Item)]) -> Result<Vec<Option<Item>>, Error> {
        self.batch_get_in(wanted, true).await
    }

    async fn batch_get_in(&self, wanted: &[(In, Item)], consistent: bool) -> Result<Vec<Option<Item>>, Error> {
        let mut keys: HashMap<String, Vec<Item>> = HashMap::new();
        for (table, key) in wanted {
            keys.entry(self.name_of(*table)?.to_owned()).or_default().push(key.clone());
        }
        let mut found: HashMap<String, Vec<Item>> = HashMap::new();
        while !keys.is_empty() {
            let mut requests = HashMap::new();
            for (table, keys) in keys.drain() {
                let request = KeysAndAttributes::builder().consistent_read(consistent).set_keys(Some(keys));
                requests.insert(table, request.build().map_err(Error::internal)?);
            }
            let output = self.client.batch_get_item().set_request_items(Some(requests)).send().await?;
            for (table, items) in output.responses.unwrap_or_default() {
                found.entry(table).or_default().extend(items);
            }
            for (table, rest) in output.unprocessed_keys.unwrap_or_default() {
                if !rest.keys().is_empty() {
                    keys.insert(table, rest.keys().to_vec());
                }
            }
        }
        wanted
            .iter()
            .map(|(table, wanted)| {
                let items = found.get(self.name_of(*table)?).map(Vec::as_slice).unwrap_or_default();
                Ok(items
                    .iter()
                    .find(|item| item.get("pk") == wanted.get("pk") && item.get("sk") == wanted.get("sk"))
                    .cloned())
            })
            .collect()
    }
}

pub fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

/// Any serialisable value (an enum, say) as it is stored, for a condition or filter.
pub fn value<T: Serialize>(value: &T) -> Result<AttributeValue, Error> {
    Ok(serde_dynamo::to_attribute_value(value)?)
}

pub(crate) fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// A put of `item` into `table` for a transaction, refused when the item exists already.
pub(crate) fn put_new(table: &str, item: Item) -> Result<TransactWriteItem, Error> {
    let put = aws_sdk_dynamodb::types::Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(pk)")
        .build()
        .map_err(Error::internal)?;
    Ok(TransactWriteItem::builder().put(put).build())
}

/// A typed value plus its keys, as one item. An absent field (`None`) is left out rather than
/// stored as NULL: it reads back as `None`, and every byte counts in the units a write costs (a
/// record of 1,030 bytes is two units, of 1,020 one).
pub(crate) fn to_item<T: Serialize>(value: &T, keys: &[(&str, String)]) -> Result<Item, Error> {
    let mut item: Item = serde_dynamo::to_item(value)?;
    item.retain(|_, value| !matches!(value, AttributeValue::Null(true)));
    for (name, key) in keys {
        item.insert((*name).to_owned(), s(key.clone()));
    }
    Ok(item)
}

pub(crate) fn from_item<T: DeserializeOwned>(item: Item) -> Result<T, Error> {
    Ok(serde_dynamo::from_item(item)?)
}

pub(crate) fn key(pk: String, sk: impl Into<String>) -> Item {
    HashMap::from([("pk".to_owned(), s(pk)), ("sk".to_owned(), s(sk))])
}

/// A conditional write's outcome: `Ok(false)` when its condition did not hold.
pub(crate) fn written<T, E, R>(result: Result<T, aws_sdk_dynamodb::error::SdkError<E, R>>) -> Result<bool, Error>
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match result {
        Ok(_) => Ok(true),
        Err(error) if condition_failed(&error) => Ok(false),
        Err(error) => Err(error.into()),
    }
}

/// The positions of the items whose condition failed, when a transaction was cancelled for that.
/// A transaction that lost to a concurrent one on the same item (`TransactionConflict`, real
/// DynamoDB only) is reported at that item's position too: the other request won.
pub(crate) fn failed_conditions<R>(
    error: &aws_sdk_dynamodb::error::SdkError<TransactWriteItemsError, R>,
) -> Option<Vec<usize>> {
    match error.as_service_error()? {
        TransactWriteItemsError::TransactionCanceledException(cancelled) => Some(
            cancelled
                .cancellation_reasons()
                .iter()
                .enumerate()
                .filter(|(_, reason)| matches!(reason.code(), Some("ConditionalCheckFailed" | "TransactionConflict")))
                .map(|(position, _)| position)
                .collect(),
        ),
        _ => None,
    }
}

/// Whether a transaction was cancelled only because it raced another for an item
/// (`TransactionConflict`), with no condition failing: trying again may succeed.
pub(crate) fn lost_race<R>(error: &aws_sdk_dynamodb::error::SdkError<TransactWriteItemsError, R>) -> bool {
    match error.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) => {
            let codes: Vec<&str> = cancelled.cancellation_reasons().iter().filter_map(|reason| reason.code()).collect();
            codes.contains(&"TransactionConflict")
                && codes.iter().all(|code| matches!(*code, "TransactionConflict" | "None"))
        }
        _ => false,
    }
}

/// Whether a write failed because its condition expression did not hold.
pub(crate) fn condition_failed<E, R>(error: &aws_sdk_dynamodb::error::SdkError<E, R>) -> bool
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    error.as_service_error().and_then(|e| e.code()) == Some("ConditionalCheckFailedException")
}
