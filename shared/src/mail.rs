//! Email, through SES. Every message Rota sends is a [`Mail`]: its subject and text are written
//! here, in one place. (When the notifier worker arrives, handlers will enqueue these instead
//! and the notifier will send them.)

use aws_sdk_ses::types::{Body, Content, Destination, Message};

use crate::Error;

/// Sends mail from `ROTA_MAIL_FROM`; links point into the frontend at `ROTA_APP_URL`.
#[derive(Clone)]
pub struct Mailer {
    client: aws_sdk_ses::Client,
    from: String,
    app_url: String,
}

/// A message to one person.
#[derive(Debug, Clone)]
pub enum Mail {
    /// The link that finishes a sign-up (`{app}/verify-email?token=…`).
    VerifySignup { to: String, organisation: String, token: String, valid_hours: i64 },
    /// Someone tried to sign up with an email that already has an account.
    SignupAttempt { to: String },
    /// An admin added this person: the link sets their password (`{app}/accept-invitation?token=…`).
    Invitation { to: String, name: String, organisation: String, token: String, valid_hours: i64 },
    /// The link that sets a new password (`{app}/reset-password?token=…`).
    PasswordReset { to: String, token: String, valid_minutes: i64 },
}

impl Mailer {
    pub fn new(client: aws_sdk_ses::Client, from: String, app_url: String) -> Self {
        Self { client, from, app_url: app_url.trim_end_matches('/').to_owned() }
    }

    pub async fn send(&self, mail: Mail) -> Result<(), Error> {
        let (to, subject, text) = self.render(mail);
        let content = |text: String| Content::builder().data(text).charset("UTF-8").build().map_err(Error::internal);
        let message =
            Message::builder().subject(content(subject)?).body(Body::builder().text(content(text)?).build()).build();
        self.client
            .send_email()
            .source(&self.from)
            .destination(Destination::builder().to_addresses(to).build())
            .message(message)
            .send()
            .await
            .map_err(|error| Error::internal(aws_sdk_ses::error::DisplayErrorContext(error).to_string()))?;
        Ok(())
    }

    /// Recipient, subject and text.
    fn render(&self, mail: Mail) -> (String, String, String) {
        match mail {
            Mail::VerifySignup { to, organisation, token, valid_hours } => {
                let link = format!("{}/verify-email?token={token}", self.app_url);
                let text = format!(
                    "Welcome to Rota.\n\nTo finish setting up {organisation}, confirm your email address:\n\n{link}\n\n\
                     The link works once, for {valid_hours} hours. If you did not sign up, ignore this email: \
                     nothing is created until the link is followed."
                );
                (to, "Confirm your email to finish signing up".into(), text)
            }
            Mail::Invitation { to, name, organisation, token, valid_hours } => {
                let link = format!("{}/accept-invitation?token={token}", self.app_url);
                let text = format!(
                    "Hello {name},\n\nyou have been invited to join {organisation} on Rota. Choose your password \
                     here to get started:\n\n{link}\n\nThe link works once, for {valid_hours} hours."
                );
                (to, format!("You are invited to join {organisation} on Rota"), text)
            }
            Mail::PasswordReset { to, token, valid_minutes } => {
                let link = format!("{}/reset-password?token={token}", self.app_url);
                let text = format!(
                    "To choose a new password for Rota, follow this link:\n\n{link}\n\nIt works once, for \
                     {valid_minutes} minutes, and logs you out everywhere. If you did not ask for it, ignore this \
                     email: your password stays as it is."
                );
                (to, "Reset your Rota password".into(), text)
            }
            Mail::SignupAttempt { to } => {
                let link = format!("{}/login", self.app_url);
                let text = format!(
                    "Someone just tried to sign up for Rota with this email address, which already has an \
                     account. If it was you, log in instead: {link}\n\nIf it was not, you can ignore this email: \
                     nothing has changed."
                );
                (to, "Someone tried to sign up with your email".into(), text)
            }
        }
    }
}
