//! Where a rendered message goes. Email through SES now; SMS or WhatsApp would be another
//! implementation of the same trait.

use aws_sdk_ses::types::{Body, Content, Destination, Message};
use rota::Error;
use rota::notify::Rendered;

pub trait Channel: Send + Sync {
    fn send<'a>(&'a self, to: &'a str, message: &'a Rendered)
    -> futures_util::future::BoxFuture<'a, Result<(), Error>>;
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
    fn send<'a>(
        &'a self,
        to: &'a str,
        message: &'a Rendered,
    ) -> futures_util::future::BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            let content = |text: &str| Content::builder().data(text).charset("UTF-8").build().map_err(Error::internal);
            let body = Body::builder().text(content(&message.text)?).html(content(&message.html)?).build();
            let email = Message::builder().subject(content(&message.subject)?).body(body).build();
            self.client
                .send_email()
                .source(&self.from)
                .destination(Destination::builder().to_addresses(to).build())
                .message(email)
                .send()
                .await
                .map_err(|error| Error::internal(aws_sdk_ses::error::DisplayErrorContext(error).to_string()))?;
            Ok(())
        })
    }
}
