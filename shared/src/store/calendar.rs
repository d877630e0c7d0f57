//! A person's calendar feed: the secret in its URL. Unlike an emailed link it is shown again on
//! every ask (a calendar app subscribes once and keeps it), so the secret itself is stored;
//! checks compare hashes, so their timing says nothing about it.

use aws_sdk_dynamodb::types::TransactWriteItem;
use serde::{Deserialize, Serialize};

use super::{Store, from_item, key, keys, to_item, written};
use crate::Error;
use crate::auth::one_time;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CalendarFeed {
    pub tenant_id: String,
    pub person_id: String,
    secret: String,
    pub created_at: String,
}

impl CalendarFeed {
    /// What the URL carries: `{tenant}.{person}.{secret}`.
    pub fn token(&self) -> String {
        format!("{}.{}.{}", self.tenant_id, self.person_id, self.secret)
    }

    /// The tenant and person a token names, if it is shaped like one.
    pub fn owner(token: &str) -> Option<(&str, &str)> {
        let mut parts = token.splitn(3, '.');
        let (tenant, person, secret) = (parts.next()?, parts.next()?, parts.next()?);
        let valid = |id: &str| id.parse::<ulid::Ulid>().is_ok();
        (valid(tenant) && valid(person) && !secret.is_empty()).then_some((tenant, person))
    }

    pub fn matches(&self, token: &str) -> bool {
        one_time::hash(token) == one_time::hash(&self.token())
    }
}

impl Store {
    /// The person's feed, made now if they have none (a conditional put: two first asks at once
    /// agree on one).
    pub async fn calendar_feed(&self, tenant_id: &str, person_id: &str, now: &str) -> Result<CalendarFeed, Error> {
        if let Some(feed) = self.calendar_feed_of(tenant_id, person_id).await? {
            return Ok(feed);
        }
        let feed = CalendarFeed {
            tenant_id: tenant_id.to_owned(),
            person_id: person_id.to_owned(),
            secret: one_time::generate().0,
            created_at: now.to_owned(),
        };
        let keys = [("pk", keys::tenant(tenant_id)), ("sk", keys::calendar_sk(person_id))];
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_item(&feed, &keys)?))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        if written(put)? {
            return Ok(feed);
        }
        self.calendar_feed_of(tenant_id, person_id)
            .await?
            .ok_or(Error::Conflict("the calendar feed was revoked meanwhile; ask again"))
    }

    pub async fn calendar_feed_of(&self, tenant_id: &str, person_id: &str) -> Result<Option<CalendarFeed>, Error> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::tenant(tenant_id), keys::calendar_sk(person_id))))
            .consistent_read(true)
            .send()
            .await?;
        output.item.map(from_item).transpose()
    }

    /// Ends the person's feed, for a transaction (deactivation): whether or not they have one.
    pub fn calendar_feed_end(&self, tenant_id: &str, person_id: &str) -> Result<TransactWriteItem, Error> {
        self.removal(key(keys::tenant(tenant_id), keys::calendar_sk(person_id)))
    }

    pub async fn revoke_calendar_feed(&self, tenant_id: &str, person_id: &str) -> Result<(), Error> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::tenant(tenant_id), keys::calendar_sk(person_id))))
            .send()
            .await?;
        Ok(())
    }
}
