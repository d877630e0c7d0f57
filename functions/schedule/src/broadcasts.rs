//! `POST /broadcasts`, `GET /broadcasts` and `GET /broadcasts/{broadcast_id}`: an emergency
//! message to everyone on a shift of an event or a location now, the organisation's list of them,
//! and who each has reached.
//!
//! The request records the broadcast (with its audit entry; once per `Idempotency-Key`) and
//! queues one job for the notifier, which works out the people on site (published shifts whose
//! check-in window is open now, their assignments not declined) and sends each of them the
//! message on every channel they have (`notifier::broadcast`); each attempt is a line of the
//! broadcast, so the coordinator sees who has not been reached yet.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use garde::Validate;
use rota::auth::{Caller, Permission};
use rota::clock::Now;
use rota::error::Problem;
use rota::http::idempotency::{fingerprint, idempotency_key, kept, replayed};
use rota::http::{PageQuery, ValidJson, ValidQuery};
use rota::notify::{ChannelKind, Envelope, Message};
use rota::store::audit::AuditEntry;
use rota::store::broadcasts::{Broadcast, BroadcastSummary, Line, Scope};
use rota::store::notifications::DeliveryStatus;
use rota::store::page::Page;
use rota::store::people::Person;
use rota::store::places::Location;
use rota::store::schedule::Event;
use rota::validate::not_blank;
use rota::{AppState, Error};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Serialize, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "event_id": "01JSAMPLEEVENT000000000000", "message": "Fire alarm in hall B: leave by the east doors and gather at the car park.", "urgent": true }))]
pub struct NewBroadcast {
    /// Everyone on a shift of this event now (with `location_id`: at that location).
    #[garde(length(min = 1, max = 64))]
    #[schema(min_length = 1, max_length = 64)]
    pub event_id: Option<String>,
    /// Everyone on a shift at this location now (with `event_id`: of that event).
    #[garde(length(min = 1, max = 64))]
    #[schema(min_length = 1, max_length = 64)]
    pub location_id: Option<String>,
    /// What is happening and what to do (at most four SMS segments).
    #[garde(length(chars, min = 1, max = 600), custom(not_blank))]
    #[schema(min_length = 1, max_length = 600)]
    pub message: String,
    /// Urgent (the default): on every channel each person has, whatever they opted out of.
    /// Otherwise their opt-outs of `broadcast` messages are kept.
    #[garde(skip)]
    #[serde(default = "urgent")]
    pub urgent: bool,
}

fn urgent() -> bool {
    true
}

/// A broadcast and who it has reached.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BroadcastReport {
    pub id: String,
    pub scope: Scope,
    /// The event's and location's names.
    pub place: String,
    pub message: String,
    pub urgent: bool,
    pub sent_by: String,
    pub sent_by_name: String,
    pub created_at: String,
    /// When the people on site were worked out and their messages queued (none: not yet; the
    /// notifier does it within seconds).
    pub fanned_out_at: Option<String>,
    /// People it went to, those reached on at least one channel, and those not (yet).
    pub recipients: usize,
    pub reached: usize,
    pub not_reached: usize,
    /// Each person, those not reached first.
    pub people: Vec<PersonReport>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PersonReport {
    pub person_id: String,
    pub name: String,
    /// Sent or delivered on at least one channel.
    pub reached: bool,
    pub channels: Vec<ChannelReport>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ChannelReport {
    pub channel: ChannelKind,
    /// None: not tried yet.
    pub status: Option<DeliveryStatus>,
    pub at: Option<String>,
    pub detail: Option<String>,
}

impl BroadcastReport {
    fn of(broadcast: Broadcast, lines: &[Line]) -> Self {
        let mut people: Vec<PersonReport> = broadcast
            .recipients
            .iter()
            .map(|recipient| {
                let channels: Vec<ChannelReport> = recipient
                    .channels
                    .iter()
                    .map(|channel| {
                        let line =
                            lines.iter().find(|line| line.person_id == recipient.person_id && line.channel == *channel);
                        ChannelReport {
                            channel: *channel,
                            status: line.map(|line| line.status),
                            at: line.map(|line| line.at.clone()),
                            detail: line.and_then(|line| line.detail.clone()),
                        }
                    })
                    .collect();
                let reached = channels
                    .iter()
                    .any(|channel| matches!(channel.status, Some(DeliveryStatus::Sent | DeliveryStatus::Delivered)));
                PersonReport { person_id: recipient.person_id.clone(), name: recipient.name.clone(), reached, channels }
            })
            .collect();
        people.sort_by(|a, b| a.reached.cmp(&b.reached).then_with(|| a.name.cmp(&b.name)));
        let reached = people.iter().filter(|person| person.reached).count();
        Self {
            id: broadcast.id,
            scope: broadcast.scope,
            place: broadcast.place,
            message: broadcast.message,
            urgent: broadcast.urgent,
            sent_by: broadcast.sent_by,
            sent_by_name: broadcast.sent_by_name,
            created_at: broadcast.created_at,
            fanned_out_at: broadcast.fanned_out_at,
            recipients: people.len(),
            reached,
            not_reached: people.len() - reached,
            people,
        }
    }
}

/// Sends a message to everyone on a shift of an event or a location now (coordinators and up).
/// Send an `Idempotency-Key` so a retry or a double tap sends it once: the same key and body
/// within a day answer the same.
#[utoipa::path(post, path = "/broadcasts", tag = "scheduling", security(("bearer" = ["schedule.write"])),
    params(("Idempotency-Key" = Option<String>, Header, description = "1–128 visible ASCII characters; the same key and body within a day answer the same, sent once", max_length = 128, pattern = "^[!-~]{1,128}$")),
    request_body = NewBroadcast,
    responses(
        (status = 202, description = "Recorded and on its way (or the answer kept for this Idempotency-Key)", body = BroadcastReport),
        (status = 404, description = "No such event or location in this organisation (or of yours)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Neither event_id nor location_id (someone limited to locations: no location_id), or an Idempotency-Key used for another request", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn send_broadcast(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ValidJson(request): ValidJson<NewBroadcast>,
) -> Result<(StatusCode, Json<BroadcastReport>), Error> {
    caller.require(Permission::ScheduleWrite)?;
    let key = idempotency_key(&headers)?;
    if request.event_id.is_none() && request.location_id.is_none() {
        return Err(Error::field("event_id", "give event_id, location_id, or both"));
    }
    // Someone limited to some locations reaches the people at one of them, never an event's
    // people everywhere.
    caller.may_act_at(request.location_id.as_deref())?;
    let scope = Scope { event_id: request.event_id.clone(), location_id: request.location_id.clone() };
    let fingerprint = fingerprint("broadcast", &request)?;
    // Round trip 1: the answer kept for the key, the place, and the sender, in parallel.
    let (replay, place, sender) = tokio::try_join!(
        async {
            match &key {
                Some(key) => state.store.replay(&caller.tenant_id, &caller.person_id, key).await,
                None => Ok(None),
            }
        },
        place(&state, &caller.tenant_id, &scope),
        state.store.entity::<Person>(&caller.tenant_id, &caller.person_id),
    )?;
    if let Some(replay) = replay {
        return replayed(replay, &fingerprint);
    }
    let now = Now::get();
    let broadcast = Broadcast {
        id: ulid::Ulid::new().to_string(),
        tenant_id: caller.tenant_id.clone(),
        scope,
        place,
        message: request.message.trim().to_owned(),
        urgent: request.urgent,
        sent_by: caller.person_id.clone(),
        sent_by_name: sender.map(|person| person.name).unwrap_or_default(),
        created_at: now.iso.clone(),
        recipients: Vec::new(),
        fanned_out_at: None,
    };
    let report = BroadcastReport::of(broadcast.clone(), &[]);
    let audit = AuditEntry::new(
        &caller.actor(),
        "broadcast.sent",
        ("broadcast", &broadcast.id),
        None::<&Broadcast>,
        Some(&broadcast),
        &now.iso,
    );
    // Round trip 2: the broadcast, its audit entry and the answer kept for the key, together.
    let mut items = vec![state.store.broadcast_put(&broadcast)?, state.store.audit_put(&audit)?];
    if let Some(key) = &key {
        let replay = kept(&fingerprint, StatusCode::ACCEPTED, &report)?;
        items.push(state.store.replay_put(&caller.tenant_id, &caller.person_id, key, &replay, now.epoch)?);
    }
    if state.store.transact(items).await?.is_err() {
        // Another request with this key won: its answer.
        let key = key.as_deref().unwrap_or_default();
        return match state.store.replay(&caller.tenant_id, &caller.person_id, key).await? {
            Some(replay) => replayed(replay, &fingerprint),
            None => Err(Error::Conflict("a request with this Idempotency-Key is still in progress")),
        };
    }
    let message = Message::Broadcast {
        place: broadcast.place.clone(),
        from: broadcast.sent_by_name.clone(),
        text: broadcast.message.clone(),
        urgent: broadcast.urgent,
    };
    let job = Envelope {
        broadcast_id: Some(broadcast.id.clone()),
        ..Envelope::new(Some(&caller.tenant_id), None, "", message)
    };
    state.outbox.send(&job).await?;
    Ok((StatusCode::ACCEPTED, Json(report)))
}

/// The name of the broadcast's event or location (404 when it is not the organisation's).
async fn place(state: &AppState, tenant_id: &str, scope: &Scope) -> Result<String, Error> {
    let (event, location) = tokio::try_join!(
        async {
            match &scope.event_id {
                Some(id) => Ok(Some(state.store.entity::<Event>(tenant_id, id).await?.ok_or(Error::NotFound)?.title)),
                None => Ok(None),
            }
        },
        async {
            match &scope.location_id {
                Some(id) => Ok(Some(state.store.entity::<Location>(tenant_id, id).await?.ok_or(Error::NotFound)?.name)),
                None => Ok::<_, Error>(None),
            }
        },
    )?;
    Ok([event, location].into_iter().flatten().collect::<Vec<_>>().join(", "))
}

/// The organisation's broadcasts, newest first, with how many people each went to (coordinators
/// and up; those limited to some locations: the broadcasts to them).
#[utoipa::path(get, path = "/broadcasts", tag = "scheduling", security(("bearer" = ["schedule.write"])),
    params(PageQuery),
    responses(
        (status = 200, description = "A page of broadcasts", body = Page<BroadcastSummary>),
    ))]
pub async fn list_broadcasts(
    State(state): State<AppState>,
    caller: Caller,
    ValidQuery(query): ValidQuery<PageQuery>,
) -> Result<Json<Page<BroadcastSummary>>, Error> {
    caller.require(Permission::ScheduleWrite)?;
    // Round trip 1: a page of the organisation's broadcasts (of the caller's locations).
    let locations = caller.locations_to_read(None);
    Ok(Json(
        state.store.broadcasts(&caller.tenant_id, locations.as_deref(), query.limit, query.cursor.as_deref()).await?,
    ))
}

/// A broadcast: each person it went to, on which channels, and whether it has reached them
/// (coordinators and up).
#[utoipa::path(get, path = "/broadcasts/{broadcast_id}", tag = "scheduling", security(("bearer" = ["schedule.write"])),
    params(("broadcast_id" = String, Path)),
    responses(
        (status = 200, description = "The broadcast and who it has reached", body = BroadcastReport),
        (status = 404, description = "No such broadcast in this organisation", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_broadcast(
    State(state): State<AppState>,
    caller: Caller,
    Path(broadcast_id): Path<String>,
) -> Result<Json<BroadcastReport>, Error> {
    caller.require(Permission::ScheduleWrite)?;
    // Round trip 1: the broadcast's partition.
    let (broadcast, lines) = state.store.broadcast(&caller.tenant_id, &broadcast_id).await?.ok_or(Error::NotFound)?;
    if !caller.scope.location_ids.is_empty() {
        caller.within_location(broadcast.scope.location_id.as_deref().unwrap_or_default())?;
    }
    Ok(Json(BroadcastReport::of(broadcast, &lines)))
}
