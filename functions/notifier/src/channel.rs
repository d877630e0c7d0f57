//! Where a rendered message goes: email through SES, SMS through a Twilio-compatible API
//! ([`crate::sms`]) and WhatsApp through the Cloud API ([`crate::whatsapp`]), each behind
//! [`Channel`]. A failed send says how it failed, so the notifier can try the person's next
//! channel.

use aws_sdk_ses::types::{Body, Content, Destination, Message};
use futures_util::future::BoxFuture;
use rota::notify::Rendered;
use rota::outbound::Answer;

pub trait Channel: Send + Sync {
    fn send<'a>(&'a self, to: &'a str, message: &'a Rendered) -> BoxFuture<'a, Result<Sent, SendError>>;

    /// What the provider bills `message` as, in units of the channel's price: one message, or
    /// the segments of an SMS.
    fn units(&self, _message: &Rendered) -> u32 {
        1
    }
}

/// A message a provider took: its id for it (`SM…`, `wamid.…`, SES's message id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    pub provider_id: String,
}

/// Why a channel did not take a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The provider asked to slow down (HTTP 429), for `retry_after_secs` if it said.
    #[error("the provider is throttling (retry after {retry_after_secs:?} s)")]
    Throttled { retry_after_secs: Option<u64> },
    /// No answer in time, unreachable, or a 5xx: worth trying again later.
    #[error("the provider is unavailable: {0}")]
    Unavailable(String),
    /// The provider refused this message (a bad number, a misconfiguration): not worth again.
    #[error("the provider refused the message: {0}")]
    Refused(String),
}

impl SendError {
    /// A provider's answer as a send's outcome: a 2xx is none.
    pub fn check(answer: &Answer) -> Result<(), Self> {
        match answer.status {
            200..=299 => Ok(()),
            429 => Err(Self::Throttled { retry_after_secs: answer.retry_after_secs }),
            500..=599 => Err(Self::Unavailable(format!("HTTP {}", answer.status))),
            status => {
                let body: String = String::from_utf8_lossy(&answer.body).chars().take(300).collect();
                Err(Self::Refused(format!("HTTP {status}: {body}")))
            }
        }
    }
}

/// Email through SES, from `ROTA_MAIL_FROM`.
pub struct Ses {
    client: aws_sdk_ses::Client,
    from: String,
}

impl Ses {
    pub fn new(client: aws_sdk_ses::Client, from: String) -> Self {
        Self { client, from }
    }
}

impl Channel for Ses {
    fn send<'a>(&'a self, to: &'a str, message: &'a Rendered) -> BoxFuture<'a, Result<Sent, SendError>> {
        Box::pin(async move {
            let content = |text: &str| {
                Content::builder()
                    .data(text)
                    .charset("UTF-8")
                    .build()
                    .map_err(|error| SendError::Refused(error.to_string()))
            };
            let body = Body::builder().text(content(&message.text)?).html(content(&message.html)?).build();
            let email = Message::builder().subject(content(&message.subject)?).body(body).build();
            let sent = self
                .client
                .send_email()
                .source(&self.from)
                .destination(Destination::builder().to_addresses(to).build())
                .message(email)
                .send()
                .await
                .map_err(|error| SendError::Unavailable(aws_sdk_ses::error::DisplayErrorContext(error).to_string()))?;
            Ok(Sent { provider_id: sent.message_id })
        })
    }
}
