//! Cursor pagination: `?limit=` (1–100) and an opaque `next_cursor`, which is the last key a page
//! returned. A cursor is only ever used as the start of the query it came from: one naming
//! another partition (another tenant's, a tampered one) is refused as a bad `cursor`.

use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::types::AttributeValue;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;
use utoipa::ToSchema;

use super::entities::Filter;
use super::{Item, Store, from_item, s};
use crate::Error;

pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 100;

/// One page of a list, newest or first items first as the operation says.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T: ToSchema> {
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; absent on the last one.
    pub next_cursor: Option<String>,
}

/// A validated page request, ready for a query on one partition.
pub struct PageRequest {
    pub limit: u32,
    start: Option<Item>,
}

impl PageRequest {
    /// `limit` defaults to 50; `cursor` must be one this query's partition `partition` gave out.
    pub fn new(limit: Option<u32>, cursor: Option<&str>, index: Index, partition: &str) -> Result<Self, Error> {
        let limit = limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(Error::field("limit", "must be between 1 and 100"));
        }
        let start = cursor.map(|cursor| decode(cursor, index, partition)).transpose()?;
        Ok(Self { limit, start })
    }
}

/// Which key a query runs on; a cursor holds that index's key and the table's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Index {
    Table,
    Gsi1,
    Gsi2,
    Gsi3,
}

impl Index {
    pub fn partition_attribute(self) -> &'static str {
        match self {
            Index::Table => "pk",
            Index::Gsi1 => "gsi1pk",
            Index::Gsi2 => "gsi2pk",
            Index::Gsi3 => "gsi3pk",
        }
    }

    pub(crate) fn attributes(self) -> &'static [&'static str] {
        match self {
            Index::Table => &["pk", "sk"],
            Index::Gsi1 => &["pk", "sk", "gsi1pk", "gsi1sk"],
            Index::Gsi2 => &["pk", "sk", "gsi2pk", "gsi2sk"],
            Index::Gsi3 => &["pk", "sk", "gsi3pk", "gsi3sk"],
        }
    }

    pub fn name(self) -> Option<&'static str> {
        match self {
            Index::Table => None,
            Index::Gsi1 => Some("gsi1"),
            Index::Gsi2 => Some("gsi2"),
            Index::Gsi3 => Some("gsi3"),
        }
    }
}

fn bad_cursor() -> Error {
    Error::field("cursor", "is not a cursor this list gave out")
}

fn decode(cursor: &str, index: Index, partition: &str) -> Result<Item, Error> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| bad_cursor())?;
    let key: BTreeMap<String, String> = serde_json::from_slice(&bytes).map_err(|_| bad_cursor())?;
    let wanted = index.attributes();
    if key.len() != wanted.len()
        || !wanted.iter().all(|name| key.contains_key(*name))
        || key.get(index.partition_attribute()).map(String::as_str) != Some(partition)
    {
        return Err(bad_cursor());
    }
    Ok(key.into_iter().map(|(name, value)| (name, s(value))).collect())
}

fn encode(item: &Item, index: Index) -> Option<String> {
    let mut key = BTreeMap::new();
    for name in index.attributes() {
        let AttributeValue::S(value) = item.get(*name)? else { return None };
        key.insert(*name, value.as_str());
    }
    Some(URL_SAFE_NO_PAD.encode(serde_json::to_vec(&key).ok()?))
}

/// Where a merged list ([`Store::merged`]) left off: the last sort key it gave out, under the
/// list it belongs to.
#[derive(serde::Deserialize, Serialize)]
struct MergedCursor {
    list: String,
    after: String,
}

/// What one partition of a merged list answered: its items with their sort keys, and the key
/// DynamoDB stopped at if it stopped early.
type Answer<T> = (Vec<(String, T)>, Option<String>);

/// One page of a merged list from what each partition answered. The items after `after` (the cursor's key), in
/// sort key order, up to `limit`, and never beyond the lowest key a partition stopped at (what lies
/// beyond it in that partition was not read); and the key to go on after, if there is more.
fn merged_page<T>(answers: Vec<Answer<T>>, after: Option<&str>, limit: usize) -> (Vec<T>, Option<String>) {
    let read_to = answers.iter().filter_map(|(_, stopped_at)| stopped_at.clone()).min();
    let mut items: Vec<(String, T)> = answers
        .into_iter()
        .flat_map(|(items, _)| items)
        .filter(|(key, _)| after.is_none_or(|after| key.as_str() > after))
        .filter(|(key, _)| read_to.as_ref().is_none_or(|read_to| key <= read_to))
        .collect();
    items.sort_by(|a, b| a.0.cmp(&b.0));
    let next = if items.len() > limit {
        items.truncate(limit);
        items.last().map(|(key, _)| key.clone())
    } else {
        read_to
    };
    (items.into_iter().map(|(_, item)| item).collect(), next)
}

impl Store {
    /// One page merged from several `partitions` of `index` whose sort keys are alike (shifts by
    /// `{start}#{id}` under each of some locations, people by id under each of some units), in
    /// sort key order: all partitions are read in parallel (one round trip), each within `range`
    /// of `{start}#{id}` keys (`(None, None)` for any key) and with `filter` applied. The cursor
    /// is the last sort key given out, under `list` (the partition of the whole list, so a cursor
    /// of another list or tenant is refused). A partition DynamoDB stopped reading early (its
    /// limit, or 1 MB of filtered items) holds the page to what it read, so nothing is skipped.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn merged<T: DeserializeOwned + ToSchema>(
        &self,
        index: Index,
        partitions: Vec<String>,
        list: &str,
        range: (Option<&str>, Option<&str>),
        filter: Filter,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> Result<Page<T>, Error> {
        let limit = PageRequest::new(limit, None, index, list)?.limit as usize;
        let after = match cursor {
            None => None,
            Some(cursor) => {
                let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| bad_cursor())?;
                let cursor: MergedCursor = serde_json::from_slice(&bytes).map_err(|_| bad_cursor())?;
                (cursor.list == list).then_some(cursor.after).ok_or_else(bad_cursor).map(Some)?
            }
        };
        let [.., sort] = index.attributes() else { unreachable!("every index has a key") };
        // The cursor's own key is read again (the bound is inclusive) and dropped below.
        let from = match (range.0, after.as_deref()) {
            (Some(from), Some(after)) => Some(from.max(after)),
            (from, after) => from.or(after),
        };
        let (_, bounds) = super::schedule::start_range(sort, (from, range.1));
        if bounds.len() == 2 && bounds[0].1 > bounds[1].1 {
            return Ok(Page { items: Vec::new(), next_cursor: None });
        }
        let queries = partitions.into_iter().map(|partition| {
            let (query, filtered) = filter.clone().apply(self.by_start_query(index, partition, (from, range.1)));
            // Enough for a full page after the cursor's own key, and one more to tell there is more.
            let query = if filtered { query } else { query.limit(limit as i32 + 2) };
            query.send()
        });
        let outputs = futures_util::future::try_join_all(queries).await?;
        let sort_key = |item: &Item| match item.get(*sort) {
            Some(AttributeValue::S(key)) => key.clone(),
            _ => String::new(),
        };
        let answers = outputs.into_iter().map(|output| {
            let stopped_at = output.last_evaluated_key.as_ref().map(sort_key);
            let items = output.items.unwrap_or_default().into_iter().map(|item| (sort_key(&item), item)).collect();
            (items, stopped_at)
        });
        let (items, next) = merged_page(answers.collect(), after.as_deref(), limit);
        let next_cursor = next.map(|after| {
            let cursor = MergedCursor { list: list.to_owned(), after };
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&cursor).unwrap_or_default())
        });
        let items = items.into_iter().map(from_item).collect::<Result<_, _>>()?;
        Ok(Page { items, next_cursor })
    }

    /// A page of one partition (`partition` of `index`), newest (highest sort key) first, of its
    /// items whose sort key begins with `prefix` (every item: `""`).
    pub(crate) async fn newest_first<T: DeserializeOwned + ToSchema>(
        &self,
        index: Index,
        partition: String,
        prefix: &str,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> Result<Page<T>, Error> {
        let request = PageRequest::new(limit, cursor, index, &partition)?;
        let [.., pk, sort] = index.attributes() else { unreachable!("every index has a key") };
        let query = self
            .client
            .query()
            .expression_attribute_names("#pk", *pk)
            .expression_attribute_values(":pk", s(partition))
            .scan_index_forward(false);
        let query = if prefix.is_empty() {
            query.key_condition_expression("#pk = :pk")
        } else {
            query
                .key_condition_expression("#pk = :pk AND begins_with(#sort, :prefix)")
                .expression_attribute_names("#sort", *sort)
                .expression_attribute_values(":prefix", s(prefix))
        };
        self.page(query, request, index, false).await
    }

    /// A page of one partition (`partition` of `index`) in sort-key order (`oldest_first`, or the
    /// other way), with `filter` applied within it.
    pub(crate) async fn partition_page<T: DeserializeOwned + ToSchema>(
        &self,
        index: Index,
        partition: String,
        filter: crate::store::entities::Filter,
        oldest_first: bool,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> Result<Page<T>, Error> {
        let request = PageRequest::new(limit, cursor, index, &partition)?;
        let query = self
            .client
            .query()
            .key_condition_expression(format!("{} = :pk", index.partition_attribute()))
            .expression_attribute_values(":pk", s(partition))
            .scan_index_forward(oldest_first);
        let (query, filtered) = filter.apply(query);
        self.page(query, request, index, filtered).await
    }

    /// Runs `query` (key condition, filter and direction already set) for one page: at most
    /// `limit` items from where the cursor left off. With a filter, DynamoDB reads up to 1 MB and
    /// filters; the page ends at the last item kept (or where DynamoDB stopped), so a page can be
    /// shorter than `limit` and still have a next one.
    pub async fn page<T: DeserializeOwned + ToSchema>(
        &self,
        query: QueryFluentBuilder,
        request: PageRequest,
        index: Index,
        filtered: bool,
    ) -> Result<Page<T>, Error> {
        let query = query.table_name(&self.table).set_index_name(index.name().map(Into::into));
        // One more than asked tells whether another page exists without an empty last page.
        let query = if filtered { query } else { query.limit(request.limit as i32 + 1) };
        let output = query.set_exclusive_start_key(request.start).send().await?;
        let mut items = output.items.unwrap_or_default();
        let next = if items.len() > request.limit as usize {
            items.truncate(request.limit as usize);
            items.last().and_then(|item| encode(item, index))
        } else {
            output.last_evaluated_key.and_then(|key| encode(&key, index))
        };
        let items = items.into_iter().map(from_item).collect::<Result<_, _>>()?;
        Ok(Page { items, next_cursor: next })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_round_trips_and_only_fits_its_own_partition() {
        let item: Item = [("pk", "T#a"), ("sk", "PERSON#1"), ("name", "Olive")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), s(v)))
            .collect();
        let cursor = encode(&item, Index::Table).unwrap();
        let key = decode(&cursor, Index::Table, "T#a").unwrap();
        assert_eq!(key.len(), 2);
        assert_eq!(key["sk"], s("PERSON#1"));
        assert!(decode(&cursor, Index::Table, "T#b").is_err(), "another tenant's partition");
        assert!(decode(&cursor, Index::Gsi1, "T#a").is_err(), "another index");
        assert!(decode("not-a-cursor", Index::Table, "T#a").is_err());
    }

    fn answer(keys: &[&'static str], stopped_at: Option<&str>) -> Answer<&'static str> {
        (keys.iter().map(|key| ((*key).to_owned(), *key)).collect(), stopped_at.map(str::to_owned))
    }

    #[test]
    fn a_merged_page_interleaves_its_partitions_in_key_order_after_the_cursor() {
        let answers = vec![answer(&["a1", "c3", "e5"], None), answer(&["b2", "d4"], None)];
        assert_eq!(merged_page(answers.clone(), None, 10), (vec!["a1", "b2", "c3", "d4", "e5"], None));
        assert_eq!(merged_page(answers.clone(), None, 2), (vec!["a1", "b2"], Some("b2".to_owned())));
        assert_eq!(
            merged_page(answers, Some("b2"), 2),
            (vec!["c3", "d4"], Some("d4".to_owned())),
            "the cursor's own key is read again and dropped"
        );
    }

    #[test]
    fn a_partition_stopped_early_holds_the_page_to_where_it_stopped() {
        // The first partition was read to c3 only: e5 of the second waits, or d4 of the first
        // (unread) would be skipped by a cursor after e5.
        let answers = vec![answer(&["a1", "c3"], Some("c3")), answer(&["b2", "e5"], None)];
        assert_eq!(merged_page(answers, None, 10), (vec!["a1", "b2", "c3"], Some("c3".to_owned())));
        // A filtered partition may stop with nothing kept: the page ends where it stopped.
        let answers = vec![answer(&[], Some("b9")), answer(&["a1", "c3"], None)];
        assert_eq!(merged_page(answers, None, 10), (vec!["a1"], Some("b9".to_owned())));
        assert_eq!(merged_page(Vec::<Answer<&str>>::new(), None, 10), (vec![], None));
    }

    #[test]
    fn limits_are_one_to_a_hundred() {
        assert!(PageRequest::new(Some(0), None, Index::Table, "T#a").is_err());
        assert!(PageRequest::new(Some(101), None, Index::Table, "T#a").is_err());
        assert_eq!(PageRequest::new(None, None, Index::Table, "T#a").unwrap().limit, 50);
        assert_eq!(PageRequest::new(Some(100), None, Index::Table, "T#a").unwrap().limit, 100);
    }
}
