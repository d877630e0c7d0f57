//! Supervisors' feedback on a person: `T#{t}#PERSON#{p}#FEEDBACK` / `{at}#{id}`, so a person's
//! feedback is one Query, newest first. Written with its audit entry in one transaction.

use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::audit::AuditEntry;
use super::page::{Index, Page};
use super::{Store, keys, to_item};
use crate::Error;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Feedback {
    pub id: String,
    pub tenant_id: String,
    /// Who the feedback is about.
    pub person_id: String,
    /// The supervisor who gave it.
    pub author_id: String,
    /// 1 (poor) to 5 (excellent).
    pub rating: u8,
    pub note: Option<String>,
    pub created_at: String,
}

impl Store {
    pub async fn put_feedback(&self, feedback: &Feedback, audit: &AuditEntry) -> Result<(), Error> {
        let item = to_item(
            feedback,
            &[
                ("pk", keys::feedback(&feedback.tenant_id, &feedback.person_id)),
                ("sk", format!("{}#{}", feedback.created_at, feedback.id)),
            ],
        )?;
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(Error::internal)?;
        let items = vec![TransactWriteItem::builder().put(put).build(), self.audit_put(audit)?];
        self.transact(items).await?.map_err(|_| Error::internal("a fresh feedback id was taken"))
    }

    /// A person's feedback, newest first.
    pub async fn feedback_of(
        &self,
        tenant_id: &str,
        person_id: &str,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> Result<Page<Feedback>, Error> {
        self.newest_first(Index::Table, keys::feedback(tenant_id, person_id), "", limit, cursor).await
    }
}
