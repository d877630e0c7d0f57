//! An invoice as a one-page A4 PDF: seller and buyer with their addresses, the number and dates,
//! the lines, the net, the tax and the total. Helvetica, one of the PDF standard fonts, so no
//! font is embedded; text is encoded as Windows-1252 (WinAnsiEncoding), which covers the Latin
//! alphabets' accents and the euro sign (anything else prints as `?`).

use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str};
use rota::domain::money;
use rota::store::invoices::{Invoice, Party};

const PAGE: Rect = Rect { x1: 0.0, y1: 0.0, x2: 595.0, y2: 842.0 };
const LEFT: f32 = 56.0;
/// Where the amounts' column starts.
const AMOUNTS: f32 = 430.0;
const LINE: f32 = 14.0;

/// The invoice's PDF document.
pub fn render(invoice: &Invoice) -> Vec<u8> {
    let mut pdf = Pdf::new();
    let (catalog, pages, page, regular, bold, contents) =
        (Ref::new(1), Ref::new(2), Ref::new(3), Ref::new(4), Ref::new(5), Ref::new(6));
    pdf.catalog(catalog).pages(pages);
    pdf.pages(pages).kids([page]).count(1);
    let mut writer = pdf.page(page);
    writer.media_box(PAGE).parent(pages).contents(contents);
    writer.resources().fonts().pair(Name(b"F1"), regular).pair(Name(b"F2"), bold);
    writer.finish();
    for (id, font) in [(regular, &b"Helvetica"[..]), (bold, &b"Helvetica-Bold"[..])] {
        pdf.type1_font(id).base_font(Name(font)).encoding_predefined(Name(b"WinAnsiEncoding"));
    }
    let mut page = Page { content: Content::new(), y: 786.0 };
    page.text(LEFT, 20.0, true, "Invoice");
    page.y -= 2.0 * LINE;
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
    page.y -= LINE;
    page.row("Description", "Amount", true);
    let amount = |minor: i64| money::format(minor, &invoice.currency);
    for line in &invoice.lines {
        page.row(&format!("{} ({})", line.description, line.payment_id), &amount(line.amount_minor), false);
    }
    page.y -= LINE / 2.0;
    page.row("Net", &amount(invoice.net_minor), false);
    let rate = format!("Tax ({}.{:02} %)", invoice.tax_rate_bp / 100, invoice.tax_rate_bp % 100);
    page.row(&rate, &amount(invoice.tax_minor), false);
    page.row("Total", &amount(invoice.total_minor), true);
    page.y -= LINE;
    page.text(LEFT, 9.0, false, "Paid by card. Amounts include tax.");
    pdf.stream(contents, &page.content.finish());
    pdf.finish()
}

/// The page's text, written top down.
struct Page {
    content: Content,
    /// The baseline of the next line.
    y: f32,
}

impl Page {
    fn text(&mut self, x: f32, size: f32, bold: bool, text: &str) {
        let font = if bold { Name(b"F2") } else { Name(b"F1") };
        self.content.begin_text();
        self.content.set_font(font, size);
        self.content.next_line(x, self.y);
        self.content.show(Str(&windows_1252(text)));
        self.content.end_text();
    }

    fn row(&mut self, label: &str, value: &str, bold: bool) {
        self.text(LEFT, 10.0, bold, label);
        self.text(AMOUNTS, 10.0, bold, value);
        self.y -= LINE;
    }

    fn party(&mut self, heading: &str, party: &Party) {
        self.text(LEFT, 9.0, true, heading);
        self.y -= LINE;
        let place: Vec<&str> =
            [party.postcode.as_str(), party.city.as_str()].into_iter().filter(|part| !part.is_empty()).collect();
        let lines = std::iter::once(party.name.clone())
            .chain(party.address_lines.iter().cloned())
            .chain((!place.is_empty()).then(|| place.join(" ")))
            .chain((!party.country.is_empty()).then(|| party.country.clone()))
            .chain(party.tax_number.as_ref().map(|tax_number| format!("Tax number: {tax_number}")));
        for line in lines.collect::<Vec<_>>() {
            self.text(LEFT, 10.0, false, &line);
            self.y -= LINE;
        }
        self.y -= LINE;
    }
}

/// `text` in Windows-1252: Latin-1 as it is, the euro sign and typographic quotes and dashes at
/// their code points, anything else `?`.
fn windows_1252(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| match c {
            '€' => 0x80,
            '‘' => 0x91,
            '’' => 0x92,
            '“' => 0x93,
            '”' => 0x94,
            '–' => 0x96,
            '—' => 0x97,
            c if (c as u32) < 0x80 || (0xA0..=0xFF).contains(&(c as u32)) => c as u8,
            _ => b'?',
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn text_is_written_as_windows_1252() {
        assert_eq!(super::windows_1252("Café – €5 ✓"), b"Caf\xe9 \x96 \x805 ?");
    }
}
