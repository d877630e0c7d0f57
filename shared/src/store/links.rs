//! Emailed one-time links: invitations (72 h) and password resets (30 min).
//!
//! A link's token is `{tenant_id}.{person_id}.{secret}`: the ids let the first round trip read
//! the link, the person and the tenant in parallel; only the token's hash is stored (`LINK#{hash}`,
//! expiring by TTL). The one link of each kind still valid is named where only its writer can
//! write it, so a re-sent invitation or a newer reset request kills the older link, and using a
//! link is a transaction conditioned on both: it works once.
//!
//! A reset link is named by the person's credential (secrets table, the auth function only, so a
//! function that can write links cannot reset a password). An invitation is named by its
//! [`PendingInvitation`], which claims the address within the organisation only: the
//! platform-wide claim (`EMAIL#`) and the credential are made when the invitation is accepted,
//! so an invitation from one organisation never locks an address out of another, and a revoked
//! one (the invited person deactivated) frees the address by deleting its pending item.

use aws_sdk_dynamodb::types::{ConditionCheck, Delete, Put, TransactWriteItem, Update};
use serde::{Deserialize, Serialize};

use super::people::{Credential, EmailClaim, Person};
use super::{Store, from_item, key, keys, n, s, to_item};
use crate::Error;
use crate::auth::one_time;
use crate::notify::{Envelope, Message};

pub const INVITATION_SECS: i64 = 72 * 3600;
pub const RESET_SECS: i64 = 30 * 60;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkKind {
    Invitation,
    Reset,
}

impl LinkKind {
    pub fn lifetime_secs(self) -> i64 {
        match self {
            LinkKind::Invitation => INVITATION_SECS,
            LinkKind::Reset => RESET_SECS,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Link {
    pub token_hash: String,
    pub kind: LinkKind,
    pub tenant_id: String,
    pub person_id: String,
    pub email: String,
    /// Epoch seconds; also the TTL attribute. TTL deletes late, so reads check it too.
    pub expires_at: i64,
}

/// An invitation waiting for its address to accept it, under the organisation
/// (`T#{t}` / `INVITE#{email}`): one per address and organisation.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingInvitation {
    pub email: String,
    pub person_id: String,
    /// The hash of the one link that still works; none when no link was sent (the address
    /// already has an account elsewhere: it was told so instead).
    pub invitation_hash: Option<String>,
}

/// The invitation mail to `person`, with the link's `token` (none: the address has an account
/// elsewhere, and the mail says so instead).
pub fn invitation_envelope(person: &Person, organisation: &str, token: Option<String>) -> Envelope {
    let message = Message::Invitation {
        name: person.name.clone(),
        organisation: organisation.to_owned(),
        token,
        valid_hours: INVITATION_SECS / 3600,
    };
    Envelope::new(Some(&person.tenant_id), Some(&person.id), &person.email, message)
}

/// A new link for a person and the token that goes into the email.
pub fn new_link(kind: LinkKind, tenant_id: &str, person_id: &str, email: &str, now: i64) -> (Link, String) {
    let (secret, _) = one_time::generate();
    let token = format!("{tenant_id}.{person_id}.{secret}");
    let link = Link {
        token_hash: one_time::hash(&token),
        kind,
        tenant_id: tenant_id.to_owned(),
        person_id: person_id.to_owned(),
        email: email.to_owned(),
        expires_at: now + kind.lifetime_secs(),
    };
    (link, token)
}

/// The tenant and person ids a link token names, if it is shaped like one.
pub fn token_ids(token: &str) -> Option<(ulid::Ulid, ulid::Ulid)> {
    let mut parts = token.trim().splitn(3, '.');
    let (tenant, person, secret) = (parts.next()?, parts.next()?, parts.next()?);
    (!secret.is_empty()).then_some(())?;
    Some((tenant.parse().ok()?, person.parse().ok()?))
}

impl Store {
    /// The link, for a transaction. (A new invitation names it from the start; a re-sent one and
    /// a reset are pointed at it by [`Store::link_point`].)
    pub fn link_put(&self, link: &Link) -> Result<TransactWriteItem, Error> {
        let item = to_item(link, &[("pk", keys::link(&link.token_hash)), ("sk", keys::LINK_SK.into())])?;
        let put = Put::builder().table_name(&self.table).set_item(Some(item)).build().map_err(Error::internal)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// An invitation for `pending.email` in `tenant_id`, for a transaction: refused when the
    /// organisation has one waiting for that address already.
    pub fn invitation_put(&self, tenant_id: &str, pending: &PendingInvitation) -> Result<TransactWriteItem, Error> {
        let item = to_item(pending, &[("pk", keys::tenant(tenant_id)), ("sk", keys::invitation_sk(&pending.email))])?;
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(Error::internal)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// A transaction's check that no invitation waits for `email` in the organisation.
    pub fn invitation_absent(&self, tenant_id: &str, email: &str) -> Result<TransactWriteItem, Error> {
        let check = aws_sdk_dynamodb::types::ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::tenant(tenant_id), keys::invitation_sk(email))))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(Error::internal)?;
        Ok(TransactWriteItem::builder().condition_check(check).build())
    }

    /// Revokes the invitation waiting for `email` (if one does), for a transaction: its link stops
    /// working and the address is free to be invited again.
    pub fn invitation_revoke(&self, tenant_id: &str, email: &str) -> Result<TransactWriteItem, Error> {
        self.removal(key(keys::tenant(tenant_id), keys::invitation_sk(email)))
    }

    /// The only valid link of its kind becomes `link`, for a transaction: an invitation on its
    /// pending item, a reset on the credential of the person it is for.
    pub fn link_point(&self, link: &Link) -> Result<TransactWriteItem, Error> {
        let point = match link.kind {
            LinkKind::Invitation => Update::builder()
                .table_name(&self.table)
                .set_key(Some(key(keys::tenant(&link.tenant_id), keys::invitation_sk(&link.email))))
                .update_expression("SET invitation_hash = :hash")
                .condition_expression("attribute_exists(pk)"),
            LinkKind::Reset => Update::builder()
                .table_name(self.secrets()?)
                .set_key(Some(Self::credential_key(&link.email)))
                .update_expression("SET reset_hash = :hash")
                .condition_expression("person_id = :person")
                .expression_attribute_values(":person", s(link.person_id.clone())),
        };
        let point = point.expression_attribute_values(":hash", s(link.token_hash.clone())).build();
        Ok(TransactWriteItem::builder().update(point.map_err(Error::internal)?).build())
    }

    /// The unexpired link a token stands for.
    pub async fn link(&self, token: &str, kind: LinkKind, now: i64) -> Result<Option<Link>, Error> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::link(&one_time::hash(token)), keys::LINK_SK)))
            .consistent_read(true)
            .send()
            .await?;
        let link: Option<Link> = output.item.map(from_item).transpose()?;
        Ok(link.filter(|link| link.kind == kind && link.expires_at > now))
    }

    /// The link deleted, only while it is unexpired, for a transaction.
    fn link_consumed(&self, link: &Link, now: i64) -> Result<TransactWriteItem, Error> {
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::link(&link.token_hash), keys::LINK_SK)))
            .condition_expression("attribute_exists(pk) AND expires_at > :now")
            .expression_attribute_values(":now", n(now))
            .build()
            .map_err(Error::internal)?;
        Ok(TransactWriteItem::builder().delete(delete).build())
    }

    /// Uses a reset link up, for a transaction: the link is deleted (while unexpired) and the
    /// credential that names it takes the new password, while the claim says its person is active.
    pub fn reset_use(&self, link: &Link, password_hash: &str, now: i64) -> Result<Vec<TransactWriteItem>, Error> {
        let active = ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::email(&link.email), keys::EMAIL_SK)))
            .condition_expression("#status = :active AND person_id = :person")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":active", s("active"))
            .expression_attribute_values(":person", s(link.person_id.clone()))
            .build()
            .map_err(Error::internal)?;
        let change = Update::builder()
            .table_name(self.secrets()?)
            .set_key(Some(Self::credential_key(&link.email)))
            .update_expression("SET password_hash = :password REMOVE reset_hash")
            .condition_expression("reset_hash = :hash")
            .expression_attribute_values(":password", s(password_hash))
            .expression_attribute_values(":hash", s(link.token_hash.clone()))
            .build()
            .map_err(Error::internal)?;
        Ok(vec![
            self.link_consumed(link, now)?,
            TransactWriteItem::builder().condition_check(active).build(),
            TransactWriteItem::builder().update(change).build(),
        ])
    }

    /// Accepts an invitation, for a transaction, in this order: the link deleted (while
    /// unexpired); its pending invitation deleted (while the link is still the one it names); the
    /// address claimed platform-wide (refused when it has an account already:
    /// [`INVITATION_USE_CLAIM`] is that item's position); and the credential made (only for an
    /// email without one, so an invitation, which the people function writes, can give a first
    /// password but never replace one).
    pub fn invitation_use(
        &self,
        link: &Link,
        claim: &EmailClaim,
        credential: &Credential,
        now: i64,
    ) -> Result<Vec<TransactWriteItem>, Error> {
        let pending = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::tenant(&link.tenant_id), keys::invitation_sk(&link.email))))
            .condition_expression("invitation_hash = :hash AND person_id = :person")
            .expression_attribute_values(":hash", s(link.token_hash.clone()))
            .expression_attribute_values(":person", s(link.person_id.clone()))
            .build()
            .map_err(Error::internal)?;
        let create = Put::builder()
            .table_name(self.secrets()?)
            .set_item(Some(self.credential_item(credential)?))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(Error::internal)?;
        Ok(vec![
            self.link_consumed(link, now)?,
            TransactWriteItem::builder().delete(pending).build(),
            self.claim_put(claim)?,
            TransactWriteItem::builder().put(create).build(),
        ])
    }
}

impl Store {
    /// The invitation waiting for `email` in the organisation, if one does.
    pub async fn invitation(&self, tenant_id: &str, email: &str) -> Result<Option<PendingInvitation>, Error> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::tenant(tenant_id), keys::invitation_sk(email))))
            .consistent_read(true)
            .send()
            .await?;
        output.item.map(from_item).transpose()
    }

    /// For a transaction: `invitation` accepted by signing in through the organisation's identity
    /// provider instead of its link: the invitation deleted (while it still names its person),
    /// its link with it, and the address claimed platform-wide (refused when it has an account
    /// already: the last item). No credential: the person signs in through the provider.
    pub fn invitation_accepted_by_provider(
        &self,
        tenant_id: &str,
        invitation: &PendingInvitation,
        claim: &EmailClaim,
    ) -> Result<Vec<TransactWriteItem>, Error> {
        let pending = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::tenant(tenant_id), keys::invitation_sk(&invitation.email))))
            .condition_expression("person_id = :person")
            .expression_attribute_values(":person", s(invitation.person_id.clone()))
            .build()
            .map_err(Error::internal)?;
        let mut items = vec![TransactWriteItem::builder().delete(pending).build()];
        if let Some(hash) = &invitation.invitation_hash {
            items.push(self.removal(key(keys::link(hash), keys::LINK_SK))?);
        }
        items.push(self.claim_put(claim)?);
        Ok(items)
    }
}

/// Where, among the items [`Store::invitation_use`] gives, the platform-wide claim and the
/// credential are: either refused means the address has an account already.
pub const INVITATION_USE_CLAIM: std::ops::RangeInclusive<usize> = 2..=3;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_names_its_tenant_and_person_and_only_its_hash_is_kept() {
        let (tenant, person) = (ulid::Ulid::new(), ulid::Ulid::new());
        let (link, token) = new_link(LinkKind::Invitation, &tenant.to_string(), &person.to_string(), "a@b.c", 100);
        assert_eq!(token_ids(&token), Some((tenant, person)));
        assert_eq!(link.token_hash, one_time::hash(&token));
        assert!(!link.token_hash.contains(&tenant.to_string()));
        assert_eq!(link.expires_at, 100 + 72 * 3600);
        assert_eq!(token_ids("nonsense"), None);
        assert_eq!(token_ids(&format!("{tenant}.{person}.")), None);
    }
}
