//! What DynamoDB charges, computed from the items themselves: an item's size as DynamoDB counts
//! it, and the read and write units a size costs. The local stack (moto) answers
//! `ReturnConsumedCapacity` with fixed figures, so the cost model (issue 24's `make cost`) counts
//! with these instead; in AWS the real figures can be compared with them.
//! <https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html>

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

/// A read unit covers 4 KB of item (strongly consistent; eventually consistent, twice that).
pub const READ_UNIT_BYTES: usize = 4096;
/// A write unit covers 1 KB of item.
pub const WRITE_UNIT_BYTES: usize = 1024;

/// The size of an item: each attribute's name and value.
pub fn item_size(item: &HashMap<String, AttributeValue>) -> usize {
    item.iter().map(|(name, value)| name.len() + value_size(value)).sum()
}

/// The size of a value (its attribute's name not included).
pub fn value_size(value: &AttributeValue) -> usize {
    match value {
        AttributeValue::S(text) => text.len(),
        AttributeValue::N(number) => number_size(number),
        AttributeValue::B(bytes) => bytes.as_ref().len(),
        AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
        AttributeValue::Ss(texts) => texts.iter().map(String::len).sum(),
        AttributeValue::Ns(numbers) => numbers.iter().map(|number| number_size(number)).sum(),
        AttributeValue::Bs(blobs) => blobs.iter().map(|blob| blob.as_ref().len()).sum(),
        // 3 bytes of the container, and 1 more for each element.
        AttributeValue::L(values) => 3 + values.iter().map(|value| 1 + value_size(value)).sum::<usize>(),
        AttributeValue::M(fields) => {
            3 + fields.iter().map(|(name, value)| 1 + name.len() + value_size(value)).sum::<usize>()
        }
        _ => 0,
    }
}

/// A number's size: a byte per two significant digits (leading and trailing zeroes trimmed), and
/// one more.
fn number_size(number: &str) -> usize {
    let mantissa = number.split(['e', 'E']).next().unwrap_or_default();
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let significant = digits.trim_start_matches('0').trim_end_matches('0').len();
    significant.div_ceil(2) + 1
}

/// How a read is charged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Read {
    Eventual,
    Strong,
    /// In a transaction: twice a strong read.
    Transactional,
}

/// The read units of `bytes` read at once (one item, or a Query's page: its items summed before
/// rounding); nothing found still costs the smallest read.
pub fn read_units(bytes: usize, read: Read) -> f64 {
    let units = bytes.div_ceil(READ_UNIT_BYTES).max(1) as f64;
    match read {
        Read::Eventual => units / 2.0,
        Read::Strong => units,
        Read::Transactional => units * 2.0,
    }
}

/// The write units of writing an item of `bytes` (for a change, the larger of the item before and
/// after); twice that in a transaction.
pub fn write_units(bytes: usize, transactional: bool) -> f64 {
    let units = bytes.div_ceil(WRITE_UNIT_BYTES).max(1) as f64;
    if transactional { units * 2.0 } else { units }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(text: &str) -> AttributeValue {
        AttributeValue::S(text.to_owned())
    }

    #[test]
    fn an_item_is_its_names_and_values() {
        // The example of ddbitemsizer's README (141 bytes), as the AWS guide's rules count it.
        let item = HashMap::from([
            ("itemType".to_owned(), s("SLOT")),
            ("id".to_owned(), s("abc1231")),
            ("hostName".to_owned(), s("Harry Mason")),
            ("timeSlot".to_owned(), s("February 23, 1999")),
            ("slotStatus".to_owned(), s("OPEN")),
            ("createdAt".to_owned(), s("February 1, 1999")),
            ("updatedAt".to_owned(), s("February 1, 1999")),
            ("expiresAt".to_owned(), AttributeValue::N("2099".to_owned())),
        ]);
        assert_eq!(item_size(&item), 141);
    }

    #[test]
    fn numbers_count_their_significant_digits_and_containers_their_overhead() {
        assert_eq!(number_size("2099"), 3);
        assert_eq!(number_size("-0012.3400"), 3, "1234: two bytes, and one");
        assert_eq!(number_size("12345"), 4);
        assert_eq!(number_size("1E+30"), 2);
        assert_eq!(number_size("0"), 1);
        assert_eq!(value_size(&AttributeValue::Bool(true)), 1);
        assert_eq!(value_size(&AttributeValue::L(Vec::new())), 3);
        assert_eq!(value_size(&AttributeValue::L(vec![s("ab"), s("c")])), 3 + 3 + 2);
        let map = AttributeValue::M(HashMap::from([("k".to_owned(), s("vv"))]));
        assert_eq!(value_size(&map), 3 + 1 + 1 + 2);
        assert_eq!(value_size(&AttributeValue::Ss(vec!["ab".into(), "cde".into()])), 5);
    }

    #[test]
    fn units_round_up_per_unit_of_size() {
        // The guide's examples: a 3.5 KB item read strongly is one unit, eventually half; a
        // 1.5 KB item written is two.
        assert_eq!(read_units(3584, Read::Strong), 1.0);
        assert_eq!(read_units(3584, Read::Eventual), 0.5);
        assert_eq!(read_units(4097, Read::Strong), 2.0);
        assert_eq!(read_units(4097, Read::Transactional), 4.0);
        assert_eq!(read_units(0, Read::Eventual), 0.5, "nothing found still costs a read");
        assert_eq!(write_units(1536, false), 2.0);
        assert_eq!(write_units(1024, false), 1.0);
        assert_eq!(write_units(1025, true), 4.0);
        assert_eq!(write_units(0, false), 1.0);
    }
}
