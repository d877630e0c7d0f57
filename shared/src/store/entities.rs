//! What every tenant-owned record (location, position, unit, person) shares: it lives in the
//! tenant's partition (`T#{t}` / `{PREFIX}{id}`), carries a `version`, and every change is one
//! transaction with its audit entry. An update writes only if the version it read is still the
//! stored one, so of two concurrent changes one wins and the other gets 409.

use std::collections::HashSet;

use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, Put, TransactWriteItem};
use serde::Serialize;
use serde::de::DeserializeOwned;
use utoipa::ToSchema;

use super::audit::AuditEntry;
use super::page::{Index, Page, PageRequest};
use super::{Item, Store, failed_conditions, from_item, key, keys, lost_race, n, s, to_item};
use crate::Error;

pub trait Entity: Serialize + DeserializeOwned + ToSchema + Clone {
    /// The sort-key prefix, e.g. `LOC#`.
    const PREFIX: &'static str;
    /// The audit log's entity type, e.g. `location`.
    const KIND: &'static str;
    /// Said in a 409 when someone else changed it first.
    const STALE: &'static str;

    fn id(&self) -> &str;
    fn tenant_id(&self) -> &str;
    fn version(&self) -> u64;
    /// Marks a change made at `now`: the next version, `updated_at`.
    fn touch(&mut self, now: &str);

    /// The partition a record lives in: its organisation's (`T#{tenant}`), unless the kind keeps
    /// each record in one of its own. Such a kind is listed through its indexes, never by
    /// [`Store::entities`] or [`Store::all`], which read the organisation's partition.
    fn partition(tenant_id: &str, _id: &str) -> String {
        keys::tenant(tenant_id)
    }

    /// The key of record `id` of this kind.
    fn key(tenant_id: &str, id: &str) -> Item {
        key(Self::partition(tenant_id, id), format!("{}{id}", Self::PREFIX))
    }

    /// Stored attributes besides the record's own fields (index keys, search text), if any.
    fn extra_attributes(&self) -> Vec<(&'static str, String)> {
        Vec::new()
    }

    /// Whether imports write records of this kind: lists then leave out the rows of imports that
    /// have not committed ([`super::imports`]).
    const IMPORTED: bool = false;
    /// The import that wrote this record, if one did.
    fn import_id(&self) -> Option<&str> {
        None
    }
}

/// A record that is archived rather than deleted, so what refers to it keeps its history.
pub trait Archivable: Entity {
    fn archived(&self) -> bool;
    /// Archives it at `now` (kept as it is when archived already).
    fn archive(&mut self, now: &str);
}

/// Implements [`Entity`] for a record with `id`, `tenant_id`, `version` and `updated_at` fields;
/// `extra` (a closure from the record) gives [`Entity::extra_attributes`]; `imported = true` says
/// imports write it (it has an `import_id: Option<String>` field); `partition` (a function of the
/// tenant and the id) gives [`Entity::partition`].
#[macro_export]
macro_rules! entity {
    ($type:ty, $prefix:literal, $kind:literal $(, imported = $imported:literal)? $(, partition = $partition:expr)? $(, extra = $extra:expr)?) => {
        impl $crate::store::entities::Entity for $type {
            const PREFIX: &'static str = $prefix;
            const KIND: &'static str = $kind;
            const STALE: &'static str = concat!("the ", $kind, " was changed by someone else; reload and retry");

            fn id(&self) -> &str {
                &self.id
            }
            fn tenant_id(&self) -> &str {
                &self.tenant_id
            }
            fn version(&self) -> u64 {
                self.version
            }
            fn touch(&mut self, now: &str) {
                self.version += 1;
                self.updated_at = now.to_owned();
            }
            $(
                fn partition(tenant_id: &str, id: &str) -> String {
                    ($partition)(tenant_id, id)
                }
            )?
            $(
                fn extra_attributes(&self) -> Vec<(&'static str, String)> {
                    ($extra)(self)
                }
            )?
            $(
                const IMPORTED: bool = $imported;
                fn import_id(&self) -> Option<&str> {
                    self.import_id.as_deref()
                }
            )?
        }
    };
}

/// Conditions a list applies within the tenant's own partition, all of which must hold.
#[derive(Default, Clone)]
pub struct Filter {
    conditions: Vec<String>,
    names: Vec<(String, &'static str)>,
    values: Vec<(String, AttributeValue)>,
}

impl Filter {
    /// One more condition, with the attribute name it aliases (`("", "")` for none) and its value.
    pub fn and(
        mut self,
        condition: &'static str,
        name: (&'static str, &'static str),
        value: (&'static str, AttributeValue),
    ) -> Self {
        self.conditions.push(condition.to_owned());
        if !name.0.is_empty() {
            self.names.push((name.0.to_owned(), name.1));
        }
        self.values.push((value.0.to_owned(), value.1));
        self
    }

    /// One more condition: the attribute at `path` (`location_id`, `scope.location_id`) is one of
    /// `among` (at least one).
    pub fn and_among(self, path: &'static str, among: &[String]) -> Self {
        self.among(path, among, false)
    }

    /// As [`Filter::and_among`], or the attribute is unset (absent or null).
    pub fn and_among_or_unset(self, path: &'static str, among: &[String]) -> Self {
        self.among(path, among, true)
    }

    fn among(mut self, path: &'static str, among: &[String], or_unset: bool) -> Self {
        let tag = path.replace('.', "_");
        let mut aliases = Vec::new();
        for part in path.split('.') {
            aliases.push(format!("#{part}"));
            self.names.push((format!("#{part}"), part));
        }
        let attribute = aliases.join(".");
        let placeholders: Vec<String> = (0..among.len()).map(|i| format!(":{tag}_{i}")).collect();
        let among_condition = format!("{attribute} IN ({})", placeholders.join(", "));
        if or_unset {
            let null = format!(":{tag}_null");
            self.conditions.push(format!(
                "(attribute_not_exists({attribute}) OR attribute_type({attribute}, {null}) OR {among_condition})"
            ));
            self.values.push((null, AttributeValue::S("NULL".into())));
        } else {
            self.conditions.push(among_condition);
        }
        self.values.extend(placeholders.into_iter().zip(among.iter().map(|value| AttributeValue::S(value.clone()))));
        self
    }
}

impl Filter {
    /// `query` with these conditions as its filter expression, and whether there were any.
    pub(crate) fn apply(self, mut query: QueryFluentBuilder) -> (QueryFluentBuilder, bool) {
        if self.conditions.is_empty() {
            return (query, false);
        }
        query = query.filter_expression(self.conditions.join(" AND "));
        for (placeholder, name) in self.names {
            query = query.expression_attribute_names(placeholder, name);
        }
        for (placeholder, value) in self.values {
            query = query.expression_attribute_values(placeholder, value);
        }
        (query, true)
    }
}

fn is_staged<T: Entity>(entity: &T, staged: &HashSet<String>) -> bool {
    entity.import_id().is_some_and(|id| staged.contains(id))
}

/// Why a transaction did not happen: the positions of its items whose condition failed.
pub struct Refused(pub Vec<usize>);

impl Store {
    /// The item a record is stored as: its fields, its keys and its index attributes.
    pub fn entity_item<T: Entity>(&self, entity: &T) -> Result<Item, Error> {
        let mut keys = vec![
            ("pk", T::partition(entity.tenant_id(), entity.id())),
            ("sk", format!("{}{}", T::PREFIX, entity.id())),
        ];
        keys.extend(entity.extra_attributes());
        to_item(entity, &keys)
    }

    /// A put of `entity` that only happens if it is new (`expected_version: None`) or still at
    /// `expected_version`.
    pub fn entity_put<T: Entity>(&self, entity: &T, expected_version: Option<u64>) -> Result<TransactWriteItem, Error> {
        let put = Put::builder().table_name(&self.table).set_item(Some(self.entity_item(entity)?));
        let put = match expected_version {
            None => put.condition_expression("attribute_not_exists(pk)"),
            Some(version) => put
                .condition_expression("attribute_exists(pk) AND version = :expected")
                .expression_attribute_values(":expected", n(version)),
        };
        Ok(TransactWriteItem::builder().put(put.build().map_err(Error::internal)?).build())
    }

    pub async fn entity<T: Entity>(&self, tenant_id: &str, id: &str) -> Result<Option<T>, Error> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(T::key(tenant_id, id)))
            .consistent_read(true)
            .send()
            .await?;
        output.item.map(from_item).transpose()
    }

    /// Whether every one of `ids` is a record of type `T` in this tenant (one BatchGetItem of
    /// at most 100 keys; an empty list holds). Unknown ids — another tenant's included — are 404.
    pub async fn all_exist<T: Entity>(&self, tenant_id: &str, ids: &[String]) -> Result<(), Error> {
        let mut ids: Vec<&String> = ids.iter().collect();
        ids.sort();
        ids.dedup();
        let wanted: Vec<Item> = ids.iter().map(|id| T::key(tenant_id, id)).collect();
        if wanted.is_empty() {
            return Ok(());
        }
        if wanted.len() > 100 {
            return Err(Error::field(T::KIND, "names more than 100 records"));
        }
        let mut found = 0;
        let mut request = KeysAndAttributes::builder().set_keys(Some(wanted.clone())).projection_expression("pk");
        // DynamoDB may leave keys unprocessed under load; ask again for those.
        loop {
            let output = self
                .client
                .batch_get_item()
                .request_items(&self.table, request.build().map_err(Error::internal)?)
                .send()
                .await?;
            found += output.responses.and_then(|mut r| r.remove(&self.table)).map_or(0, |items| items.len());
            match output.unprocessed_keys.and_then(|mut u| u.remove(&self.table)) {
                Some(rest) if !rest.keys().is_empty() => {
                    request =
                        KeysAndAttributes::builder().set_keys(Some(rest.keys().to_vec())).projection_expression("pk")
                }
                _ => break,
            }
        }
        if found == wanted.len() { Ok(()) } else { Err(Error::NotFound) }
    }

    /// A tenant's records of one kind in id (creation) order, optionally filtered by `filter`
    /// (a filter expression with its values, applied within the tenant's partition only).
    pub async fn entities<T: Entity>(
        &self,
        tenant_id: &str,
        limit: Option<u32>,
        cursor: Option<&str>,
        filter: Filter,
    ) -> Result<Page<T>, Error> {
        let request = PageRequest::new(limit, cursor, Index::Table, &keys::tenant(tenant_id))?;
        let (query, filtered) = filter.apply(self.organisation_query(tenant_id, T::PREFIX));
        let (mut page, staged) =
            tokio::try_join!(self.page::<T>(query, request, Index::Table, filtered), self.staged::<T>(tenant_id))?;
        page.items.retain(|entity| !is_staged(entity, &staged));
        Ok(page)
    }

    /// A Query of the organisation's partition for the items whose sort key starts with `prefix`.
    pub(crate) fn organisation_query(&self, tenant_id: &str, prefix: &str) -> QueryFluentBuilder {
        self.client
            .query()
            .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
            .expression_attribute_values(":pk", s(keys::tenant(tenant_id)))
            .expression_attribute_values(":prefix", s(prefix))
    }

    /// The imports whose rows of kind `T` are not to be seen yet (none to ask for when imports do
    /// not write `T`).
    async fn staged<T: Entity>(&self, tenant_id: &str) -> Result<HashSet<String>, Error> {
        if T::IMPORTED { self.staged_imports(tenant_id).await } else { Ok(HashSet::new()) }
    }

    /// Every record of a kind in the tenant, in id order: page after page (one round trip for
    /// any organisation whose records of the kind are under 1 MB).
    pub async fn all<T: Entity>(&self, tenant_id: &str) -> Result<Vec<T>, Error> {
        let query = self.organisation_query(tenant_id, T::PREFIX);
        let (items, staged) = tokio::try_join!(self.every(query), self.staged::<T>(tenant_id))?;
        let entities = items.into_iter().map(from_item::<T>).collect::<Result<Vec<_>, _>>()?;
        Ok(entities.into_iter().filter(|entity| !is_staged(entity, &staged)).collect())
    }

    /// The records of a kind among `ids` that exist in the tenant (unknown ids are left out), in
    /// no particular order: `BatchGetItem`s of at most 100 keys, all in parallel (one round trip).
    pub async fn entities_among<T: Entity>(&self, tenant_id: &str, ids: &[&str]) -> Result<Vec<T>, Error> {
        let mut ids = ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        let wanted: Vec<Item> = ids.iter().map(|id| T::key(tenant_id, id)).collect();
        let batches = futures_util::future::try_join_all(wanted.chunks(100).map(|batch| self.batch_get(batch))).await?;
        batches.into_iter().flatten().flatten().map(from_item).collect()
    }

    /// Creates `entity` with its audit entry, plus any `more` items, in one transaction.
    /// `Conflict` when the id exists (never for fresh ULIDs) or one of `more` is refused.
    pub async fn create<T: Entity>(
        &self,
        entity: &T,
        audit: &AuditEntry,
        more: Vec<TransactWriteItem>,
    ) -> Result<Result<(), Refused>, Error> {
        let mut items = vec![self.entity_put(entity, None)?, self.audit_put(audit)?];
        items.extend(more);
        self.transact(items).await
    }

    /// Replaces `entity` (read at `expected_version`) with its audit entry and any `more` items,
    /// in one transaction. A stale version is 409 (position 0 refused).
    pub async fn update<T: Entity>(
        &self,
        entity: &T,
        expected_version: u64,
        audit: &AuditEntry,
        more: Vec<TransactWriteItem>,
    ) -> Result<Result<(), Refused>, Error> {
        let mut items = vec![self.entity_put(entity, Some(expected_version))?, self.audit_put(audit)?];
        items.extend(more);
        match self.transact(items).await? {
            Err(Refused(failed)) if failed.contains(&0) => Err(Error::Conflict(T::STALE)),
            other => Ok(other),
        }
    }

    /// Deletes `entity` (read at its version) with its audit entry and any `more` items, in one
    /// transaction; `Refused` when it changed or went meanwhile.
    pub async fn delete_entity<T: Entity>(
        &self,
        entity: &T,
        audit: &AuditEntry,
        more: Vec<TransactWriteItem>,
    ) -> Result<Result<(), Refused>, Error> {
        let delete = aws_sdk_dynamodb::types::Delete::builder()
            .table_name(&self.table)
            .set_key(Some(T::key(entity.tenant_id(), entity.id())))
            .condition_expression("version = :expected")
            .expression_attribute_values(":expected", n(entity.version()))
            .build()
            .map_err(Error::internal)?;
        let mut items = vec![TransactWriteItem::builder().delete(delete).build(), self.audit_put(audit)?];
        items.extend(more);
        self.transact(items).await
    }

    /// Runs the items as one transaction; a cancellation for failed conditions is `Refused`.
    ///
    /// DynamoDB also cancels a transaction that touches an item another transaction is writing
    /// at that moment (`TransactionConflict`, only in AWS): no condition failed, it lost a race
    /// for the item, so it is tried again (up to three times, after a short random pause) before
    /// the conflict counts as a refusal. A burst of assignments to one shift needs this: each
    /// writes the shift's count, and each must be judged by its condition, not by the timing.
    pub async fn transact(&self, items: Vec<TransactWriteItem>) -> Result<Result<(), Refused>, Error> {
        const ATTEMPTS: u32 = 3;
        for attempt in 1..=ATTEMPTS {
            match self.client.transact_write_items().set_transact_items(Some(items.clone())).send().await {
                Ok(_) => return Ok(Ok(())),
                Err(error) if attempt < ATTEMPTS && lost_race(&error) => {
                    use rand_core::RngCore;
                    let pause = 10 * u64::from(attempt) + u64::from(rand_core::OsRng.next_u32() % 20);
                    tokio::time::sleep(std::time::Duration::from_millis(pause)).await;
                }
                Err(error) => {
                    return match failed_conditions(&error) {
                        Some(failed) if !failed.is_empty() => Ok(Err(Refused(failed))),
                        _ => Err(error.into()),
                    };
                }
            }
        }
        unreachable!("the last attempt returns")
    }
}
