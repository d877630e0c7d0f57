//! SCIM 2.0 provisioning's records: the organisation's SCIM token (only its SHA-256, on the tenant
//! item as `scim_token`, so the read that gates every SCIM request finds it) and each provisioned
//! person's `userName` (`T#{t}` / `SCIMUSER#{lower-cased userName}` → the person: unique within
//! the organisation, and how a `userName eq "…"` filter finds someone whose `userName` is not
//! their email).

use aws_sdk_dynamodb::types::{Put, TransactWriteItem, Update};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::audit::AuditEntry;
use super::links::PendingInvitation;
use super::people::EmailClaim;
use super::{Store, from_item, key, keys, s, to_item, value};
use crate::Error;

/// What a person provisioned by the organisation's identity provider carries besides Rota's own
/// fields: the directory's names for them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ScimLink {
    /// The directory's unique name for the person (Entra's user principal name, Okta's login).
    pub user_name: String,
    /// The directory's own id of the person (Entra's object id, Okta's user id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family_name: Option<String>,
}

/// The organisation's SCIM token as stored: never the token itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScimToken {
    /// SHA-256 of the token (URL-safe base64, as [`crate::auth::one_time::hash`] makes it).
    pub hash: String,
    pub created_at: String,
}

/// The prefix every SCIM token starts with (secret scanners match on it), before the
/// organisation's id: the id names which organisation's stored hash to compare with, so the
/// check is read in the same round trip as the request's own data.
pub const TOKEN_PREFIX: &str = "rota_scim_";

fn user_sk(user_name: &str) -> String {
    format!("SCIMUSER#{}", user_name.to_lowercase())
}

#[derive(Deserialize)]
struct UserNameItem {
    person_id: String,
}

/// How a `userName` leads to a person of the organisation: the name a provisioning gave them,
/// or else an address of theirs (a member's claim, an invitation waiting).
#[derive(Debug, Default)]
pub struct UserNameMatch {
    pub provisioned: Option<String>,
    pub claim: Option<EmailClaim>,
    pub invitation: Option<PendingInvitation>,
}

impl UserNameMatch {
    /// The person of `tenant_id` it names, if any.
    pub fn person_id(self, tenant_id: &str) -> Option<String> {
        self.provisioned
            .or_else(|| self.claim.filter(|claim| claim.tenant_id == tenant_id).map(|claim| claim.person_id))
            .or_else(|| self.invitation.map(|invitation| invitation.person_id))
    }
}

impl Store {
    /// Replaces the organisation's SCIM token with `token` (or removes it: `None`), with the
    /// audit entry, in one transaction. The token that was valid stops at once.
    pub async fn set_scim_token(
        &self,
        tenant_id: &str,
        token: Option<&ScimToken>,
        audit: &AuditEntry,
    ) -> Result<(), Error> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::tenant(tenant_id), keys::TENANT_SK)))
            .condition_expression("attribute_exists(pk)");
        let update = match token {
            Some(token) => {
                update.update_expression("SET scim_token = :token").expression_attribute_values(":token", value(token)?)
            }
            None => update.update_expression("REMOVE scim_token"),
        };
        let items = vec![
            TransactWriteItem::builder().update(update.build().map_err(Error::internal)?).build(),
            self.audit_put(audit)?,
        ];
        crate::records::committed(self.transact(items).await?)
    }

    /// Who `user_name` names in the organisation (one `BatchGetItem`): the person provisioned
    /// under it, and the member or invitation of that address when it is one.
    pub async fn scim_user_name(&self, tenant_id: &str, user_name: &str) -> Result<UserNameMatch, Error> {
        let address = user_name.trim().to_lowercase();
        let wanted = [
            key(keys::tenant(tenant_id), user_sk(user_name)),
            key(keys::email(&address), keys::EMAIL_SK),
            key(keys::tenant(tenant_id), keys::invitation_sk(&address)),
        ];
        let mut found = self.batch_get(&wanted).await?.into_iter();
        let mut next = || found.next().flatten();
        Ok(UserNameMatch {
            provisioned: next().map(from_item::<UserNameItem>).transpose()?.map(|item| item.person_id),
            claim: next().map(from_item).transpose()?,
            invitation: next().map(from_item).transpose()?,
        })
    }

    /// `user_name` given to `person_id`, for a transaction: refused when it names someone else
    /// of the organisation.
    pub fn scim_user_name_put(
        &self,
        tenant_id: &str,
        user_name: &str,
        person_id: &str,
    ) -> Result<TransactWriteItem, Error> {
        let item = to_item(
            &serde_json::json!({ "person_id": person_id }),
            &[("pk", keys::tenant(tenant_id)), ("sk", user_sk(user_name))],
        )?;
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk) OR person_id = :person")
            .expression_attribute_values(":person", s(person_id))
            .build()
            .map_err(Error::internal)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// A `userName` given up (the directory renamed the person), for a transaction.
    pub fn scim_user_name_release(&self, tenant_id: &str, user_name: &str) -> Result<TransactWriteItem, Error> {
        self.removal(key(keys::tenant(tenant_id), user_sk(user_name)))
    }
}
