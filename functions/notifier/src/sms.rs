//! SMS through a Twilio-compatible REST API: `POST /2010-04-01/Accounts/{sid}/Messages.json`, a
//! form body (`To`, `From`, `Body`), HTTP basic auth with the account SID and auth token.
//! https://www.twilio.com/docs/messaging/api/message-resource

use aws_smithy_types::body::SdkBody;
use base64::Engine;
use futures_util::future::BoxFuture;
use rota::config::Secret;
use rota::notify::Rendered;
use rota::outbound::Outbound;
use serde::Deserialize;

use crate::channel::{Channel, SendError, Sent};

/// Twilio's limit for one message's body (it splits it into segments of 153–160 characters).
const MAX_BODY_CHARS: usize = 1600;

/// `ROTA_SMS_*`: where and as whom SMS are sent.
pub struct SmsSettings {
    /// Default `https://api.twilio.com`; locally the stack's fake.
    pub api: String,
    pub account_sid: String,
    pub auth_token: Secret,
    /// The sender: a number (E.164) or a messaging service SID (`MG…`).
    pub from: String,
    /// Where Twilio reports each message's delivery (`{ROTA_API_URL}/webhooks/sms-status`); none
    /// without a public API URL.
    pub status_callback: Option<String>,
}

impl SmsSettings {
    /// The settings, when `ROTA_SMS_ACCOUNT_SID` is set (none: SMS is not offered); delivery is
    /// reported to the API at `api_url`, when it has one.
    pub fn from_env(api_url: Option<&str>) -> Option<Self> {
        let var = |name: &str| std::env::var(name).ok().filter(|value| !value.trim().is_empty());
        Some(Self {
            api: var("ROTA_SMS_API").unwrap_or_else(|| "https://api.twilio.com".into()),
            account_sid: var("ROTA_SMS_ACCOUNT_SID")?,
            auth_token: Secret::new(var("ROTA_SMS_AUTH_TOKEN")?),
            from: var("ROTA_SMS_FROM")?,
            status_callback: api_url.map(|url| format!("{url}/webhooks/sms-status")),
        })
    }
}

pub struct Sms {
    outbound: Outbound,
    path: String,
    authorization: http::HeaderValue,
    from: String,
    status_callback: Option<String>,
}

impl Sms {
    pub fn new(settings: SmsSettings) -> Result<Self, String> {
        let outbound = Outbound::new("ROTA_SMS_API", &settings.api, std::time::Duration::from_secs(10))?;
        let credentials = format!("{}:{}", settings.account_sid, settings.auth_token.expose());
        let mut authorization = http::HeaderValue::from_str(&format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(credentials)
        ))
        .map_err(|_| "ROTA_SMS_ACCOUNT_SID or ROTA_SMS_AUTH_TOKEN holds characters a header cannot carry".to_owned())?;
        authorization.set_sensitive(true);
        let path = format!("/2010-04-01/Accounts/{}/Messages.json", settings.account_sid);
        Ok(Self { outbound, path, authorization, from: settings.from, status_callback: settings.status_callback })
    }
}

/// The text of an SMS: the subject, then the message, within Twilio's limit (cut with `...`,
/// in the GSM alphabet, so a cut does not make every segment shorter).
fn body(message: &Rendered) -> String {
    let text = format!("{}\n\n{}", message.subject, message.text);
    if text.chars().count() <= MAX_BODY_CHARS {
        return text;
    }
    let mut cut: String = text.chars().take(MAX_BODY_CHARS - 3).collect();
    cut.push_str("...");
    cut
}

#[derive(Deserialize)]
struct Created {
    sid: String,
}

impl Channel for Sms {
    fn send<'a>(&'a self, to: &'a str, message: &'a Rendered) -> BoxFuture<'a, Result<Sent, SendError>> {
        Box::pin(async move {
            let form = {
                let mut form = form_urlencoded::Serializer::new(String::new());
                form.append_pair("To", to).append_pair("From", &self.from).append_pair("Body", &body(message));
                if let Some(callback) = &self.status_callback {
                    form.append_pair("StatusCallback", callback);
                }
                form.finish()
            };
            let request = http::Request::builder()
                .method(http::Method::POST)
                .uri(self.outbound.url(&self.path))
                .header(http::header::AUTHORIZATION, self.authorization.clone())
                .header(http::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(SdkBody::from(form))
                .map_err(|error| SendError::Refused(error.to_string()))?;
            let answer = self.outbound.send(request).await.map_err(|error| SendError::Unavailable(error.0))?;
            SendError::check(&answer)?;
            let created: Created = serde_json::from_slice(&answer.body)
                .map_err(|error| SendError::Unavailable(format!("unexpected answer: {error}")))?;
            Ok(Sent { provider_id: created.sid })
        })
    }

    fn units(&self, message: &Rendered) -> u32 {
        rota::notify::sms_segments(&body(message))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_message_is_cut_to_twilios_limit() {
        let long = Rendered { subject: "Shift".into(), text: "x".repeat(2000), html: String::new() };
        let text = body(&long);
        assert_eq!(text.chars().count(), MAX_BODY_CHARS);
        assert!(text.starts_with("Shift\n\nxx") && text.ends_with("..."));
        assert_eq!(rota::notify::sms_segments(&text), 11, "1,600 GSM characters: 11 segments of 153");
        let short = Rendered { subject: "Shift".into(), text: "Tomorrow 9:00".into(), html: String::new() };
        assert_eq!(body(&short), "Shift\n\nTomorrow 9:00");
    }
}
