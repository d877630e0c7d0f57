//! WhatsApp through a WhatsApp Cloud API-compatible endpoint: `POST /{version}/{phone_number_id}/
//! messages`, JSON, a bearer token. Rota writes first (a business-initiated conversation), which
//! WhatsApp allows only with an approved template: one template (`ROTA_WHATSAPP_TEMPLATE`, e.g.
//! `rota_notification`: "{{1}}: {{2}}") carries every message, its subject and its text.
//! https://developers.facebook.com/docs/whatsapp/cloud-api/guides/send-message-templates

use aws_smithy_types::body::SdkBody;
use futures_util::future::BoxFuture;
use rota::config::Secret;
use rota::notify::Rendered;
use rota::outbound::Outbound;
use serde::Deserialize;
use serde_json::json;

use crate::channel::{Channel, SendError, Sent};

/// WhatsApp's limit for a template's text parameter; parameters hold no line breaks.
const MAX_PARAMETER_CHARS: usize = 1024;
const API_VERSION: &str = "v21.0";

/// `ROTA_WHATSAPP_*`: the business number messages come from and its template.
pub struct WhatsAppSettings {
    /// Default `https://graph.facebook.com`; locally the stack's fake.
    pub api: String,
    pub phone_number_id: String,
    pub token: Secret,
    pub template: String,
    /// The template's language (`en`, `en_GB`, …).
    pub language: String,
}

impl WhatsAppSettings {
    /// The settings, when `ROTA_WHATSAPP_PHONE_NUMBER_ID` is set (none: WhatsApp is not offered).
    pub fn from_env() -> Option<Self> {
        let var = |name: &str| std::env::var(name).ok().filter(|value| !value.trim().is_empty());
        Some(Self {
            api: var("ROTA_WHATSAPP_API").unwrap_or_else(|| "https://graph.facebook.com".into()),
            phone_number_id: var("ROTA_WHATSAPP_PHONE_NUMBER_ID")?,
            token: Secret::new(var("ROTA_WHATSAPP_TOKEN")?),
            template: var("ROTA_WHATSAPP_TEMPLATE").unwrap_or_else(|| "rota_notification".into()),
            language: var("ROTA_WHATSAPP_LANGUAGE").unwrap_or_else(|| "en".into()),
        })
    }
}

pub struct WhatsApp {
    outbound: Outbound,
    path: String,
    authorization: http::HeaderValue,
    template: String,
    language: String,
}

impl WhatsApp {
    pub fn new(settings: WhatsAppSettings) -> Result<Self, String> {
        let outbound = Outbound::new("ROTA_WHATSAPP_API", &settings.api, std::time::Duration::from_secs(10))?;
        let mut authorization = http::HeaderValue::from_str(&format!("Bearer {}", settings.token.expose()))
            .map_err(|_| "ROTA_WHATSAPP_TOKEN holds characters a header cannot carry".to_owned())?;
        authorization.set_sensitive(true);
        let path = format!("/{API_VERSION}/{}/messages", settings.phone_number_id);
        Ok(Self { outbound, path, authorization, template: settings.template, language: settings.language })
    }
}

/// A template parameter: one line, within WhatsApp's limit.
fn parameter(text: &str) -> String {
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() <= MAX_PARAMETER_CHARS {
        return line;
    }
    let mut cut: String = line.chars().take(MAX_PARAMETER_CHARS - 1).collect();
    cut.push('…');
    cut
}

#[derive(Deserialize)]
struct Accepted {
    messages: Vec<MessageId>,
}

#[derive(Deserialize)]
struct MessageId {
    id: String,
}

impl Channel for WhatsApp {
    fn send<'a>(&'a self, to: &'a str, message: &'a Rendered) -> BoxFuture<'a, Result<Sent, SendError>> {
        Box::pin(async move {
            let text = |text: &str| json!({ "type": "text", "text": parameter(text) });
            let payload = json!({
                "messaging_product": "whatsapp",
                "recipient_type": "individual",
                // The Cloud API takes the number's digits, without the `+`.
                "to": to.trim_start_matches('+'),
                "type": "template",
                "template": {
                    "name": self.template,
                    "language": { "code": self.language },
                    "components": [{ "type": "body", "parameters": [text(&message.subject), text(&message.text)] }],
                },
            });
            let request = http::Request::builder()
                .method(http::Method::POST)
                .uri(self.outbound.url(&self.path))
                .header(http::header::AUTHORIZATION, self.authorization.clone())
                .header(http::header::CONTENT_TYPE, "application/json")
                .body(SdkBody::from(payload.to_string()))
                .map_err(|error| SendError::Refused(error.to_string()))?;
            let answer = self.outbound.send(request).await.map_err(|error| SendError::Unavailable(error.0))?;
            SendError::check(&answer)?;
            let accepted: Accepted = serde_json::from_slice(&answer.body)
                .map_err(|error| SendError::Unavailable(format!("unexpected answer: {error}")))?;
            let id = accepted.messages.into_iter().next().map(|message| message.id);
            Ok(Sent { provider_id: id.unwrap_or_default() })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_parameter_is_one_line_within_whatsapps_limit() {
        assert_eq!(parameter("Shift tomorrow\n\nat   9:00"), "Shift tomorrow at 9:00");
        let long = parameter(&"word ".repeat(400));
        assert_eq!(long.chars().count(), MAX_PARAMETER_CHARS);
        assert!(long.ends_with('…'));
    }
}
