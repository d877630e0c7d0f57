//! An invoice as a one-page A4 PDF (`rota::pdf`): seller and buyer with their addresses, the
//! number and dates, the lines, the net, the tax and the total.

use rota::domain::money;
use rota::pdf::Document;
use rota::store::invoices::Invoice;

/// The invoice's PDF document.
pub fn render(invoice: &Invoice) -> Vec<u8> {
    let mut page = Document::titled("Invoice");
    page.party("From", &invoice.seller);
    page.party("Bill to", &invoice.buyer);
    let date = |instant: &str| instant.get(..10).unwrap_or(instant).to_owned();
    for (label, value) in [
        ("Invoice number", invoice.id.clone()),
        ("Date of issue", date(&invoice.issued_at)),
        ("Period", format!("{} to {}", date(&invoice.period_start), date(&invoice.period_end))),
    ] {
        page.row(label, &value, false);
    }
    page.space(1.0);
    page.row("Description", "Amount", true);
    let amount = |minor: i64| money::format(minor, &invoice.currency);
    for line in &invoice.lines {
        page.row(&format!("{} ({})", line.description, line.payment_id), &amount(line.amount_minor), false);
    }
    page.space(0.5);
    page.row("Net", &amount(invoice.net_minor), false);
    let rate = format!("Tax ({}.{:02} %)", invoice.tax_rate_bp / 100, invoice.tax_rate_bp % 100);
    page.row(&rate, &amount(invoice.tax_minor), false);
    page.row("Total", &amount(invoice.total_minor), true);
    page.space(1.0);
    page.note("Paid by card. Amounts include tax.");
    page.finish()
}
