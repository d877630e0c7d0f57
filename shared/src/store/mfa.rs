//! Two-factor authentication: a person's enrolment (`T#{t}` / `MFA#{p}`: the TOTP secret, the
//! newest time step accepted, the hashes of unused recovery codes, a secret waiting to be
//! confirmed) and logins waiting for their second factor (`T#{t}#MFA_LOGIN#{token hash}`,
//! expiring with TTL), both in the secrets table (the auth function only).
//!
//! Every once-only rule is a condition of the write that uses the thing up, never a read first:
//! a TOTP code is taken only for a step later than the newest one taken (`last_step < :step`), a
//! recovery code only while it is still in the set (`contains`), a waiting login only while it
//! exists. Completing a login does all of that and writes the session in one transaction, so of
//! two requests with the same code exactly one gets a session. Turning 2FA on or off changes the
//! enrolment and the credential's copy of the flag (login reads only the credential) together.

use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem, Update};
use serde::{Deserialize, Serialize};

use super::people::Person;
use super::sessions::Session;
use super::tenants::TenantGate;
use super::{In, Item, Store, failed_conditions, from_item, key, keys, n, s, to_item, written};
use crate::Error;

/// A person's two-factor enrolment as stored.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Enrolment {
    /// The shared TOTP secret, sealed ([`crate::auth::totp_keys`]); present exactly while 2FA is
    /// on. Conditions compare the sealed form.
    pub secret: Option<String>,
    /// A secret from `POST /auth/2fa/setup`, waiting for its first code (sealed).
    pub pending_secret: Option<String>,
    /// The newest TOTP time step accepted: codes of it and older steps are refused.
    #[serde(default)]
    pub last_step: i64,
    /// SHA-256 hashes of the recovery codes not used yet.
    #[serde(default)]
    pub recovery: Vec<String>,
}

impl Enrolment {
    pub fn is_on(&self) -> bool {
        self.secret.is_some()
    }
}

/// A login whose password was right, waiting for its second factor.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MfaLogin {
    pub token_hash: String,
    pub tenant_id: String,
    pub person_id: String,
    pub created_at: String,
    /// Epoch seconds; also the table's TTL attribute. TTL deletes late, so reads check it too.
    pub expires_at: i64,
}

impl MfaLogin {
    pub fn is_live(&self, now: i64) -> bool {
        self.expires_at > now
    }
}

/// The second factor a request uses up.
#[derive(Debug, Clone, Copy)]
pub enum Factor<'a> {
    /// A TOTP code of this time step.
    Step(i64),
    /// The recovery code with this hash.
    Recovery(&'a str),
}

/// What completing a login reads, in one round trip.
pub struct MfaLoginContext {
    pub login: Option<MfaLogin>,
    pub enrolment: Option<Enrolment>,
    pub person: Option<Person>,
    pub tenant: Option<TenantGate>,
}

/// Turning 2FA on: the pending secret becomes the secret, its first code's step the newest one
/// taken, and the session it happens in counts as having passed 2FA.
pub struct Enable<'a> {
    pub tenant_id: &'a str,
    pub person_id: &'a str,
    pub email: &'a str,
    pub session_id: &'a str,
    pub secret: &'a str,
    pub step: i64,
    pub recovery_hashes: &'a [String],
    pub now: &'a str,
}

/// Why turning 2FA on did not happen.
#[derive(Debug, PartialEq, Eq)]
pub enum NotEnabled {
    /// 2FA was turned on meanwhile, or another setup replaced the secret.
    Changed,
    /// The session the request came from has ended.
    SessionEnded,
}

/// Why completing a login did not happen.
#[derive(Debug, PartialEq, Eq)]
pub enum NotCompleted {
    /// The login token or the code was used meanwhile (or the login expired, or 2FA went off).
    Used,
    /// The organisation was suspended meanwhile.
    Suspended,
}

impl Store {
    fn enrolment_key(tenant_id: &str, person_id: &str) -> Item {
        key(keys::tenant(tenant_id), keys::mfa_sk(person_id))
    }

    /// The person and their enrolment, strongly consistent, in one round trip.
    pub async fn person_and_enrolment(
        &self,
        tenant_id: &str,
        person_id: &str,
    ) -> Result<(Option<Person>, Option<Enrolment>), Error> {
        let wanted = [
            (In::Main, key(keys::tenant(tenant_id), keys::person_sk(person_id))),
            (In::Secrets, Self::enrolment_key(tenant_id, person_id)),
        ];
        let mut items = self.batch_get_from(&wanted).await?.into_iter();
        let person = items.next().flatten().map(from_item).transpose()?;
        let enrolment = items.next().flatten().map(from_item).transpose()?;
        Ok((person, enrolment))
    }

    /// Keeps `secret` as the one waiting for its first code (replacing any earlier one), unless
    /// 2FA is on. `false` (nothing written) when it is.
    pub async fn set_pending_secret(
        &self,
        tenant_id: &str,
        person_id: &str,
        secret: &str,
        now: &str,
    ) -> Result<bool, Error> {
        let result = self
            .client
            .update_item()
            .table_name(self.secrets()?)
            .set_key(Some(Self::enrolment_key(tenant_id, person_id)))
            .update_expression("SET pending_secret = :secret, person_id = :person, updated_at = :now")
            .condition_expression("attribute_not_exists(secret)")
            .expression_attribute_values(":secret", s(secret))
            .expression_attribute_values(":person", s(person_id))
            .expression_attribute_values(":now", s(now))
            .send()
            .await;
        written(result)
    }

    /// Turns 2FA on in one transaction: the enrolment (only while `secret` is still the pending
    /// one and 2FA is off), the credential's flag and the session's.
    pub async fn enable_mfa(&self, enable: Enable<'_>) -> Result<Result<(), NotEnabled>, Error> {
        let enrolment = Update::builder()
            .table_name(self.secrets()?)
            .set_key(Some(Self::enrolment_key(enable.tenant_id, enable.person_id)))
            .update_expression(
                "SET secret = :secret, last_step = :step, recovery = :codes, enabled_at = :now, updated_at = :now \
                 REMOVE pending_secret",
            )
            .condition_expression("pending_secret = :secret AND attribute_not_exists(secret)")
            .expression_attribute_values(":secret", s(enable.secret))
            .expression_attribute_values(":step", n(enable.step))
            .expression_attribute_values(":codes", AttributeValue::Ss(enable.recovery_hashes.to_vec()))
            .expression_attribute_values(":now", s(enable.now))
            .build()
            .map_err(Error::internal)?;
        let session = Update::builder()
            .table_name(self.secrets()?)
            .set_key(Some(key(keys::session(enable.tenant_id, enable.session_id), keys::SESSION_SK)))
            .update_expression("SET mfa = :yes")
            .condition_expression("person_id = :person")
            .expression_attribute_values(":yes", AttributeValue::Bool(true))
            .expression_attribute_values(":person", s(enable.person_id))
            .build()
            .map_err(Error::internal)?;
        // The order matters below: a failed condition is reported by position.
        let result = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().update(enrolment).build())
            .transact_items(self.credential_flag(enable.email, enable.person_id, true)?)
            .transact_items(TransactWriteItem::builder().update(session).build())
            .send()
            .await;
        match result {
            Ok(_) => Ok(Ok(())),
            Err(error) => match failed_conditions(&error) {
                Some(failed) if failed.contains(&0) => Ok(Err(NotEnabled::Changed)),
                Some(failed) if failed.contains(&2) => Ok(Err(NotEnabled::SessionEnded)),
                _ => Err(error.into()),
            },
        }
    }

    /// Turns 2FA off in one transaction, using up `factor` (only while `secret` is still the
    /// secret): the enrolment is deleted and the credential's flag cleared. `false` (nothing
    /// written) when the factor was used meanwhile or 2FA changed.
    pub async fn disable_mfa(
        &self,
        tenant_id: &str,
        person_id: &str,
        email: &str,
        secret: &str,
        factor: Factor<'_>,
    ) -> Result<bool, Error> {
        let (condition, value) = factor_condition(factor);
        let delete = Delete::builder()
            .table_name(self.secrets()?)
            .set_key(Some(Self::enrolment_key(tenant_id, person_id)))
            .condition_expression(format!("secret = :secret AND {condition}"))
            .expression_attribute_values(":secret", s(secret))
            .expression_attribute_values(":factor", value)
            .build()
            .map_err(Error::internal)?;
        let result = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().delete(delete).build())
            .transact_items(self.credential_flag(email, person_id, false)?)
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(error) if failed_conditions(&error).is_some_and(|failed| failed.contains(&0)) => Ok(false),
            Err(error) => Err(error.into()),
        }
    }

    /// Resets 2FA for someone who lost their device (the platform admin, on the organisation's
    /// word): while 2FA is on, in one transaction, the enrolment is deleted, the credential's flag
    /// cleared and `audit` written. `false` (nothing written) when 2FA is not on.
    pub async fn reset_mfa(&self, person: &Person, audit: &crate::store::audit::AuditEntry) -> Result<bool, Error> {
        let delete = Delete::builder()
            .table_name(self.secrets()?)
            .set_key(Some(Self::enrolment_key(&person.tenant_id, &person.id)))
            .condition_expression("attribute_type(secret, :string)")
            .expression_attribute_values(":string", s("S"))
            .build()
            .map_err(Error::internal)?;
        let items = vec![
            TransactWriteItem::builder().delete(delete).build(),
            self.credential_flag(&person.email, &person.id, false)?,
            self.audit_put(audit)?,
        ];
        match self.transact(items).await? {
            Ok(()) => Ok(true),
            Err(_) => Ok(false),
        }
    }

    /// A transaction's update of the credential's copy of the 2FA flag.
    fn credential_flag(&self, email: &str, person_id: &str, on: bool) -> Result<TransactWriteItem, Error> {
        let update = Update::builder()
            .table_name(self.secrets()?)
            .set_key(Some(Self::credential_key(email)))
            .update_expression("SET mfa = :on")
            .condition_expression("person_id = :person")
            .expression_attribute_values(":on", AttributeValue::Bool(on))
            .expression_attribute_values(":person", s(person_id))
            .build()
            .map_err(Error::internal)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    pub async fn put_mfa_login(&self, login: &MfaLogin) -> Result<(), Error> {
        let item = to_item(
            login,
            &[("pk", keys::mfa_login(&login.tenant_id, &login.token_hash)), ("sk", keys::MFA_LOGIN_SK.into())],
        )?;
        self.client.put_item().table_name(self.secrets()?).set_item(Some(item)).send().await?;
        Ok(())
    }

    /// The waiting login, the person's enrolment, the person and the organisation, strongly
    /// consistent, in one `BatchGetItem`.
    pub async fn mfa_login_context(
        &self,
        tenant_id: &str,
        person_id: &str,
        token_hash: &str,
    ) -> Result<MfaLoginContext, Error> {
        let wanted = [
            (In::Secrets, key(keys::mfa_login(tenant_id, token_hash), keys::MFA_LOGIN_SK)),
            (In::Secrets, Self::enrolment_key(tenant_id, person_id)),
            (In::Main, key(keys::tenant(tenant_id), keys::person_sk(person_id))),
            (In::Main, key(keys::tenant(tenant_id), keys::TENANT_SK)),
        ];
        let mut items = self.batch_get_from(&wanted).await?.into_iter();
        let mut next = || items.next().flatten();
        Ok(MfaLoginContext {
            login: next().map(from_item).transpose()?,
            enrolment: next().map(from_item).transpose()?,
            person: next().map(from_item).transpose()?,
            tenant: next().map(TenantGate::from_item).transpose()?,
        })
    }

    /// Completes a login in one transaction: the waiting login used up (while it lives), the
    /// factor used up (while `secret` is the secret), the new session written, and the
    /// organisation checked to be active.
    pub async fn complete_mfa_login(
        &self,
        login: &MfaLogin,
        secret: &str,
        factor: Factor<'_>,
        session: &Session,
        now: i64,
    ) -> Result<Result<(), NotCompleted>, Error> {
        let consume = Delete::builder()
            .table_name(self.secrets()?)
            .set_key(Some(key(keys::mfa_login(&login.tenant_id, &login.token_hash), keys::MFA_LOGIN_SK)))
            .condition_expression("attribute_exists(pk) AND expires_at > :now")
            .expression_attribute_values(":now", n(now))
            .build()
            .map_err(Error::internal)?;
        let (condition, value) = factor_condition(factor);
        let use_factor = Update::builder()
            .table_name(self.secrets()?)
            .set_key(Some(Self::enrolment_key(&login.tenant_id, &login.person_id)))
            .condition_expression(format!("secret = :secret AND {condition}"))
            .expression_attribute_values(":secret", s(secret))
            .expression_attribute_values(":factor", value);
        let use_factor = match factor {
            Factor::Step(_) => use_factor.update_expression("SET last_step = :factor"),
            Factor::Recovery(hash) => use_factor
                .update_expression("DELETE recovery :used")
                .expression_attribute_values(":used", AttributeValue::Ss(vec![hash.to_owned()])),
        };
        let put = Put::builder()
            .table_name(self.secrets()?)
            .set_item(Some(self.session_item(session)?))
            .build()
            .map_err(Error::internal)?;
        // The order matters below: a failed condition is reported by position.
        let result = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().delete(consume).build())
            .transact_items(TransactWriteItem::builder().update(use_factor.build().map_err(Error::internal)?).build())
            .transact_items(TransactWriteItem::builder().put(put).build())
            .transact_items(self.tenant_is_active(&login.tenant_id)?)
            .send()
            .await;
        match result {
            Ok(_) => Ok(Ok(())),
            Err(error) => match failed_conditions(&error) {
                Some(failed) if failed.contains(&3) => Ok(Err(NotCompleted::Suspended)),
                Some(failed) if !failed.is_empty() => Ok(Err(NotCompleted::Used)),
                _ => Err(error.into()),
            },
        }
    }
}

/// The condition under which `factor` is still unused, and the value it compares with
/// (`:factor`): a step later than the newest one taken, or a recovery code still in the set.
fn factor_condition(factor: Factor<'_>) -> (&'static str, AttributeValue) {
    match factor {
        Factor::Step(step) => ("(attribute_not_exists(last_step) OR last_step < :factor)", n(step)),
        Factor::Recovery(hash) => ("contains(recovery, :factor)", s(hash)),
    }
}
