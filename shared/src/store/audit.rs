//! The append-only audit log. Every state change puts one entry in the same transaction as the
//! change itself ([`Store::audit_put`]), so there is never a change without its entry or the
//! reverse.
//!
//! Keys: a tenant's entries are one partition, newest last (`T#{t}#AUDIT` / `{at}#{id}`); gsi1
//! finds an entity's history and gsi2 an actor's, both in the tenant's own partitions, so no
//! read ever needs a Scan or a filter over someone else's items.

use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::page::{Index, Page, PageRequest};
use super::{Store, keys, s, to_item};
use crate::Error;

/// Who changes something, from where, in which request.
#[derive(Debug, Clone)]
pub struct Actor {
    pub tenant_id: String,
    pub person_id: String,
    pub request_id: String,
    pub ip: Option<String>,
}

impl Actor {
    /// Rota itself (a scheduled job, a provider's webhook) acting for `tenant_id`, in `request_id`.
    pub fn rota(tenant_id: &str, request_id: &str) -> Self {
        Self {
            tenant_id: tenant_id.to_owned(),
            person_id: super::attendance::SCHEDULED_JOB.0.to_owned(),
            request_id: request_id.to_owned(),
            ip: None,
        }
    }

    /// The organisation's identity provider, provisioning its people over SCIM.
    pub fn identity_provider(tenant_id: &str, request_id: &str, ip: Option<String>) -> Self {
        Self {
            tenant_id: tenant_id.to_owned(),
            person_id: IDENTITY_PROVIDER.to_owned(),
            request_id: request_id.to_owned(),
            ip,
        }
    }
}

/// The actor id of changes the organisation's identity provider made (SCIM).
pub const IDENTITY_PROVIDER: &str = "scim";

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AuditEntry {
    pub id: String,
    pub tenant_id: String,
    /// The person who acted.
    pub actor_id: String,
    /// `{entity_type}.{verb}`, e.g. `person.created`, `tenant.updated`.
    pub action: String,
    pub entity_type: String,
    pub entity_id: String,
    /// The entity's fields the change changed, as they were; absent for a creation. Every field
    /// for a deletion.
    pub before: Option<Value>,
    /// The entity's fields the change changed, as they are now; absent for a deletion. Every
    /// field for a creation.
    pub after: Option<Value>,
    pub request_id: String,
    /// The client's address as API Gateway saw it (absent locally).
    pub ip: Option<String>,
    pub at: String,
}

impl AuditEntry {
    /// An entry for `actor`'s change of one entity, with the fields it changed before and after
    /// (the whole entity when it is created or deleted): an entry is written with every change
    /// and into two indexes, so a field that did not change would be paid for three times.
    pub fn new(
        actor: &Actor,
        action: &str,
        entity: (&str, &str),
        before: Option<&impl Serialize>,
        after: Option<&impl Serialize>,
        at: &str,
    ) -> Self {
        Self {
            id: ulid::Ulid::new().to_string(),
            tenant_id: actor.tenant_id.clone(),
            actor_id: actor.person_id.clone(),
            action: action.to_owned(),
            entity_type: entity.0.to_owned(),
            entity_id: entity.1.to_owned(),
            before: before.and_then(|value| serde_json::to_value(value).ok()),
            after: after.and_then(|value| serde_json::to_value(value).ok()),
            request_id: actor.request_id.clone(),
            ip: actor.ip.clone(),
            at: at.to_owned(),
        }
        .changes_only()
    }

    /// This entry with `before` and `after` narrowed to the fields that differ.
    fn changes_only(mut self) -> Self {
        if let (Some(Value::Object(before)), Some(Value::Object(after))) = (&mut self.before, &mut self.after) {
            let unchanged: Vec<String> = before
                .iter()
                .filter(|(field, value)| after.get(*field) == Some(value))
                .map(|(field, _)| field.clone())
                .collect();
            for field in unchanged {
                before.remove(&field);
                after.remove(&field);
            }
        }
        self
    }

    fn sort_key(&self) -> String {
        format!("{}#{}", self.at, self.id)
    }
}

/// Which entries `GET /audit-logs` wants; times are ISO 8601 UTC, `to` exclusive.
#[derive(Debug, Default)]
pub struct AuditQuery {
    pub actor_id: Option<String>,
    pub entity_type: Option<String>,
    pub entity_id: Option<String>,
    pub action: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
}

impl Store {
    /// The entry as one more item of a transaction.
    pub fn audit_put(&self, entry: &AuditEntry) -> Result<TransactWriteItem, Error> {
        let sort = entry.sort_key();
        let item = to_item(
            entry,
            &[
                ("pk", keys::audit(&entry.tenant_id)),
                ("sk", sort.clone()),
                ("gsi1pk", keys::audit_of_entity(&entry.tenant_id, &entry.entity_id)),
                ("gsi1sk", sort.clone()),
                ("gsi2pk", keys::audit_by_actor(&entry.tenant_id, &entry.actor_id)),
                ("gsi2sk", sort),
            ],
        )?;
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(Error::internal)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// A tenant's entries, newest first: one Query on the narrowest key the filters allow
    /// (an entity's, an actor's, or the tenant's log), the other filters applied within it.
    pub async fn audit_entries(
        &self,
        tenant_id: &str,
        filter: AuditQuery,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> Result<Page<AuditEntry>, Error> {
        let (index, partition, sort) = match (&filter.entity_id, &filter.actor_id) {
            (Some(entity), _) => (Index::Gsi1, keys::audit_of_entity(tenant_id, entity), "gsi1sk"),
            (None, Some(actor)) => (Index::Gsi2, keys::audit_by_actor(tenant_id, actor), "gsi2sk"),
            (None, None) => (Index::Table, keys::audit(tenant_id), "sk"),
        };
        let request = PageRequest::new(limit, cursor, index, &partition)?;
        // Key values cannot be empty: every ISO 8601 instant sorts between these two.
        let (from, to) = (filter.from.unwrap_or_else(|| "0".to_owned()), filter.to.unwrap_or_else(|| "~".to_owned()));
        let mut query = self
            .client
            .query()
            .key_condition_expression("#pk = :pk AND #sort BETWEEN :from AND :to")
            .expression_attribute_names("#pk", index.partition_attribute())
            .expression_attribute_names("#sort", sort)
            .expression_attribute_values(":pk", s(partition))
            .expression_attribute_values(":from", s(from))
            // `to` is exclusive: every sort key at `to` starts with `to` followed by `#`.
            .expression_attribute_values(":to", s(to))
            .scan_index_forward(false);
        let mut filters = Vec::new();
        if let (Some(actor), Index::Gsi1) = (&filter.actor_id, index) {
            filters.push("actor_id = :actor");
            query = query.expression_attribute_values(":actor", s(actor.clone()));
        }
        if let Some(entity_type) = filter.entity_type {
            filters.push("entity_type = :entity_type");
            query = query.expression_attribute_values(":entity_type", s(entity_type));
        }
        if let Some(action) = filter.action {
            filters.push("#action = :action");
            query =
                query.expression_attribute_names("#action", "action").expression_attribute_values(":action", s(action));
        }
        let filtered = !filters.is_empty();
        if filtered {
            query = query.filter_expression(filters.join(" AND "));
        }
        self.page(query, request, index, filtered).await
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn entry(before: Option<Value>, after: Option<Value>) -> AuditEntry {
        let actor = Actor::rota("T1", "R1");
        AuditEntry::new(
            &actor,
            "shift.updated",
            ("shift", "S1"),
            before.as_ref(),
            after.as_ref(),
            "2026-12-07T09:00:00Z",
        )
    }

    #[test]
    fn a_change_keeps_only_the_fields_it_changed() {
        let draft = json!({ "id": "S1", "status": "draft", "notes": "Gate B", "version": 1, "published_at": null });
        let published =
            json!({ "id": "S1", "status": "published", "notes": "Gate B", "version": 2, "published_at": "2026-12-07" });
        let changed = entry(Some(draft.clone()), Some(published.clone()));
        assert_eq!(changed.before, Some(json!({ "status": "draft", "version": 1, "published_at": null })));
        assert_eq!(changed.after, Some(json!({ "status": "published", "version": 2, "published_at": "2026-12-07" })));

        let created = entry(None, Some(draft.clone()));
        assert_eq!((created.before, created.after), (None, Some(draft.clone())), "a creation keeps every field");
        let deleted = entry(Some(published.clone()), None);
        assert_eq!((deleted.before, deleted.after), (Some(published), None), "so does a deletion");
    }
}
