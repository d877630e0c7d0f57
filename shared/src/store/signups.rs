//! Sign-ups waiting for their email to be confirmed. Keyed by the hash of the emailed token and
//! expiring (TTL) with it; they claim nothing, so an unconfirmed sign-up never blocks an email.
//! They hold a password hash, so they are in the secrets table.

use serde::{Deserialize, Serialize};

use super::{Store, from_item, key, keys, to_item};
use crate::Error;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingSignup {
    pub token_hash: String,
    pub organisation_name: String,
    pub name: String,
    pub email: String,
    pub password_hash: String,
    pub created_at: String,
    /// Epoch seconds; also the table's TTL attribute. TTL deletes late, so reads check it too.
    pub expires_at: i64,
    /// Its lead in the operator's CRM, marked converted when the sign-up is confirmed (none for
    /// sign-ups made before leads were).
    #[serde(default)]
    pub lead_id: Option<String>,
}

impl Store {
    pub async fn put_pending_signup(&self, signup: &PendingSignup) -> Result<(), Error> {
        let item = to_item(signup, &[("pk", keys::signup(&signup.token_hash)), ("sk", keys::SIGNUP_SK.into())])?;
        self.client.put_item().table_name(self.secrets()?).set_item(Some(item)).send().await?;
        Ok(())
    }

    /// The unexpired sign-up a token stands for.
    pub async fn pending_signup(&self, token_hash: &str, now: i64) -> Result<Option<PendingSignup>, Error> {
        let output = self
            .client
            .get_item()
            .table_name(self.secrets()?)
            .set_key(Some(key(keys::signup(token_hash), keys::SIGNUP_SK)))
            .consistent_read(true)
            .send()
            .await?;
        let signup: Option<PendingSignup> = output.item.map(from_item).transpose()?;
        Ok(signup.filter(|signup| signup.expires_at > now))
    }
}
