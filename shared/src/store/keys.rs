//! The key design (see DESIGN.md). Only the platform-wide email index, sign-ups waiting for
//! their email to be confirmed (no tenant exists yet) and rate-limit counters live outside a
//! tenant's `T#{tenant_id}` prefix.
//!
//! In the secrets table (see [`super`]): credentials (`CRED#{email}`), pending sign-ups,
//! sessions (with their gsi1 listing), 2FA enrolments (`T#{t}` / `MFA#{p}`) and waiting MFA
//! logins. Everything else is in the main table.

pub fn tenant(tenant_id: &str) -> String {
    format!("T#{tenant_id}")
}
pub const TENANT_SK: &str = "TENANT";
pub const TENANTS: &str = "TENANTS";
/// Under the tenant: how far the scheduled job has closed check-in windows.
pub const CLOSED_THROUGH_SK: &str = "JOB#close_attendance";

/// Under the tenant: the imports that have begun writing their rows and not committed (their rows
/// are not to be seen, see [`super::imports`]).
pub const STAGING_SK: &str = "STAGING";

/// Under the tenant: how far an import's rows are written, while they are (not `IMPORT#…`, so a
/// list of imports does not find it).
pub fn import_progress_sk(import_id: &str) -> String {
    format!("IMPORTING#{import_id}")
}

pub fn person_sk(person_id: &str) -> String {
    format!("PERSON#{person_id}")
}

/// A person's two-factor enrolment (TOTP secret, newest accepted step, recovery code hashes).
pub fn mfa_sk(person_id: &str) -> String {
    format!("MFA#{person_id}")
}

/// A login that passed its password and waits for its second factor, by the hash of its token.
pub fn mfa_login(tenant_id: &str, token_hash: &str) -> String {
    format!("T#{tenant_id}#MFA_LOGIN#{token_hash}")
}
pub const MFA_LOGIN_SK: &str = "MFA_LOGIN";

/// An email's platform-wide claim: who it belongs to, their role and status (main table). Made
/// when a person first joins (confirms a sign-up, accepts an invitation), never before.
pub fn email(email: &str) -> String {
    format!("EMAIL#{email}")
}
pub const EMAIL_SK: &str = "EMAIL";

/// Under the tenant: an invitation waiting for `email` to accept it (one per address and
/// organisation), naming the one link that still works.
pub fn invitation_sk(email: &str) -> String {
    format!("INVITE#{email}")
}

/// An email's credential: the password hash and what guards it (secrets table).
pub fn credential(email: &str) -> String {
    format!("CRED#{email}")
}
pub const CREDENTIAL_SK: &str = "CRED";

pub fn session(tenant_id: &str, session_id: &str) -> String {
    format!("T#{tenant_id}#SESSION#{session_id}")
}
pub const SESSION_SK: &str = "SESSION";

/// gsi1 partition of a person's refresh sessions.
pub fn person_sessions(tenant_id: &str, person_id: &str) -> String {
    format!("T#{tenant_id}#PERSON#{person_id}#SESSIONS")
}

/// A pending sign-up, by the hash of its emailed token.
pub fn signup(token_hash: &str) -> String {
    format!("SIGNUP#{token_hash}")
}
pub const SIGNUP_SK: &str = "SIGNUP";

/// An emailed invitation or password-reset link, by the hash of its token.
pub fn link(token_hash: &str) -> String {
    format!("LINK#{token_hash}")
}
pub const LINK_SK: &str = "LINK";

pub fn rate_limit(name: &str, subject: &str) -> String {
    format!("RL#{name}#{subject}")
}
pub const RATE_LIMIT_SK: &str = "RL";

/// A tenant's audit log, newest last by `{at}#{id}`.
pub fn audit(tenant_id: &str) -> String {
    format!("T#{tenant_id}#AUDIT")
}

/// gsi1 partition of one entity's audit history.
pub fn audit_of_entity(tenant_id: &str, entity_id: &str) -> String {
    format!("T#{tenant_id}#AUDIT#ENTITY#{entity_id}")
}

/// gsi2 partition of one actor's audit history.
pub fn audit_by_actor(tenant_id: &str, actor_id: &str) -> String {
    format!("T#{tenant_id}#AUDIT#ACTOR#{actor_id}")
}

/// The marker of an envelope the notifier has sent (or is sending).
pub fn delivery(envelope_id: &str) -> String {
    format!("SENT#{envelope_id}")
}
pub const DELIVERY_SK: &str = "SENT";

/// A message a provider took, by the provider's id (`SM…`, `wamid.…`), leading to its line of
/// the organisation's log (outside every tenant: delivery status callbacks name only the id).
pub fn provider_message(provider_id: &str) -> String {
    format!("PMSG#{provider_id}")
}
pub const PROVIDER_MESSAGE_SK: &str = "MESSAGE";

/// The people with a phone number (E.164), in gsi1 (any organisation's: phone sign-in finds them
/// by it), each keyed `{tenant}#{person}`.
pub fn phone(e164: &str) -> String {
    format!("PHONE#{e164}")
}

/// A phone's pending sign-in code (secrets table).
pub fn sign_in_code(e164: &str) -> String {
    format!("OTP#{e164}")
}
pub const SIGN_IN_CODE_SK: &str = "OTP";

/// A broadcast and its lines (see `store::broadcasts`).
pub fn broadcast(tenant_id: &str, broadcast_id: &str) -> String {
    format!("T#{tenant_id}#BROADCAST#{broadcast_id}")
}

/// gsi1 partition of an organisation's broadcasts (sorted by id: by time).
pub fn broadcasts(tenant_id: &str) -> String {
    format!("T#{tenant_id}#BROADCASTS")
}

/// A tenant's notification log, newest last by `{at}#{id}`.
pub fn notifications(tenant_id: &str) -> String {
    format!("T#{tenant_id}#NOTIFY")
}

/// The platform's counters of one month (`yyyy-mm`), in [`STATS_SHARDS`] items: shard 0 is
/// `STATS#{month}` (the one item before sharding), the others `STATS#{month}#{shard}`.
pub fn stats(month: &str, shard: u32) -> String {
    match shard {
        0 => format!("STATS#{month}"),
        shard => format!("STATS#{month}#{shard}"),
    }
}

/// Every message the platform sends counts on one counter of the month: split in ten items, so
/// the busiest hour (every organisation's reminders) writes each well under the 1,000 writes a
/// second a partition takes (docs/cost.md, partition heat). Readers add the ten up.
pub const STATS_SHARDS: u32 = 10;
pub const STATS_SK: &str = "STATS";

/// A person's feedback, newest last by `{at}#{id}`.
pub fn feedback(tenant_id: &str, person_id: &str) -> String {
    format!("T#{tenant_id}#PERSON#{person_id}#FEEDBACK")
}

/// A person's schedule: their assigned shifts around now and the version that orders changes.
pub fn schedule_sk(person_id: &str) -> String {
    format!("SCHED#{person_id}")
}

/// A person's calendar feed (the secret of its URL).
pub fn calendar_sk(person_id: &str) -> String {
    format!("CALFEED#{person_id}")
}

/// A person's availability: weekly windows and blackout days.
pub fn availability_sk(person_id: &str) -> String {
    format!("AVAIL#{person_id}")
}

/// gsi1 partition of a location's shifts, by `{start}#{shift}`.
pub fn location_shifts(tenant_id: &str, location_id: &str) -> String {
    format!("T#{tenant_id}#LOC#{location_id}#SHIFTS")
}

/// gsi2 partition of every shift of a tenant, by `{start}#{shift}`.
pub fn shifts(tenant_id: &str) -> String {
    format!("T#{tenant_id}#SHIFTS")
}

/// gsi2 partition of every assignment of a tenant, by `{start}#{shift}#{person}`.
pub fn assignments(tenant_id: &str) -> String {
    format!("T#{tenant_id}#ASSIGNMENTS")
}

/// gsi1 partition of a person's support tickets, by id.
pub fn person_tickets(tenant_id: &str, person_id: &str) -> String {
    format!("T#{tenant_id}#PERSON#{person_id}#TICKETS")
}

/// gsi2 partition of an organisation's support tickets, by id.
pub fn tickets(tenant_id: &str) -> String {
    format!("T#{tenant_id}#TICKETS")
}

/// A support ticket's messages, by id (oldest first).
pub fn ticket_messages(tenant_id: &str, ticket_id: &str) -> String {
    format!("T#{tenant_id}#TICKET#{ticket_id}")
}

/// gsi3 partition of every organisation's support tickets in one status (the platform's
/// queue), by `{ticket}#{tenant}`.
pub fn support_queue(status: &str) -> String {
    format!("SUPPORT#{status}")
}

/// gsi1 partitions of the operator's CRM (in the platform's partition, see [`super::crm`]):
/// leads by `{created_at}#{id}`, deals by id.
pub const CRM_LEADS: &str = "CRM#LEADS";
pub const CRM_DEALS: &str = "CRM#DEALS";
/// Under the platform's tenant: the pipeline's totals per stage.
pub const CRM_PIPELINE_SK: &str = "CRMPIPELINE";

/// A lead's or a deal's activities, by id (oldest first).
pub fn crm_activities(record_id: &str) -> String {
    format!("T#{}#CRM#{record_id}", super::platform::PLATFORM_TENANT)
}

/// gsi2 partition of the deals converted to an organisation.
pub fn tenant_deals(tenant_id: &str) -> String {
    format!("T#{tenant_id}#DEALS")
}

/// A webhook endpoint's deliveries, by message id.
pub fn webhook_deliveries(tenant_id: &str, endpoint_id: &str) -> String {
    format!("T#{tenant_id}#WHEP#{endpoint_id}#DELIVERIES")
}

/// gsi3 partition of an event's shifts (`{start}#{shift}`) and their assignments
/// (`{start}#{shift}#{person}`, right after their shift).
pub fn event_shifts(tenant_id: &str, event_id: &str) -> String {
    format!("T#{tenant_id}#EVENT#{event_id}#SHIFTS")
}

/// gsi1 partition of a person's assignments, by `{start}#{shift}`.
pub fn person_shifts(tenant_id: &str, person_id: &str) -> String {
    format!("T#{tenant_id}#PERSON#{person_id}#SHIFTS")
}

/// gsi1 partition of a person's requests, by id (creation order).
pub fn person_requests(tenant_id: &str, person_id: &str) -> String {
    format!("T#{tenant_id}#PERSON#{person_id}#REQUESTS")
}

/// gsi2 partition of a tenant's requests waiting in one status (`open`, `pending`), by id.
pub fn requests(tenant_id: &str, status: &str) -> String {
    format!("T#{tenant_id}#REQUESTS#{status}")
}

/// gsi3 partition of the people of a unit, by id.
pub fn unit_people(tenant_id: &str, unit_id: &str) -> String {
    format!("T#{tenant_id}#UNIT#{unit_id}#PEOPLE")
}

/// An event's dashboard: one tally per shift, by shift id (see `store::dashboard`).
pub fn event_tally(tenant_id: &str, event_id: &str) -> String {
    format!("T#{tenant_id}#EVENT#{event_id}#TALLY")
}

/// Who is on site at a location now: one marker per attendance record, by its id.
pub fn on_site(tenant_id: &str, location_id: &str) -> String {
    format!("T#{tenant_id}#LOC#{location_id}#ONSITE")
}

/// gsi3 partition of the attendance records at a location, by `{shift start}#{shift}`.
pub fn location_attendance(tenant_id: &str, location_id: &str) -> String {
    format!("T#{tenant_id}#LOC#{location_id}#ATT")
}

/// gsi1 partition of a person's attendance records, by `{shift start}#{shift}`.
pub fn person_attendance(tenant_id: &str, person_id: &str) -> String {
    format!("T#{tenant_id}#PERSON#{person_id}#ATT")
}

/// gsi2 partition of every attendance record of a tenant, by `{shift start}#{shift}`.
pub fn attendance(tenant_id: &str) -> String {
    format!("T#{tenant_id}#ATT")
}

/// An attendance record's own partition: the record (`ATT#{id}`) and its log, oldest first by
/// `{at}#{id}`. Not the organisation's partition: at a gate where thousands check in at once each
/// record is written apart (docs/cost.md, partition heat), and one Query reads a record with its log.
pub fn attendance_record(tenant_id: &str, attendance_id: &str) -> String {
    format!("T#{tenant_id}#ATTLOG#{attendance_id}")
}

/// Attendance waiting for review, oldest first by `{queued_at}#{attendance}`.
pub fn face_reviews(tenant_id: &str) -> String {
    format!("T#{tenant_id}#FACEREVIEWS")
}

/// The same entries, every organisation's, for the platform admin (gsi1, oldest first by
/// `{queued_at}#{tenant}#{attendance}`). One partition: written only by check-ins that need a
/// review (flagged or risky), a small share of all.
pub const FACE_REVIEWS_EVERYWHERE: &str = "FACEREVIEWS";

/// The answer kept under one person's `Idempotency-Key` (expires after a day).
pub fn replay(tenant_id: &str, person_id: &str, idempotency_key: &str) -> String {
    format!("T#{tenant_id}#IDEM#{person_id}#{idempotency_key}")
}
pub const REPLAY_SK: &str = "IDEM";

/// gsi1 partition of a person's pay stubs, by period start.
pub fn person_stubs(tenant_id: &str, person_id: &str) -> String {
    format!("T#{tenant_id}#PERSON#{person_id}#STUBS")
}

/// gsi2 partition of every pay stub of a tenant, by `{period start}#{person}`.
pub fn stubs(tenant_id: &str) -> String {
    format!("T#{tenant_id}#STUBS")
}

/// A week (by its first day) of a closed pay period: attendance counted in it stays as it is.
pub fn pay_week_sk(first_day: &str) -> String {
    format!("PAYWEEK#{first_day}")
}

/// Under the tenant: how far the scheduled job has archived stale drafts.
pub const ARCHIVED_THROUGH_SK: &str = "JOB#archive_drafts";

/// A tenant's sent shift reminders, one marker per `{assignment}#{shift start}` (expiring).
pub fn reminded(tenant_id: &str) -> String {
    format!("T#{tenant_id}#REMINDED")
}

/// A week's (`YYYY-MM-DD`, its first day) hours warnings of a tenant, one per person.
pub fn hours_warnings(tenant_id: &str, week: &str) -> String {
    format!("T#{tenant_id}#HOURS#{week}")
}

/// A week's weekly-hours digests of a tenant, one marker per coordinator it went to.
pub fn hours_digests(tenant_id: &str, week: &str) -> String {
    format!("T#{tenant_id}#DIGEST#{week}")
}

/// A payment provider's customer, leading to its organisation (outside every tenant: the
/// provider's webhooks name only the customer).
pub fn payment_customer(customer_id: &str) -> String {
    format!("PAYCUS#{customer_id}")
}
pub const PAYMENT_CUSTOMER_SK: &str = "CUSTOMER";

/// A provider event applied already (its webhook is redelivered until answered 2xx).
pub fn payment_event(event_id: &str) -> String {
    format!("PAYEVT#{event_id}")
}
pub const PAYMENT_EVENT_SK: &str = "EVENT";

/// Under the tenant: a payment of its subscription, by when its invoice was made.
pub fn payment_sk(created_at: &str, payment_id: &str) -> String {
    format!("PAYMENT#{created_at}#{payment_id}")
}
pub const PAYMENTS_SK_PREFIX: &str = "PAYMENT#";

/// gsi1: every organisation's payments of one status, newest first (the platform's list).
pub fn payments_with_status(status: &str) -> String {
    format!("PAYMENTS#{status}")
}

/// gsi2 partition of the organisations whose subscription payment is overdue (their tenant
/// items, by id): the nightly sweep's dunning list. Only a status change writes it.
pub const PAST_DUE: &str = "PAST_DUE";

/// The dunning notices of one overdue payment (since `since`) of a tenant, one marker each.
pub fn dunning_notices(tenant_id: &str, since: &str) -> String {
    format!("T#{tenant_id}#DUNNING#{since}")
}

/// Under the tenant: an invoice of Rota's to it, by number.
pub fn invoice_sk(number: &str) -> String {
    format!("INVOICE#{number}")
}
pub const INVOICES_SK_PREFIX: &str = "INVOICE#";

/// The platform's invoice numbers of one year: the last one issued (`last`).
pub fn invoice_sequence(year: i32) -> String {
    format!("INVOICE_SEQ#{year}")
}
pub const INVOICE_SEQUENCE_SK: &str = "SEQ";

/// Under the tenant: an entry of its message credits ledger, by id (time-ordered).
pub fn credit_sk(entry_id: &str) -> String {
    format!("CREDIT#{entry_id}")
}
pub const CREDITS_SK_PREFIX: &str = "CREDIT#";

/// Under the tenant: an event's unlock (its latest quote; when it was paid for), on a plan whose
/// events are paid for one by one.
pub fn event_unlock_sk(event_id: &str) -> String {
    format!("UNLOCK#{event_id}")
}
