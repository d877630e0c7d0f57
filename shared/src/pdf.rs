//! One-page A4 documents — invoices, pay stubs — written top down: a title, blocks of lines,
//! label/value rows and a closing note. Helvetica, one of the PDF standard fonts, so no font is
//! embedded; text is encoded as Windows-1252 (WinAnsiEncoding), which covers the Latin alphabets'
//! accents and the euro sign (anything else prints as `?`).

use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str};

use crate::store::invoices::Party;

const PAGE: Rect = Rect { x1: 0.0, y1: 0.0, x2: 595.0, y2: 842.0 };
const LEFT: f32 = 56.0;
/// Where the values' column starts.
const VALUES: f32 = 430.0;
const LINE: f32 = 14.0;

/// A page being written.
pub struct Document {
    content: Content,
    /// The baseline of the next line.
    y: f32,
}

impl Document {
    /// A page headed `title`.
    pub fn titled(title: &str) -> Self {
        let mut document = Self { content: Content::new(), y: 786.0 };
        document.text(LEFT, 20.0, true, title);
        document.y -= 2.0 * LINE;
        document
    }

    /// A label and its value on one line, the value in the right-hand column.
    pub fn row(&mut self, label: &str, value: &str, bold: bool) {
        self.text(LEFT, 10.0, bold, label);
        self.text(VALUES, 10.0, bold, value);
        self.y -= LINE;
    }

    /// A small bold heading and its lines, then a blank line.
    pub fn block(&mut self, heading: &str, lines: &[String]) {
        self.text(LEFT, 9.0, true, heading);
        self.y -= LINE;
        for line in lines {
            self.text(LEFT, 10.0, false, line);
            self.y -= LINE;
        }
        self.y -= LINE;
    }

    /// A party's name, address and tax number under `heading`.
    pub fn party(&mut self, heading: &str, party: &Party) {
        let place: Vec<&str> =
            [party.postcode.as_str(), party.city.as_str()].into_iter().filter(|part| !part.is_empty()).collect();
        let lines: Vec<String> = std::iter::once(party.name.clone())
            .chain(party.address_lines.iter().cloned())
            .chain((!place.is_empty()).then(|| place.join(" ")))
            .chain((!party.country.is_empty()).then(|| party.country.clone()))
            .chain(party.tax_number.as_ref().map(|tax_number| format!("Tax number: {tax_number}")))
            .collect();
        self.block(heading, &lines);
    }

    /// Leaves `lines` blank lines.
    pub fn space(&mut self, lines: f32) {
        self.y -= lines * LINE;
    }

    /// A line of small print.
    pub fn note(&mut self, text: &str) {
        self.text(LEFT, 9.0, false, text);
        self.y -= LINE;
    }

    /// The PDF file.
    pub fn finish(self) -> Vec<u8> {
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
        pdf.stream(contents, &self.content.finish());
        pdf.finish()
    }

    fn text(&mut self, x: f32, size: f32, bold: bool, text: &str) {
        let font = if bold { Name(b"F2") } else { Name(b"F1") };
        self.content.begin_text();
        self.content.set_font(font, size);
        self.content.next_line(x, self.y);
        self.content.show(Str(&windows_1252(text)));
        self.content.end_text();
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
