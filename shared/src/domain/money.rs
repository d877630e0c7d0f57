//! Amounts as people read them. Every amount is kept in integer minor units of an ISO 4217
//! currency; most have two decimals, a few (Stripe's "zero-decimal" currencies) none.

/// Currencies whose minor unit is the unit itself (no decimals).
const ZERO_DECIMAL: [&str; 16] =
    ["BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF"];

/// "EUR 29.00", "JPY 3000", "EUR -1.50".
pub fn format(amount_minor: i64, currency: &str) -> String {
    format!("{} {}", currency.to_uppercase(), decimal(amount_minor, currency))
}

/// The amount alone, with its currency's decimals: "29.00", "3000", "-1.50" (for files).
pub fn decimal(amount_minor: i64, currency: &str) -> String {
    if ZERO_DECIMAL.contains(&currency.to_uppercase().as_str()) {
        return amount_minor.to_string();
    }
    let sign = if amount_minor < 0 { "-" } else { "" };
    let amount = amount_minor.unsigned_abs();
    format!("{sign}{}.{:02}", amount / 100, amount % 100)
}

#[cfg(test)]
mod tests {
    #[test]
    fn amounts_read_with_their_currencys_decimals() {
        assert_eq!(super::format(2900, "eur"), "EUR 29.00");
        assert_eq!(super::format(5, "USD"), "USD 0.05");
        assert_eq!(super::format(-150, "EUR"), "EUR -1.50");
        assert_eq!(super::format(3000, "JPY"), "JPY 3000");
        assert_eq!([super::decimal(2900, "eur"), super::decimal(3000, "jpy")], ["29.00", "3000"]);
    }
}
