//! Tenants (organisations). Sign-up writes the tenant, its owner, the owner's email claim and
//! first session in one transaction: all of it or none of it.

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
use serde::{Deserialize, Serialize};

use super::people::{Credential, Person};
use super::sessions::Session;
use super::{Store, keys, to_item};
use crate::Error;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Tenant {
    pub id: String,
    pub name: String,
    pub status: TenantStatus,
    pub created_at: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TenantStatus {
    Active,
    Suspended,
}

impl Store {
    /// Creates an organisation with its owner. `Err(Conflict)` when the email is taken.
    pub async fn create_tenant_with_owner(
        &self,
        tenant: &Tenant,
        owner: &Person,
        credential: &Credential,
        session: &Session,
    ) -> Result<(), Error> {
        let tenant_item = to_item(
            tenant,
            &[
                ("pk", keys::tenant(&tenant.id)),
                ("sk", keys::TENANT_SK.into()),
                ("gsi1pk", keys::TENANTS.into()),
                ("gsi1sk", format!("{}#{}", tenant.created_at, tenant.id)),
            ],
        )?;
        let put_new = |item| -> Result<TransactWriteItem, Error> {
            let put = Put::builder()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(pk)")
                .build()
                .map_err(Error::internal)?;
            Ok(TransactWriteItem::builder().put(put).build())
        };
        let result = self
            .client
            .transact_write_items()
            .transact_items(put_new(tenant_item)?)
            .transact_items(put_new(self.person_item(owner)?)?)
            .transact_items(put_new(self.credential_item(credential)?)?)
            .transact_items(put_new(self.session_item(session)?)?)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // Ids are fresh ULIDs, so the only condition that can fail is the email's.
            Err(error) if transaction_condition_failed(&error) => {
                Err(Error::Conflict("an account with this email already exists"))
            }
            Err(error) => Err(error.into()),
        }
    }
}

fn transaction_condition_failed<R>(error: &aws_sdk_dynamodb::error::SdkError<TransactWriteItemsError, R>) -> bool {
    error
        .as_service_error()
        .map(|e| match e {
            TransactWriteItemsError::TransactionCanceledException(e) => {
                e.cancellation_reasons().iter().any(|r| r.code() == Some("ConditionalCheckFailed"))
            }
            _ => false,
        })
        .unwrap_or(false)
}
