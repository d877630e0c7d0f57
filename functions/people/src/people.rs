//! People: list, invite, read, change, deactivate, and re-send an invitation.
//!
//! A role or status change updates the person and their `EMAIL#` claim in one transaction
//! and ends every session they have (refresh checks `sessions_valid_after`), so a refresh never
//! issues the old role and a deactivated person is out at once; deactivation ends their
//! calendar feed in the same transaction.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use garde::Validate;
use rota::auth::permissions::Permissions;
use rota::auth::rate_limit::INVITES_PER_TENANT;
use rota::auth::{Caller, Permission, Role, Scope};
use rota::clock::Now;
use rota::error::Problem;
use rota::http::{ValidJson, ValidQuery};
use rota::store::TransactWriteItem;
use rota::store::audit::{Actor, AuditEntry};
use rota::store::billing::people_limit_reached;
use rota::store::entities::Filter;
use rota::store::entities::{Entity, Refused};
use rota::store::links::{INVITATION_SECS, LinkKind, PendingInvitation, invitation_envelope, new_link};
use rota::store::page::Page;
use rota::store::people::{CreatePerson, EmergencyContact, EmploymentType, OrganisationRole, Person, PersonStatus};
use rota::store::permission_sets::CustomPermissionSet;
use rota::store::places::{Location, Position, Unit};
use rota::store::{s, value};
use rota::validate::{international_phone, not_blank, nullable, texts_or_null};
use rota::webhooks::{EventType, Job};
use rota::{AppState, Error};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use rota::records::committed;

rota::list_query! {
    pub struct PeopleQuery {
        #[garde(skip)]
        pub role: Option<Role>,
        #[garde(skip)]
        pub status: Option<PersonStatus>,
        /// People who hold this position.
        #[garde(length(max = 64))]
        #[param(max_length = 64)]
        pub position_id: Option<String>,
        #[garde(length(max = 64))]
        #[param(max_length = 64)]
        pub unit_id: Option<String>,
        /// Part of a name or email, any case.
        #[garde(length(chars, min = 1, max = 100))]
        #[param(min_length = 1, max_length = 100)]
        pub q: Option<String>,
    }
}

/// The organisation's people, oldest first (coordinators and up): everyone, or one unit's
/// (`unit_id`, its own index). A caller limited to some units gets only theirs.
#[utoipa::path(get, path = "/people", tag = "people", security(("bearer" = ["people.read"])), params(PeopleQuery),
    responses((status = 200, description = "A page of people", body = Page<Person>)))]
pub async fn list_people(
    State(state): State<AppState>,
    caller: Caller,
    ValidQuery(query): ValidQuery<PeopleQuery>,
) -> Result<Json<Page<Person>>, Error> {
    caller.require(Permission::PeopleRead)?;
    let mut filter = Filter::default();
    if let Some(role) = query.role {
        filter = filter.and("#role = :role", ("#role", "role"), (":role", value(&role)?));
    }
    if let Some(status) = query.status {
        filter = filter.and("#status = :status", ("#status", "status"), (":status", value(&status)?));
    }
    if let Some(position) = query.position_id {
        filter = filter.and("contains(position_ids, :position)", ("", ""), (":position", s(position)));
    }
    if let Some(q) = query.q {
        filter = filter.and("contains(search_text, :q)", ("", ""), (":q", s(q.trim().to_lowercase())));
    }
    let (limit, cursor) = (query.limit, query.cursor.as_deref());
    let mut page: Page<Person> = match caller.units_to_read(query.unit_id.as_deref()) {
        None => state.store.entities(&caller.tenant_id, limit, cursor, filter).await?,
        Some(units) => state.store.people_of_units(&caller.tenant_id, &units, filter, limit, cursor).await?,
    };
    page.items = page.items.into_iter().map(|person| seen_by(person, &caller)).collect();
    Ok(Json(page))
}

/// A person as `caller` may see them: their hourly rate only for those who see their pay.
fn seen_by(mut person: Person, caller: &Caller) -> Person {
    if !caller.sees_pay_of(&person.id) {
        person.hourly_rate_minor = None;
        person.payroll_id = None;
    }
    person
}

/// Only an owner makes someone an owner, and nobody gives a role with a permission they do not
/// hold themselves (a clerk's `people.write` makes no admins).
fn may_grant(caller: &Caller, role: OrganisationRole) -> Result<Role, Error> {
    let role = role.granted_by(caller.role).ok_or(Error::Forbidden("only an owner can make someone an owner"))?;
    caller.may_give(role.permissions())?;
    Ok(role)
}

/// Adds a person to the organisation as `invited` and emails them an invitation link (admins).
/// The link sets their password (`POST /auth/invitations/accept`) and works once, for 72 hours.
///
/// The invitation claims the address within this organisation only; the address is claimed
/// platform-wide when the invitation is accepted. An address with an account in another
/// organisation gets the same answer, and its owner an email saying so instead of a link. 100
/// invitations an hour per organisation (re-sent ones included), then `429`.
#[utoipa::path(post, path = "/people", tag = "people", security(("bearer" = ["people.write"])), request_body = CreatePerson,
    extensions(("x-rate-limit" = json!("100 invitations per organisation an hour, new and re-sent"))),
    responses(
        (status = 201, description = "The invited person; the invitation is on its way", body = Person,
            links(
                ("GetPerson" = (operation_id = "get_person", parameters(("person_id" = "$response.body#/id")))),
                ("ResendInvitation" = (operation_id = "resend_invitation", parameters(("person_id" = "$response.body#/id")))),
                ("DeactivatePerson" = (operation_id = "deactivate_person", parameters(("person_id" = "$response.body#/id")))),
                ("GiveFeedback" = (operation_id = "give_feedback", parameters(("person_id" = "$response.body#/id")))),
                ("ListFeedback" = (operation_id = "list_feedback", parameters(("person_id" = "$response.body#/id")))),
            )),
        (status = 404, description = "A position, unit, permission set or scope's location or unit named is not this organisation's", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The address is a member of this organisation already, or has an invitation of its waiting; or `plan_limit_reached`: the plan allows no more people", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_person(
    State(state): State<AppState>,
    caller: Caller,
    ValidJson(mut request): ValidJson<CreatePerson>,
) -> Result<(StatusCode, Json<Person>), Error> {
    caller.require(Permission::PeopleWrite)?;
    let role = may_grant(&caller, request.role)?;
    in_units(&caller, request.unit_id.as_deref())?;
    // Someone limited invites people limited as they are, unless they narrow it.
    let scope = request.scope.get_or_insert_with(|| caller.scope.clone()).clone();
    let now = Now::get();
    let email = request.email.trim().to_lowercase();
    // Round trip 1: the organisation, whose name the invitation gives, the positions, unit,
    // permission set and scope named, which must be the organisation's, whether the address has
    // an account, and this invitation counted against the organisation's limit.
    let (tenant, _, _, (), (), registered, ()) = tokio::try_join!(
        state.store.tenant(&caller.tenant_id),
        state.store.all_exist::<Position>(&caller.tenant_id, &request.position_ids),
        state.store.all_exist::<Unit>(&caller.tenant_id, request.unit_id.as_slice()),
        may_give_set(&state, &caller, request.permission_set_id.as_deref()),
        may_give_scope(&state, &caller, Some(&scope)),
        state.store.email_claim(&email),
        count_invitation(&state, &caller.tenant_id, now.epoch),
    )?;
    let tenant = tenant.ok_or(Error::NotFound)?;
    // The organisation may know its own members; of an account elsewhere it learns nothing.
    if registered.as_ref().is_some_and(|claim| claim.tenant_id == caller.tenant_id) {
        return Err(Error::Conflict(MEMBER_ALREADY));
    }
    let person = request.into_person(ulid::Ulid::new().to_string(), caller.tenant_id.clone(), role, &now.iso);
    // An address with an account elsewhere gets no link (it could not be accepted): its owner
    // is told instead, and everything else is as for a free address.
    let link =
        registered.is_none().then(|| new_link(LinkKind::Invitation, &person.tenant_id, &person.id, &email, now.epoch));
    let pending = PendingInvitation {
        email: email.clone(),
        person_id: person.id.clone(),
        invitation_hash: link.as_ref().map(|(link, _)| link.token_hash.clone()),
    };
    let audit = AuditEntry::new(
        &caller.actor(),
        "person.invited",
        ("person", &person.id),
        None::<&Person>,
        Some(&person),
        &now.iso,
    );
    // Round trip 2: the person, the invitation (the address claimed in this organisation) and
    // its link, with the audit entry.
    let mut more =
        vec![state.store.invitation_put(&person.tenant_id, &pending)?, state.store.person_joined(&person.tenant_id)?];
    if let Some((link, _)) = &link {
        more.push(state.store.link_put(link)?);
    }
    match state.store.create(&person, &audit, more).await? {
        Ok(()) => {}
        // Position 2 is the invitation, 3 the head count.
        Err(Refused(failed)) if failed.contains(&2) => return Err(Error::Conflict(MEMBER_ALREADY)),
        Err(Refused(failed)) if failed.contains(&3) => return Err(people_limit_reached()),
        Err(refused) => committed(Err(refused))?,
    }
    state.outbox.send(&invitation_envelope(&person, &tenant.name, link.map(|(_, token)| token))).await?;
    let created = Job::event(&person.tenant_id, EventType::PersonCreated, json!({ "person": person }), &now.iso);
    state.outbox.webhook(created).await?;
    Ok((StatusCode::CREATED, Json(person)))
}

/// The permission set `set_id` (if one is named) is the organisation's (404 otherwise), and the
/// caller holds every permission of it (403 otherwise).
async fn may_give_set(state: &AppState, caller: &Caller, set_id: Option<&str>) -> Result<(), Error> {
    let Some(set_id) = set_id else { return Ok(()) };
    let set = state.store.entity::<CustomPermissionSet>(&caller.tenant_id, set_id).await?.ok_or(Error::NotFound)?;
    caller.may_give(Permissions::of(&set.permissions))
}

/// The scope (if one is given) names the organisation's locations and units (404 otherwise) and
/// is within the caller's own (403 otherwise).
async fn may_give_scope(state: &AppState, caller: &Caller, scope: Option<&Scope>) -> Result<(), Error> {
    let Some(scope) = scope else { return Ok(()) };
    caller.may_give_scope(scope)?;
    tokio::try_join!(
        state.store.all_exist::<Location>(&caller.tenant_id, &scope.location_ids),
        state.store.all_exist::<Unit>(&caller.tenant_id, &scope.unit_ids),
    )?;
    Ok(())
}

/// A caller limited to units keeps the people they place within them.
fn in_units(caller: &Caller, unit_id: Option<&str>) -> Result<(), Error> {
    if caller.scope.sees_unit(unit_id) { Ok(()) } else { Err(Error::field("unit_id", "must be one of your units")) }
}

/// Counts an invitation, new or re-sent, against the organisation's limit: `429` past it.
async fn count_invitation(state: &AppState, tenant_id: &str, now: i64) -> Result<(), Error> {
    let counted = state.store.rate_limit_hit(&INVITES_PER_TENANT, tenant_id, now).await?;
    match INVITES_PER_TENANT.retry_after(counted, now) {
        Some(retry_after_secs) => Err(Error::RateLimited { retry_after_secs }),
        None => Ok(()),
    }
}

const MEMBER_ALREADY: &str = "this address is a member of the organisation already, or has an invitation waiting";

/// One person: coordinators and up see anyone, staff only themselves.
#[utoipa::path(get, path = "/people/{person_id}", tag = "people", security(("bearer" = [])),
    params(("person_id" = String, Path)),
    responses(
        (status = 200, description = "The person", body = Person),
        (status = 404, description = "No such person in this organisation (or not yours to see)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_person(
    State(state): State<AppState>,
    caller: Caller,
    Path(person_id): Path<String>,
) -> Result<Json<Person>, Error> {
    caller.require_unless_own(&person_id, Permission::PeopleRead)?;
    let person = caller.person_in_scope(state.store.entity(&caller.tenant_id, &person_id).await?)?;
    Ok(Json(seen_by(person, &caller)))
}

/// Omitted fields stay as they are; `unit_id: null` takes the person out of their unit. The
/// email cannot change.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "role": "coordinator" }))]
pub struct UpdatePerson {
    #[garde(length(chars, min = 1, max = 100), custom(not_blank))]
    #[schema(min_length = 1, max_length = 100, pattern = r"[^\s\x00-\x1f\x7f-\x9f]")]
    pub name: Option<String>,
    /// In international form (`+44 7911 123456`; spaces, dots, dashes and brackets allowed), a valid
    /// number of its country; kept as E.164 (`+447911123456`), which SMS and WhatsApp need.
    #[garde(custom(international_phone))]
    #[schema(max_length = 32, pattern = r"^ *(?:\+|00)[ ().-]*[1-9](?:[ ().-]*[0-9]){7,14}[ ().-]*$")]
    pub phone: Option<String>,
    /// Changing it ends the person's sessions; `owner` only by an owner.
    #[garde(skip)]
    pub role: Option<OrganisationRole>,
    /// `inactive` ends the person's sessions and stops their logins; `active` brings back a
    /// deactivated person (an invited one becomes active by accepting the invitation: 409).
    #[garde(skip)]
    pub status: Option<SettableStatus>,
    #[garde(skip)]
    pub employment_type: Option<EmploymentType>,
    #[garde(length(max = 50), inner(inner(length(min = 1, max = 64))))]
    #[schema(schema_with = texts_or_null::<50, 64>)]
    pub position_ids: Option<Vec<String>>,
    #[garde(range(max = 10_000_000))]
    #[schema(maximum = 10_000_000)]
    pub hourly_rate_minor: Option<u64>,
    /// Their number in the payroll system (ADP's File #, Gusto's employee ID); `null` clears it.
    #[serde(default, deserialize_with = "nullable")]
    #[garde(inner(inner(pattern(r"^[A-Za-z0-9_-]{1,20}$"))))]
    #[schema(value_type = Option<String>, nullable, pattern = r"^[A-Za-z0-9_-]{1,20}$")]
    pub payroll_id: Option<Option<String>>,
    #[garde(range(min = 1, max = 168))]
    #[schema(minimum = 1, maximum = 168)]
    pub weekly_hours_cap: Option<u32>,
    #[serde(default, deserialize_with = "nullable")]
    #[garde(inner(inner(length(min = 1, max = 64))))]
    #[schema(value_type = Option<String>, nullable, min_length = 1, max_length = 64)]
    pub unit_id: Option<Option<String>>,
    #[garde(dive)]
    pub emergency_contact: Option<EmergencyContact>,
    /// One of the organisation's permission sets (`GET /permission-sets`), held besides the role;
    /// `null` takes it away. Only someone who holds every permission of the set gives it; a change
    /// ends the person's sessions.
    #[serde(default, deserialize_with = "nullable")]
    #[garde(inner(inner(length(min = 1, max = 64))))]
    #[schema(value_type = Option<String>, nullable, min_length = 1, max_length = 64)]
    pub permission_set_id: Option<Option<String>>,
    /// The locations and units the person is limited to (empty lists: everywhere); only within
    /// the caller's own. A change ends the person's sessions.
    #[garde(dive)]
    pub scope: Option<Scope>,
    /// The `version` last read; when given, a stale write answers 409.
    #[garde(range(max = rota::validate::MAX_VERSION))]
    pub version: Option<u64>,
}

/// What an admin can set a person's status to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SettableStatus {
    Active,
    Inactive,
}

impl From<SettableStatus> for PersonStatus {
    fn from(status: SettableStatus) -> Self {
        match status {
            SettableStatus::Active => PersonStatus::Active,
            SettableStatus::Inactive => PersonStatus::Inactive,
        }
    }
}

/// Changes a person (admins). Nobody changes their own role or status here, and only an owner
/// changes an owner.
#[utoipa::path(patch, path = "/people/{person_id}", tag = "people", security(("bearer" = ["people.write"])),
    params(("person_id" = String, Path)), request_body = UpdatePerson,
    responses(
        (status = 200, description = "The updated person", body = Person),
        (status = 404, description = "No such person in this organisation (or within your units), or a position, unit, permission set or scope's location or unit named is not its", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`version` is stale, or the change does not fit the person's state; or `plan_limit_reached`: bringing them back would exceed the plan's people", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update_person(
    State(state): State<AppState>,
    caller: Caller,
    Path(person_id): Path<String>,
    ValidJson(mut update): ValidJson<UpdatePerson>,
) -> Result<Json<Person>, Error> {
    caller.require(Permission::PeopleWrite)?;
    let role = update.role.map(|role| may_grant(&caller, role)).transpose()?;
    let positions = update.position_ids.clone().unwrap_or_default();
    let unit = update.unit_id.clone().flatten();
    let set_id = update.permission_set_id.clone().flatten();
    if update.unit_id.is_some() {
        in_units(&caller, unit.as_deref())?;
    }
    let scope = update.scope.take().map(Scope::normalised);
    // Round trip 1: the person as they are, and the positions, unit, permission set and scope
    // named.
    let (before, ..) = tokio::try_join!(
        state.store.entity::<Person>(&caller.tenant_id, &person_id),
        state.store.all_exist::<Position>(&caller.tenant_id, &positions),
        state.store.all_exist::<Unit>(&caller.tenant_id, unit.as_slice()),
        may_give_set(&state, &caller, set_id.as_deref()),
        may_give_scope(&state, &caller, scope.as_ref()),
    )?;
    let before = caller.person_in_scope(before)?;
    if update.version.is_some_and(|version| version != before.version) {
        return Err(Error::Conflict(Person::STALE));
    }
    let mut after = before.clone();
    after.role = role.unwrap_or(after.role);
    if let Some(status) = update.status {
        if before.status == PersonStatus::Invited && status == SettableStatus::Active {
            return Err(Error::Conflict("an invited person becomes active by accepting the invitation"));
        }
        if before.joined_at.is_none() && status == SettableStatus::Active {
            return Err(Error::Conflict(
                "this person never accepted their invitation, which was revoked; invite the address again",
            ));
        }
        after.status = status.into();
    }
    if let Some(name) = update.name {
        after.name = name.trim().to_owned();
    }
    after.phone = update.phone.map(|phone| rota::phone::stored(&phone)).or(after.phone);
    after.employment_type = update.employment_type.unwrap_or(after.employment_type);
    after.position_ids = update.position_ids.unwrap_or(after.position_ids);
    after.hourly_rate_minor = update.hourly_rate_minor.or(after.hourly_rate_minor);
    after.payroll_id = update.payroll_id.unwrap_or(after.payroll_id);
    after.weekly_hours_cap = update.weekly_hours_cap.or(after.weekly_hours_cap);
    after.unit_id = update.unit_id.unwrap_or(after.unit_id);
    after.emergency_contact = update.emergency_contact.or(after.emergency_contact);
    after.permission_set_id = update.permission_set_id.unwrap_or(after.permission_set_id);
    after.scope = scope.unwrap_or(after.scope);
    may_change(&caller, &before, &after)?;
    Ok(Json(changed(&state, &caller.actor(), (before, after), "person.updated", (Vec::new(), "")).await?))
}

/// Deactivates a person (admins): their logins, refreshes and calendar feed stop at once; their
/// history stays.
#[utoipa::path(delete, path = "/people/{person_id}", tag = "people", security(("bearer" = ["people.write"])),
    params(("person_id" = String, Path)),
    responses(
        (status = 204, description = "Deactivated (or inactive already)"),
        (status = 404, description = "No such person in this organisation", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn deactivate_person(
    State(state): State<AppState>,
    caller: Caller,
    Path(person_id): Path<String>,
) -> Result<StatusCode, Error> {
    caller.require(Permission::PeopleWrite)?;
    // Round trip 1: the person as they are.
    let before = caller.person_in_scope(state.store.entity::<Person>(&caller.tenant_id, &person_id).await?)?;
    if before.status == PersonStatus::Inactive {
        return Ok(StatusCode::NO_CONTENT);
    }
    let after = Person { status: PersonStatus::Inactive, ..before.clone() };
    may_change(&caller, &before, &after)?;
    changed(&state, &caller.actor(), (before, after), "person.deactivated", (Vec::new(), "")).await?;
    let data = json!({ "person_id": person_id });
    state.outbox.webhook(Job::event(&caller.tenant_id, EventType::PersonDeactivated, data, &Now::get().iso)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Whether `caller` may make this change: nobody changes their own role, status or scope, only an
/// owner changes an owner, and a limited caller gives access (a role, a set, a return) only to
/// someone limited within their own scope.
fn may_change(caller: &Caller, before: &Person, after: &Person) -> Result<(), Error> {
    if access_changes(before, after) && after.id == caller.person_id {
        return Err(Error::Forbidden("nobody changes their own role, status or scope; ask another admin"));
    }
    if before.role == Role::Owner && caller.role != Role::Owner {
        return Err(Error::Forbidden("only an owner can change an owner"));
    }
    if access_changes(before, after) && after.status != PersonStatus::Inactive {
        caller.may_give_scope(&after.scope)?;
    }
    Ok(())
}

pub(crate) fn access_changes(before: &Person, after: &Person) -> bool {
    after.role != before.role
        || after.status != before.status
        || after.permission_set_id != before.permission_set_id
        || after.scope != before.scope
}

/// Writes a person's change (round trip 2), with `more` of the caller's (refused: `more_refused`).
/// When their role or status changes, the email claim changes with it and every session they
/// have ends, all in the one transaction.
pub(crate) async fn changed(
    state: &AppState,
    actor: &Actor,
    (before, mut after): (Person, Person),
    action: &str,
    (mut more, more_refused): (Vec<TransactWriteItem>, &'static str),
) -> Result<Person, Error> {
    let now = Now::get();
    after.touch(&now.iso);
    // Positions: 0 the person, 1 the audit entry, then the caller's own items.
    let theirs = 2..2 + more.len();
    if access_changes(&before, &after) {
        after.sessions_valid_after = Some(now.iso.clone());
        // Only a person who joined has a claim; an invitation carries its role when accepted.
        if after.joined_at.is_some() {
            more.push(state.store.claim_access(&after)?);
        }
    }
    if before.status == PersonStatus::Invited && after.status == PersonStatus::Inactive {
        // Revoked: the link stops working and the address may be invited again.
        more.push(state.store.invitation_revoke(&after.tenant_id, &after.email)?);
    }
    let mut head_count = None;
    match (before.status == PersonStatus::Inactive, after.status == PersonStatus::Inactive) {
        (false, true) => {
            more.push(state.store.people_count_change(&after.tenant_id, -1)?);
            // Their calendar feed's secret URL stops answering with them.
            more.push(state.store.calendar_feed_end(&after.tenant_id, &after.id)?);
        }
        (true, false) => {
            head_count = Some(2 + more.len());
            more.push(state.store.person_joined(&after.tenant_id)?);
        }
        _ => {}
    }
    let audit = AuditEntry::new(actor, action, ("person", &after.id), Some(&before), Some(&after), &now.iso);
    match state.store.update(&after, before.version, &audit, more).await? {
        Err(Refused(failed)) if head_count.is_some_and(|at| failed.contains(&at)) => Err(people_limit_reached()),
        Err(Refused(failed)) if failed.iter().any(|at| theirs.contains(at)) => Err(Error::Conflict(more_refused)),
        written => committed(written).map(|()| after),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InvitationSent {
    pub email: String,
    /// How long the emailed link works, in seconds.
    pub link_expires_in: i64,
}

/// Emails an invited person a new invitation link; the old link stops working (admins). Counts
/// against the organisation's 100 invitations an hour.
#[utoipa::path(post, path = "/people/{person_id}/invite", tag = "people", security(("bearer" = ["people.write"])),
    extensions(("x-rate-limit" = json!("100 invitations per organisation an hour, new and re-sent"))),
    params(("person_id" = String, Path)),
    responses(
        (status = 202, description = "A new invitation is on its way", body = InvitationSent),
        (status = 404, description = "No such person in this organisation", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The person has accepted already (or is inactive)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn resend_invitation(
    State(state): State<AppState>,
    caller: Caller,
    Path(person_id): Path<String>,
) -> Result<(StatusCode, Json<InvitationSent>), Error> {
    caller.require(Permission::PeopleWrite)?;
    let now = Now::get();
    // Round trip 1: the person and the organisation, and this invitation counted against the
    // organisation's limit, in parallel.
    let (person, tenant, ()) = tokio::try_join!(
        state.store.entity::<Person>(&caller.tenant_id, &person_id),
        state.store.tenant(&caller.tenant_id),
        count_invitation(&state, &caller.tenant_id, now.epoch),
    )?;
    let (person, tenant) = (caller.person_in_scope(person)?, tenant.ok_or(Error::NotFound)?);
    if person.status != PersonStatus::Invited {
        return Err(Error::Conflict("only an invited person gets an invitation; this one has accepted or is inactive"));
    }
    let (link, token) = new_link(LinkKind::Invitation, &person.tenant_id, &person.id, &person.email, now.epoch);
    let mut after = person.clone();
    after.touch(&now.iso);
    let audit = AuditEntry::new(
        &caller.actor(),
        "person.reinvited",
        ("person", &person.id),
        Some(&person),
        Some(&after),
        &now.iso,
    );
    // Round trip 2: the new link, which the invitation now names (so the old one is dead); and
    // whether the address has an account meanwhile, whose owner is told so instead of sent it.
    let more = vec![state.store.link_put(&link)?, state.store.link_point(&link)?];
    let (written, registered) = tokio::try_join!(
        state.store.update(&after, person.version, &audit, more),
        state.store.email_claim(&person.email)
    )?;
    committed(written)?;
    let token = registered.is_none().then_some(token);
    state.outbox.send(&invitation_envelope(&person, &tenant.name, token)).await?;
    let sent = InvitationSent { email: person.email, link_expires_in: INVITATION_SECS };
    Ok((StatusCode::ACCEPTED, Json(sent)))
}
