//! The read and write units each DynamoDB call consumes, for the round-trip interceptor to add to
//! its request. In AWS the call asks for `ReturnConsumedCapacity` and DynamoDB's own figure is
//! taken. The local stack (moto) answers that with fixed figures, so there the units are modelled
//! from the items themselves ([`super::capacity`]), with the partitions each call touches (the
//! table's and each index's) for the heat simulation ([`super::heat`]).
//!
//! What the model cannot see it counts as one unit of size (≤ 1 KB): the item an update or delete
//! inside a transaction changes, a condition check's item, a deleted item in a batch. Outside a
//! transaction an update asks for the whole new item and a delete for the old one (`ReturnValues`,
//! which costs nothing), so their size and indexes are known. A write whose condition fails is
//! charged as DynamoDB charges it, like one that succeeded; an overwritten item's old size is not.

use std::collections::HashMap;

use aws_sdk_dynamodb::operation::batch_get_item::{BatchGetItemInput, BatchGetItemOutput};
use aws_sdk_dynamodb::operation::batch_write_item::{BatchWriteItemInput, BatchWriteItemOutput};
use aws_sdk_dynamodb::operation::delete_item::{DeleteItemInput, DeleteItemOutput};
use aws_sdk_dynamodb::operation::get_item::{GetItemInput, GetItemOutput};
use aws_sdk_dynamodb::operation::put_item::{PutItemInput, PutItemOutput};
use aws_sdk_dynamodb::operation::query::{QueryInput, QueryOutput};
use aws_sdk_dynamodb::operation::transact_write_items::{TransactWriteItemsInput, TransactWriteItemsOutput};
use aws_sdk_dynamodb::operation::update_item::{UpdateItemInput, UpdateItemOutput};
use aws_sdk_dynamodb::types::{AttributeValue, ConsumedCapacity, ReturnConsumedCapacity, ReturnValue, Select};
use aws_smithy_runtime_api::client::interceptors::context::{Input, Output};
use aws_smithy_types::config_bag::{Storable, StoreReplace};

use super::capacity::{Read, WRITE_UNIT_BYTES, item_size, read_units, write_units};

type Item = HashMap<String, AttributeValue>;

/// The key attributes of the table and its indexes (template.yaml's `Table`).
const PARTITION_KEYS: [&str; 4] = ["pk", "gsi1pk", "gsi2pk", "gsi3pk"];

/// Units consumed, and (modelled) which partitions consumed them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Consumed {
    pub read_units: f64,
    pub write_units: f64,
    /// Each partition a call read or wrote (`gsi2pk=T#…#ATT`), with its units: empty when the
    /// figures are DynamoDB's own.
    pub touches: Vec<Touch>,
}

/// Units one call spent on one partition of the table (`pk=…`) or an index (`gsi1pk=…`).
#[derive(Debug, Clone, PartialEq)]
pub struct Touch {
    pub partition: String,
    pub read_units: f64,
    pub write_units: f64,
}

impl Consumed {
    pub fn add(&mut self, other: Consumed) {
        self.read_units += other.read_units;
        self.write_units += other.write_units;
        self.touches.extend(other.touches);
    }

    fn read(&mut self, partition: String, units: f64) {
        self.read_units += units;
        self.touches.push(Touch { partition, read_units: units, write_units: 0.0 });
    }

    fn write(&mut self, partition: String, units: f64) {
        self.write_units += units;
        self.touches.push(Touch { partition, read_units: 0.0, write_units: units });
    }

    /// A write of `item` (`bytes` of it) to the table and to each index it has keys for. Only the
    /// table's write is transactional: DynamoDB carries it to the indexes afterwards, as any write.
    fn write_item(&mut self, item: &Item, bytes: usize, transactional: bool) {
        for partition in partitions(item) {
            let in_table = partition.starts_with("pk=");
            self.write(partition, write_units(bytes, transactional && in_table));
        }
    }
}

/// Each partition an item is in: the table's, and each index's it has a key for.
fn partitions(item: &Item) -> impl Iterator<Item = String> + '_ {
    PARTITION_KEYS.iter().filter_map(|key| match item.get(*key) {
        Some(AttributeValue::S(value)) => Some(format!("{key}={value}")),
        _ => None,
    })
}

fn table_partition(key: Option<&Item>) -> String {
    let value = key.and_then(|key| key.get("pk")).and_then(|pk| pk.as_s().ok());
    format!("pk={}", value.map_or("?", String::as_str))
}

fn read_kind(consistent: Option<bool>) -> Read {
    if consistent == Some(true) { Read::Strong } else { Read::Eventual }
}

/// What a call's input says that its output will not, kept in the operation's config bag from
/// before it is sent until it has ended.
#[derive(Debug, Clone)]
pub(crate) enum Planned {
    /// In AWS: DynamoDB reports the units.
    Reported,
    Get {
        partition: String,
        read: Read,
    },
    Query {
        partition: String,
        read: Read,
        count_only: bool,
    },
    /// Each key asked for, by table, and how that table is read.
    BatchGet(Vec<(String, Read, Vec<Item>)>),
    /// Units known from the input alone (puts, batches, transactions).
    Writes(Consumed),
    /// An update or a delete: its item comes back with the output.
    Change {
        partition: String,
    },
}

impl Storable for Planned {
    type Storer = StoreReplace<Self>;
}

/// Prepares a call before it is sent: asks DynamoDB for its units (`modelled` false), or for the
/// item an update or a delete changes (`modelled`), and returns what to keep until its output.
pub(crate) fn plan(input: &mut Input, modelled: bool) -> Option<Planned> {
    if !modelled {
        let total = Some(ReturnConsumedCapacity::Total);
        macro_rules! ask {
            ($($operation:ty),*) => {
                $(if let Some(input) = input.downcast_mut::<$operation>() {
                    input.return_consumed_capacity = total;
                    return Some(Planned::Reported);
                })*
            };
        }
        ask!(GetItemInput, QueryInput, BatchGetItemInput, PutItemInput, UpdateItemInput, DeleteItemInput);
        ask!(BatchWriteItemInput, TransactWriteItemsInput);
        return None;
    }
    if let Some(input) = input.downcast_mut::<GetItemInput>() {
        return Some(Planned::Get {
            partition: table_partition(input.key.as_ref()),
            read: read_kind(input.consistent_read),
        });
    }
    if let Some(input) = input.downcast_mut::<QueryInput>() {
        return Some(Planned::Query {
            partition: queried_partition(input),
            read: read_kind(input.consistent_read),
            count_only: input.select == Some(Select::Count),
        });
    }
    if let Some(input) = input.downcast_mut::<BatchGetItemInput>() {
        let tables = input.request_items.iter().flatten();
        let keys = tables.map(|(table, keys)| (table.clone(), read_kind(keys.consistent_read), keys.keys.clone()));
        return Some(Planned::BatchGet(keys.collect()));
    }
    if let Some(input) = input.downcast_mut::<UpdateItemInput>() {
        if matches!(input.return_values, None | Some(ReturnValue::None)) {
            input.return_values = Some(ReturnValue::AllNew);
        }
        return Some(Planned::Change { partition: table_partition(input.key.as_ref()) });
    }
    if let Some(input) = input.downcast_mut::<DeleteItemInput>() {
        if matches!(input.return_values, None | Some(ReturnValue::None)) {
            input.return_values = Some(ReturnValue::AllOld);
        }
        return Some(Planned::Change { partition: table_partition(input.key.as_ref()) });
    }
    let mut writes = Consumed::default();
    if let Some(input) = input.downcast_ref::<PutItemInput>() {
        let item = input.item.clone().unwrap_or_default();
        writes.write_item(&item, item_size(&item), false);
    } else if let Some(input) = input.downcast_ref::<BatchWriteItemInput>() {
        for request in input.request_items.iter().flat_map(HashMap::values).flatten() {
            match (&request.put_request, &request.delete_request) {
                (Some(put), _) => writes.write_item(&put.item, item_size(&put.item), false),
                (None, Some(delete)) => writes.write(table_partition(Some(&delete.key)), write_units(0, false)),
                (None, None) => {}
            }
        }
    } else if let Some(input) = input.downcast_ref::<TransactWriteItemsInput>() {
        for action in input.transact_items.iter().flatten() {
            if let Some(put) = &action.put {
                writes.write_item(&put.item, item_size(&put.item), true);
            }
            let unseen = [
                action.update.as_ref().map(|update| &update.key),
                action.delete.as_ref().map(|delete| &delete.key),
                action.condition_check.as_ref().map(|check| &check.key),
            ];
            for key in unseen.into_iter().flatten() {
                writes.write(table_partition(Some(key)), write_units(WRITE_UNIT_BYTES, true));
            }
        }
    } else {
        return None;
    }
    Some(Planned::Writes(writes))
}

/// The partition a Query reads: its key condition's first term (`pk = :pk`, `#pk = :pk`), in
/// the index it names.
fn queried_partition(input: &QueryInput) -> String {
    let condition = input.key_condition_expression.as_deref().unwrap_or_default();
    let first = condition.split(" AND ").next().unwrap_or_default();
    let Some((name, value)) = first.split_once('=') else { return "?".to_owned() };
    let (name, value) = (name.trim(), value.trim());
    let names = input.expression_attribute_names.as_ref();
    let name = names.and_then(|names| names.get(name)).map_or(name, String::as_str);
    let values = input.expression_attribute_values.as_ref();
    let value = values.and_then(|values| values.get(value)).and_then(|value| value.as_s().ok());
    format!("{name}={}", value.map_or("?", String::as_str))
}

/// What a call consumed, from what was planned and how it ended: its output, or None when it
/// failed after reaching DynamoDB (a write whose condition failed is still charged).
pub(crate) fn consumed(planned: &Planned, output: Option<&Output>) -> Consumed {
    let mut consumed = Consumed::default();
    match (planned, output) {
        (Planned::Reported, Some(output)) => return reported(output),
        (Planned::Writes(writes), _) => return writes.clone(),
        (Planned::Get { partition, read }, Some(output)) => {
            let item = output.downcast_ref::<GetItemOutput>().and_then(|output| output.item.as_ref());
            consumed.read(partition.clone(), read_units(item.map_or(0, item_size), *read));
        }
        (Planned::Query { partition, read, count_only }, Some(output)) => {
            if let Some(output) = output.downcast_ref::<QueryOutput>() {
                consumed.read(partition.clone(), read_units(queried_bytes(output, *count_only), *read));
            }
        }
        (Planned::BatchGet(tables), Some(output)) => {
            let Some(output) = output.downcast_ref::<BatchGetItemOutput>() else { return consumed };
            for (table, read, keys) in tables {
                let found = output.responses.as_ref().and_then(|responses| responses.get(table));
                let left = output.unprocessed_keys.as_ref().and_then(|left| left.get(table));
                for key in keys {
                    if left.is_some_and(|left| left.keys.contains(key)) {
                        continue;
                    }
                    // Each item is rounded up on its own; one not found still costs a read.
                    let item = found.into_iter().flatten().find(|item| key.iter().all(|(k, v)| item.get(k) == Some(v)));
                    consumed.read(table_partition(Some(key)), read_units(item.map_or(0, item_size), *read));
                }
            }
        }
        (Planned::Change { partition }, output) => {
            let item = output.and_then(|output| {
                let updated = output.downcast_ref::<UpdateItemOutput>().and_then(|output| output.attributes.as_ref());
                updated
                    .or_else(|| output.downcast_ref::<DeleteItemOutput>().and_then(|output| output.attributes.as_ref()))
            });
            match item {
                Some(item) => consumed.write_item(item, item_size(item), false),
                // A condition that failed, or a delete of nothing: one unit.
                None => consumed.write(partition.clone(), write_units(0, false)),
            }
        }
        (_, None) => {}
    }
    consumed
}

/// The bytes a Query page read: its items, and the ones its filter dropped at their average size
/// (1 KB each when it returned none, or counted only).
fn queried_bytes(output: &QueryOutput, count_only: bool) -> usize {
    let items = output.items.as_deref().unwrap_or_default();
    let (returned, scanned) = (items.len(), usize::try_from(output.scanned_count).unwrap_or_default());
    let bytes: usize = items.iter().map(item_size).sum();
    if count_only || returned == 0 { scanned * WRITE_UNIT_BYTES } else { bytes * scanned.max(returned) / returned }
}

/// DynamoDB's own figures, from an output that carries them.
fn reported(output: &Output) -> Consumed {
    let mut consumed = Consumed::default();
    let mut add = |capacity: &ConsumedCapacity, reads: bool| {
        let units = capacity.capacity_units.unwrap_or_default();
        if reads { consumed.read_units += units } else { consumed.write_units += units }
    };
    macro_rules! one {
        ($($operation:ty => $reads:expr),*) => {
            $(if let Some(capacity) = output.downcast_ref::<$operation>().and_then(|output| output.consumed_capacity.as_ref()) {
                add(capacity, $reads);
            })*
        };
    }
    one!(GetItemOutput => true, QueryOutput => true, PutItemOutput => false, UpdateItemOutput => false, DeleteItemOutput => false);
    macro_rules! many {
        ($($operation:ty => $reads:expr),*) => {
            $(if let Some(output) = output.downcast_ref::<$operation>() {
                output.consumed_capacity.iter().flatten().for_each(|capacity| add(capacity, $reads));
            })*
        };
    }
    many!(BatchGetItemOutput => true, BatchWriteItemOutput => false, TransactWriteItemsOutput => false);
    consumed
}

#[cfg(test)]
mod tests {
    use aws_sdk_dynamodb::types::{Put, TransactWriteItem, Update};

    use super::*;
    use crate::store::s;

    fn item(fields: &[(&str, &str)]) -> Item {
        fields.iter().map(|(name, value)| ((*name).to_owned(), s(*value))).collect()
    }

    fn run(input: impl std::fmt::Debug + Send + Sync + 'static, output: Option<Output>) -> (Input, Consumed) {
        let mut input = Input::erase(input);
        let planned = plan(&mut input, true).expect("a DynamoDB call");
        let consumed = consumed(&planned, output.as_ref());
        (input, consumed)
    }

    #[test]
    fn a_read_costs_its_item_and_half_when_eventually_consistent() {
        let key = item(&[("pk", "T#1"), ("sk", "PERSON#1")]);
        let found = item(&[("pk", "T#1"), ("sk", "PERSON#1"), ("name", &"x".repeat(5000))]);
        let get = GetItemInput::builder().table_name("t").set_key(Some(key.clone())).build().unwrap();
        let output = GetItemOutput::builder().set_item(Some(found)).build();
        let (_, consumed) = run(get, Some(Output::erase(output)));
        assert_eq!(consumed.read_units, 1.0, "5 KB: two units of 4 KB, halved");
        assert_eq!(consumed.touches[0].partition, "pk=T#1");

        let strong = GetItemInput::builder().table_name("t").set_key(Some(key)).consistent_read(true).build().unwrap();
        let (_, consumed) = run(strong, Some(Output::erase(GetItemOutput::builder().build())));
        assert_eq!((consumed.read_units, consumed.write_units), (1.0, 0.0), "nothing found: a whole strong read");
    }

    #[test]
    fn a_query_reads_its_index_partition_and_the_items_its_filter_dropped() {
        let query = QueryInput::builder()
            .table_name("t")
            .index_name("gsi2")
            .key_condition_expression("#pk = :pk AND begins_with(#sort, :prefix)")
            .expression_attribute_names("#pk", "gsi2pk")
            .expression_attribute_values(":pk", s("T#1#ATT"))
            .build()
            .unwrap();
        let page = vec![item(&[("pk", &"x".repeat(3000))])];
        let output = QueryOutput::builder().set_items(Some(page)).count(1).scanned_count(3).build();
        let (_, consumed) = run(query, Some(Output::erase(output)));
        assert_eq!(consumed.touches[0].partition, "gsi2pk=T#1#ATT");
        assert_eq!(consumed.read_units, 1.5, "three items of ≈ 3 KB: three units, halved");
    }

    #[test]
    fn a_put_writes_the_table_and_each_index_it_has_keys_for() {
        let shift = item(&[("pk", "T#1"), ("sk", "SHIFT#1"), ("gsi2pk", "T#1#SHIFTS"), ("notes", &"n".repeat(1100))]);
        let put = PutItemInput::builder().table_name("t").set_item(Some(shift)).build().unwrap();
        let (_, consumed) = run(put, None);
        assert_eq!(consumed.write_units, 4.0, "≈ 1.1 KB: two units, in the table and in gsi2");
        let partitions: Vec<_> = consumed.touches.iter().map(|touch| touch.partition.as_str()).collect();
        assert_eq!(partitions, ["pk=T#1", "gsi2pk=T#1#SHIFTS"]);
    }

    #[test]
    fn an_update_asks_for_its_item_and_costs_its_size() {
        let key = item(&[("pk", "T#1"), ("sk", "PERSON#1")]);
        let update = UpdateItemInput::builder().table_name("t").set_key(Some(key)).update_expression("SET a = :a");
        let (input, consumed) = run(
            update.build().unwrap(),
            Some(Output::erase(
                UpdateItemOutput::builder()
                    .set_attributes(Some(item(&[("pk", "T#1"), ("gsi1pk", "EMAIL#x"), ("bio", &"b".repeat(2100))])))
                    .build(),
            )),
        );
        let sent = input.downcast_ref::<UpdateItemInput>().unwrap();
        assert_eq!(sent.return_values, Some(ReturnValue::AllNew));
        assert_eq!(consumed.write_units, 6.0, "≈ 2.1 KB: three units, in the table and in gsi1");
        let (_, failed) = run(UpdateItemInput::builder().table_name("t").build().unwrap(), None);
        assert_eq!(failed.write_units, 1.0, "a failed condition still costs a write");
    }

    #[test]
    fn a_transaction_costs_twice_and_counts_what_it_cannot_see_as_one_kilobyte() {
        let record = item(&[("pk", "T#1"), ("sk", "ATT#1"), ("gsi2pk", "T#1#ATT")]);
        let tally = item(&[("pk", "T#1"), ("sk", "SHIFT#1#TALLY")]);
        let transaction = TransactWriteItemsInput::builder()
            .transact_items(
                TransactWriteItem::builder()
                    .put(Put::builder().table_name("t").set_item(Some(record)).build().unwrap())
                    .build(),
            )
            .transact_items(
                TransactWriteItem::builder()
                    .update(
                        Update::builder()
                            .table_name("t")
                            .set_key(Some(tally))
                            .update_expression("ADD n :one")
                            .build()
                            .unwrap(),
                    )
                    .build(),
            )
            .build()
            .unwrap();
        let (_, consumed) = run(transaction, None);
        assert_eq!(
            consumed.write_units, 5.0,
            "the record (two units) and the tally (two) in the table, the record in gsi2 (one)"
        );
    }

    #[test]
    fn in_aws_the_call_asks_dynamodb_and_takes_its_figure() {
        let mut input = Input::erase(GetItemInput::builder().table_name("t").build().unwrap());
        let planned = plan(&mut input, false).unwrap();
        let sent = input.downcast_ref::<GetItemInput>().unwrap();
        assert_eq!(sent.return_consumed_capacity, Some(ReturnConsumedCapacity::Total));
        let capacity = ConsumedCapacity::builder().table_name("t").capacity_units(0.5).build();
        let output = Output::erase(GetItemOutput::builder().consumed_capacity(capacity).build());
        let consumed = consumed(&planned, Some(&output));
        assert_eq!((consumed.read_units, consumed.write_units, consumed.touches.len()), (0.5, 0.0, 0));
    }
}
