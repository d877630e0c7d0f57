//! Dunning, one organisation whose subscription payment is overdue at a time (the sweep queues
//! the ones on the `PAST_DUE` list): its owners are reminded on days 1, 3 and 7, and once the
//! grace is over it is suspended (audited) and they are told. The rule is
//! [`rota::domain::dunning`]; this applies it.
//!
//! Each notice is sent once per overdue payment: a marker (`T#{t}#DUNNING#{since}` / its name) is
//! claimed before the mail is queued and given back if queuing fails. The suspension is one
//! conditional transaction (still active, still overdue since the same time), so runs that
//! overlap suspend once, and a payment that arrived meanwhile wins.

use chrono::{DateTime, Duration, Utc};
use rota::Error;
use rota::clock::iso;
use rota::domain::dunning::{self, Notice, Standing, Step};
use rota::notify::{Envelope, Message};
use rota::store::audit::{Actor, AuditEntry};
use rota::store::billing::SubscriptionStatus;
use rota::store::keys;
use rota::store::tenants::{SuspendedFor, Tenant, TenantStatus};

use crate::Nightly;

/// How long a notice's marker is kept (then TTL removes it): well past any grace.
const NOTICE_MARKER_DAYS: i64 = 90;

/// Takes the step of dunning due at `now` for one organisation; answers what was done (nothing
/// when it is not overdue, or the step was taken already).
pub async fn collect_overdue(nightly: &Nightly, tenant_id: &str, now: DateTime<Utc>) -> Result<Step, Error> {
    let store = &nightly.store;
    let nothing = Step { suspend: false, notice: None };
    let Some(tenant) = store.tenant(tenant_id).await? else { return Ok(nothing) };
    let Some(subscription) = tenant.subscription.as_ref().filter(|s| s.status == SubscriptionStatus::PastDue) else {
        return Ok(nothing);
    };
    let Some(since_text) = subscription.past_due_since.as_deref() else { return Ok(nothing) };
    let since: DateTime<Utc> = since_text.parse().map_err(Error::internal)?;
    let standing = match (tenant.status, tenant.suspended_for) {
        (TenantStatus::Active, _) => Standing::Active,
        (TenantStatus::Suspended, Some(SuspendedFor::Payment)) => Standing::SuspendedForPayment,
        (TenantStatus::Suspended, None) => Standing::SuspendedByPlatform,
    };
    let step = dunning::step(since, now, nightly.dunning_grace_days, standing);
    if step.suspend && !suspend(nightly, &tenant, since_text, now).await? {
        // Paid, or suspended by the platform, meanwhile: the next run sees where it stands.
        return Ok(nothing);
    }
    let Some(notice) = step.notice else { return Ok(step) };
    let marker = keys::dunning_notices(tenant_id, since_text);
    let expires_at = (now + Duration::days(NOTICE_MARKER_DAYS)).timestamp();
    if !store.claim_once(marker.clone(), &notice.name(), expires_at).await? {
        return Ok(Step { notice: None, ..step });
    }
    let message = match notice {
        Notice::Reminder { day } => Message::PaymentOverdue {
            organisation: tenant.name.clone(),
            day,
            invoice: subscription.overdue.clone(),
            suspends_on: dunning::suspends_on(since, nightly.dunning_grace_days)
                .with_timezone(&tenant.zone()?)
                .format("%-d %B %Y")
                .to_string(),
        },
        Notice::Suspended => {
            Message::SuspendedForPayment { organisation: tenant.name.clone(), invoice: subscription.overdue.clone() }
        }
    };
    let sent = async {
        let owners = store.active_owners(tenant_id).await?;
        let envelopes: Vec<Envelope> =
            owners.iter().map(|owner| Envelope::to_person(tenant_id, &owner.id, message.clone())).collect();
        rota::queue::send_all(&nightly.sqs, &nightly.notification_queue, &envelopes).await
    };
    if let Err(error) = sent.await {
        store.release_once(marker, &notice.name()).await?;
        return Err(error);
    }
    Ok(step)
}

/// Suspends the organisation for its payment overdue since `since`; false if that is no longer
/// where it stands.
async fn suspend(nightly: &Nightly, tenant: &Tenant, since: &str, now: DateTime<Utc>) -> Result<bool, Error> {
    let customer_id = tenant
        .billing_customer_id
        .as_deref()
        .ok_or_else(|| Error::internal("an overdue organisation is no customer of the provider"))?;
    let at = iso(now);
    let after = Tenant {
        status: TenantStatus::Suspended,
        suspended_for: Some(SuspendedFor::Payment),
        updated_at: at.clone(),
        ..tenant.clone()
    };
    let actor = Actor::rota(&tenant.id, &format!("nightly-{}", ulid::Ulid::new()));
    let audit = AuditEntry::new(&actor, "tenant.suspended", ("tenant", &tenant.id), Some(tenant), Some(&after), &at);
    nightly.store.suspend_for_payment(&tenant.id, customer_id, since, &audit).await
}
