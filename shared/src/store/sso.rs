//! Single sign-on: an organisation's identity providers (`T#{t}` / `SSO`), the email domains it
//! proved its own (`SSODOMAIN#{domain}`: one organisation per domain across the platform, with a
//! copy of its provider, so discovery is one read; written only once a DNS record proves the
//! domain, so nobody holds a domain by naming it first), and the sign-ins under way
//! (`OIDC#{sha256(nonce)}` in the secrets table: 10 minutes, used once).

use aws_sdk_dynamodb::types::{Delete, Put, ReturnValue, TransactWriteItem, Update};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use super::audit::AuditEntry;
use super::entities::Refused;
use super::{Store, from_item, key, keys, n, s, to_item, written};
use crate::Error;
use crate::store::people::OrganisationRole;

const SETTINGS_SK: &str = "SSO";
const DOMAIN_SK: &str = "SSODOMAIN";
const PENDING_SK: &str = "OIDC";

/// How long a sign-in started with `POST /auth/oidc/start` may take at the provider.
pub const PENDING_SECS: i64 = 10 * 60;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProviderKind {
    Google,
    Microsoft,
    Okta,
    /// Any other OpenID Connect provider.
    Oidc,
}

/// An identity provider the organisation signs in with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Provider {
    /// Stable for the same issuer and client (a digest of both).
    pub id: String,
    pub kind: ProviderKind,
    /// The provider's issuer (`https://accounts.google.com`,
    /// `https://login.microsoftonline.com/{tenant-id}/v2.0`, `https://{org}.okta.com`).
    pub issuer: String,
    /// Rota's client id at the provider: the audience of its ID tokens.
    pub client_id: String,
    /// The email domains it signs in; each belongs to one organisation.
    pub allowed_domains: Vec<String>,
    /// A person of an allowed domain who is not in the organisation yet is added at their first
    /// sign-in, with `default_role`.
    pub auto_provision: bool,
    pub default_role: OrganisationRole,
}

impl Provider {
    pub fn id_of(issuer: &str, client_id: &str) -> String {
        let digest = Sha256::digest(format!("{issuer}\n{client_id}").as_bytes());
        digest[..8].iter().map(|byte| format!("{byte:02x}")).collect()
    }
}

/// Whether people may still sign in with a password when providers are set up.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PasswordLogin {
    #[default]
    Allowed,
    /// Only owners keep their password (and second factor): the way in when the provider is down
    /// or misconfigured.
    Disabled,
}

/// The name under a domain whose TXT record proves it: `_rota-challenge.{domain}`.
pub const CHALLENGE_LABEL: &str = "_rota-challenge";

/// A domain the organisation proved its own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct VerifiedDomain {
    pub domain: String,
    pub verified_at: String,
}

/// An organisation's single sign-on settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SsoSettings {
    pub providers: Vec<Provider>,
    pub password_login: PasswordLogin,
    pub updated_at: Option<String>,
    /// What proves a domain is the organisation's: publish it as a TXT record at
    /// `_rota-challenge.{domain}`, then `POST /tenant/sso/domains/{domain}/verify`. The same for
    /// each of its domains; made with the first providers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain_verification: Option<String>,
    /// The domains proved (each of a provider above): only these send their people to a provider
    /// (`POST /auth/oidc/start`) and add people at their first sign-in.
    #[serde(default)]
    pub verified_domains: Vec<VerifiedDomain>,
}

impl SsoSettings {
    /// Every domain of every provider.
    pub fn domains(&self) -> impl Iterator<Item = &str> {
        self.providers.iter().flat_map(|provider| provider.allowed_domains.iter().map(String::as_str))
    }

    pub fn is_verified(&self, domain: &str) -> bool {
        self.verified_domains.iter().any(|verified| verified.domain == domain)
    }

    /// The provider that signs `domain` in, if one does.
    pub fn provider_of(&self, domain: &str) -> Option<&Provider> {
        self.providers.iter().find(|provider| provider.allowed_domains.iter().any(|own| own == domain))
    }

    /// A new `domain_verification` value: 128 random bits.
    pub fn new_verification() -> String {
        let mut bytes = [0u8; 16];
        rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut bytes);
        format!("rota-domain-verification={}", bytes.iter().map(|byte| format!("{byte:02x}")).collect::<String>())
    }
}

/// An email domain's organisation and provider.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DomainClaim {
    pub domain: String,
    pub tenant_id: String,
    pub provider: Provider,
}

/// A sign-in under way: the provider it went to, until it answers.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingSignIn {
    pub tenant_id: String,
    pub provider: Provider,
    pub expires_at: i64,
}

fn pending_key(nonce: &str) -> String {
    let digest = Sha256::digest(nonce.as_bytes());
    format!("OIDC#{}", digest.iter().map(|byte| format!("{byte:02x}")).collect::<String>())
}

fn domain_key(domain: &str) -> String {
    format!("SSODOMAIN#{domain}")
}

impl Store {
    /// The organisation's settings (the defaults when it has none).
    pub async fn sso_settings(&self, tenant_id: &str) -> Result<SsoSettings, Error> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::tenant(tenant_id), SETTINGS_SK)))
            .consistent_read(true)
            .send()
            .await?;
        output.item.map(from_item).transpose().map(Option::unwrap_or_default)
    }

    /// `domain`'s claim for the organisation with `provider`, for a transaction: refused if another
    /// organisation holds it.
    fn domain_claim(&self, tenant_id: &str, domain: &str, provider: &Provider) -> Result<TransactWriteItem, Error> {
        let claim =
            DomainClaim { domain: domain.to_owned(), tenant_id: tenant_id.to_owned(), provider: provider.clone() };
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(to_item(&claim, &[("pk", domain_key(domain)), ("sk", DOMAIN_SK.to_owned())])?))
            .condition_expression("attribute_not_exists(pk) OR tenant_id = :tenant")
            .expression_attribute_values(":tenant", s(tenant_id))
            .build()
            .map_err(Error::internal)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// The settings `after`, for a transaction: refused if they are no longer `before` (changed
    /// at the same time).
    fn settings_put(
        &self,
        tenant_id: &str,
        before: &SsoSettings,
        after: &SsoSettings,
    ) -> Result<TransactWriteItem, Error> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(to_item(after, &[("pk", keys::tenant(tenant_id)), ("sk", SETTINGS_SK.to_owned())])?));
        let put = match &before.updated_at {
            Some(at) => put.condition_expression("updated_at = :before").expression_attribute_values(":before", s(at)),
            None => put.condition_expression("attribute_not_exists(pk)"),
        };
        Ok(TransactWriteItem::builder().put(put.build().map_err(Error::internal)?).build())
    }

    /// Replaces the organisation's settings (`before` are the ones read): the settings, its
    /// verified domains' claims (with their provider as it is now) and the claims of those
    /// dropped given up, its password rule on the organisation, and the audit entry, in one
    /// transaction. `Refused` names the positions of `after.verified_domains` another
    /// organisation holds; the next one is the settings, changed at the same time.
    pub async fn put_sso_settings(
        &self,
        tenant_id: &str,
        before: &SsoSettings,
        after: &SsoSettings,
        audit: &AuditEntry,
    ) -> Result<Result<(), Refused>, Error> {
        let mut items = Vec::new();
        for verified in &after.verified_domains {
            let provider = after
                .provider_of(&verified.domain)
                .ok_or_else(|| Error::internal("a verified domain without its provider"))?;
            items.push(self.domain_claim(tenant_id, &verified.domain, provider)?);
        }
        for domain in before
            .verified_domains
            .iter()
            .map(|verified| verified.domain.as_str())
            .filter(|domain| !after.is_verified(domain))
        {
            let delete = Delete::builder()
                .table_name(&self.table)
                .set_key(Some(key(domain_key(domain), DOMAIN_SK)))
                .condition_expression("attribute_not_exists(pk) OR tenant_id = :tenant")
                .expression_attribute_values(":tenant", s(tenant_id))
                .build()
                .map_err(Error::internal)?;
            items.push(TransactWriteItem::builder().delete(delete).build());
        }
        items.push(self.settings_put(tenant_id, before, after)?);
        let password_login = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::tenant(tenant_id), keys::TENANT_SK)))
            .update_expression("SET password_login = :rule")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":rule", super::value(&after.password_login)?)
            .build()
            .map_err(Error::internal)?;
        items.push(TransactWriteItem::builder().update(password_login).build());
        items.push(self.audit_put(audit)?);
        self.transact(items).await
    }

    /// Records `domain` proved the organisation's: its claim (refused, at position 0, if another
    /// organisation holds it), the settings `after` (refused, at 1, if no longer `before`) and the
    /// audit entry, in one transaction.
    pub async fn put_verified_domain(
        &self,
        tenant_id: &str,
        (before, after): (&SsoSettings, &SsoSettings),
        domain: &str,
        audit: &AuditEntry,
    ) -> Result<Result<(), Refused>, Error> {
        let provider =
            after.provider_of(domain).ok_or_else(|| Error::internal("a verified domain without its provider"))?;
        let items = vec![
            self.domain_claim(tenant_id, domain, provider)?,
            self.settings_put(tenant_id, before, after)?,
            self.audit_put(audit)?,
        ];
        self.transact(items).await
    }

    /// The organisation and provider of an email domain, if one proved it.
    pub async fn sso_domain(&self, domain: &str) -> Result<Option<DomainClaim>, Error> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(domain_key(domain), DOMAIN_SK)))
            .send()
            .await?;
        output.item.map(from_item).transpose()
    }

    /// Records a sign-in under way, under its nonce.
    pub async fn put_pending_sign_in(&self, nonce: &str, pending: &PendingSignIn) -> Result<(), Error> {
        let item = to_item(pending, &[("pk", pending_key(nonce)), ("sk", PENDING_SK.to_owned())])?;
        self.client.put_item().table_name(self.secrets()?).set_item(Some(item)).send().await?;
        Ok(())
    }

    /// Takes the sign-in under way of `nonce`, once and before it expires (one conditional
    /// delete): none when it was taken before, has expired or never was.
    pub async fn take_pending_sign_in(&self, nonce: &str, now: i64) -> Result<Option<PendingSignIn>, Error> {
        let result = self
            .client
            .delete_item()
            .table_name(self.secrets()?)
            .set_key(Some(key(pending_key(nonce), PENDING_SK)))
            .condition_expression("expires_at > :now")
            .expression_attribute_values(":now", n(now))
            .return_values(ReturnValue::AllOld)
            .send()
            .await;
        match result {
            Ok(output) => output.attributes.map(from_item).transpose(),
            Err(error) => {
                written(Err::<(), _>(error))?;
                Ok(None)
            }
        }
    }
}
