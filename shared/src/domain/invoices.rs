//! Invoices as numbers and sums: the platform's gap-free numbering and the tax an amount holds.

/// An invoice's number: `RT-{year}-{sequence}`, the sequence counted per year from 1, at least
/// six digits, so numbers of a year sort as they were issued.
pub fn number(year: i32, sequence: i64) -> String {
    format!("RT-{year}-{sequence:06}")
}

/// The net amount and the tax that a tax-inclusive `total_minor` holds at `rate_bp` (basis
/// points: 2000 is 20 %): the tax is rounded half up once, and net + tax is the total exactly.
pub fn tax_included(total_minor: i64, rate_bp: u32) -> (i64, i64) {
    let rate = i128::from(rate_bp);
    let total = i128::from(total_minor);
    // net = total × 10000 / (10000 + rate), rounded half up (in integers).
    let net = (2 * total * 10_000 + 10_000 + rate) / (2 * (10_000 + rate));
    let net = i64::try_from(net).unwrap_or(total_minor);
    (net, total_minor - net)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_per_year_and_sort_as_issued() {
        assert_eq!(number(2027, 123), "RT-2027-000123");
        assert_eq!(number(2027, 1_234_567), "RT-2027-1234567");
        assert!(number(2027, 99) < number(2027, 100) && number(2027, 999_999) < number(2028, 1));
    }

    #[test]
    fn the_tax_held_in_a_total_adds_back_to_it() {
        assert_eq!(tax_included(1200, 2000), (1000, 200));
        assert_eq!(tax_included(2900, 0), (2900, 0));
        assert_eq!(tax_included(2900, 1900), (2437, 463), "24.369… rounds to 24.37");
        assert_eq!(tax_included(1, 2000), (1, 0));
        for total in [0, 1, 99, 2900, 123_457] {
            let (net, tax) = tax_included(total, 2100);
            assert_eq!(net + tax, total);
        }
    }
}
