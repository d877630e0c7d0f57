//! TXT records, through a DNS-over-HTTPS JSON API (Google Public DNS's by default,
//! `ROTA_DNS_API`): no resolver library and no UDP, one HTTPS GET over the client the AWS SDK
//! already links.

use std::time::Duration;

use rota::Error;
use rota::outbound::Outbound;
use serde::Deserialize;

/// The TXT records of `name`: none when it has none or does not exist (NXDOMAIN); 503
/// `dns_unavailable` when the resolver does not answer or fails.
pub async fn txt_records(api: &str, name: &str) -> Result<Vec<String>, Error> {
    let unavailable = |reason: String| {
        tracing::warn!(name, reason, "the DNS resolver is unavailable");
        Error::DnsUnavailable
    };
    let resolver = Outbound::new("ROTA_DNS_API", api, Duration::from_secs(5)).map_err(unavailable)?;
    let query =
        form_urlencoded::Serializer::new(String::new()).append_pair("name", name).append_pair("type", "TXT").finish();
    let answer = resolver.get(&format!("/resolve?{query}")).await.map_err(|error| unavailable(error.0))?;
    if answer.status != 200 {
        return Err(unavailable(format!("status {}", answer.status)));
    }
    texts(&answer.body).ok_or_else(|| unavailable("an answer that is not the JSON API's".into()))
}

#[derive(Deserialize)]
struct Response {
    #[serde(rename = "Status")]
    status: u16,
    #[serde(rename = "Answer", default)]
    answer: Vec<Record>,
}

#[derive(Deserialize)]
struct Record {
    #[serde(rename = "type")]
    kind: u16,
    data: String,
}

const TXT: u16 = 16;
const NOERROR: u16 = 0;
const NXDOMAIN: u16 = 3;

/// The TXT strings of a JSON API answer, each record's character-strings joined (RFC 7208
/// §3.3); `None` for an answer that is no resolution (SERVFAIL, REFUSED, not the API's JSON).
fn texts(body: &[u8]) -> Option<Vec<String>> {
    let response: Response = serde_json::from_slice(body).ok()?;
    match response.status {
        NOERROR | NXDOMAIN => {}
        _ => return None,
    }
    Some(response.answer.into_iter().filter(|record| record.kind == TXT).map(|record| joined(&record.data)).collect())
}

/// A TXT record's text: Google's API gives it as it is, Cloudflare's as quoted strings
/// (`"part one" "part two"`), which are joined without their quotes and escapes.
fn joined(data: &str) -> String {
    let data = data.trim();
    if !data.starts_with('"') {
        return data.to_owned();
    }
    let (mut text, mut quoted, mut escaped) = (String::new(), false, false);
    for c in data.chars() {
        match (quoted, escaped, c) {
            (true, true, c) => {
                text.push(c);
                escaped = false;
            }
            (true, false, '\\') => escaped = true,
            (_, false, '"') => quoted = !quoted,
            (true, false, c) => text.push(c),
            (false, _, _) => {}
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn googles_answer_gives_each_records_text() {
        let body = br#"{"Status":0,"TC":false,"RD":true,"RA":true,"AD":false,"CD":false,
            "Question":[{"name":"_rota-challenge.harbour.example.","type":16}],
            "Answer":[{"name":"_rota-challenge.harbour.example.","type":16,"TTL":300,"data":"rota-domain-verification=ab12"},
                      {"name":"_rota-challenge.harbour.example.","type":16,"TTL":300,"data":"v=spf1 -all"}]}"#;
        assert_eq!(texts(body), Some(vec!["rota-domain-verification=ab12".into(), "v=spf1 -all".into()]));
    }

    #[test]
    fn quoted_strings_are_joined_and_other_records_left_out() {
        let body = br#"{"Status":0,"Answer":[{"name":"x.example.","type":5,"TTL":60,"data":"y.example."},
            {"name":"y.example.","type":16,"TTL":60,"data":"\"rota-domain-\" \"verification=ab\\\"12\""}]}"#;
        assert_eq!(texts(body), Some(vec!["rota-domain-verification=ab\"12".into()]));
    }

    #[test]
    fn no_such_name_has_no_records_and_a_failure_is_no_answer() {
        assert_eq!(texts(br#"{"Status":3,"Question":[{"name":"nowhere.example.","type":16}]}"#), Some(Vec::new()));
        assert_eq!(texts(br#"{"Status":2}"#), None, "SERVFAIL");
        assert_eq!(texts(b"<html>"), None);
    }
}
