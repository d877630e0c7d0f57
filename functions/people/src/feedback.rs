//! Supervisors' feedback on a worker: a rating and a note, visible to the worker.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use garde::Validate;
use rota::auth::{Caller, Permission};
use rota::clock::Now;
use rota::error::Problem;
use rota::http::{PageQuery, ValidJson, ValidQuery};
use rota::store::audit::AuditEntry;
use rota::store::feedback::Feedback;
use rota::store::page::Page;
use rota::store::people::Person;
use rota::{AppState, Error};
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "rating": 5, "note": "Calm and quick on a busy night." }))]
pub struct GiveFeedback {
    /// 1 (poor) to 5 (excellent).
    #[garde(range(min = 1, max = 5))]
    #[schema(minimum = 1, maximum = 5)]
    pub rating: u8,
    #[garde(length(chars, max = 2000))]
    #[schema(max_length = 2000)]
    pub note: Option<String>,
}

/// Gives a person feedback (coordinators and up; not on oneself).
#[utoipa::path(post, path = "/people/{person_id}/feedback", tag = "people", security(("bearer" = ["people.review"])),
    params(("person_id" = String, Path)), request_body = GiveFeedback,
    responses(
        (status = 201, description = "The feedback, now visible to the person", body = Feedback),
        (status = 404, description = "No such person in this organisation", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn give_feedback(
    State(state): State<AppState>,
    caller: Caller,
    Path(person_id): Path<String>,
    ValidJson(request): ValidJson<GiveFeedback>,
) -> Result<(StatusCode, Json<Feedback>), Error> {
    caller.require(Permission::PeopleReview)?;
    if person_id == caller.person_id {
        return Err(Error::Forbidden("feedback is for someone else"));
    }
    // Round trip 1: the person exists in this organisation (and the caller's units).
    caller.person_in_scope(state.store.entity::<Person>(&caller.tenant_id, &person_id).await?)?;
    let now = Now::get();
    let feedback = Feedback {
        id: ulid::Ulid::new().to_string(),
        tenant_id: caller.tenant_id.clone(),
        person_id,
        author_id: caller.person_id.clone(),
        rating: request.rating,
        note: rota::validate::trimmed(request.note),
        created_at: now.iso.clone(),
    };
    let audit = AuditEntry::new(
        &caller.actor(),
        "feedback.given",
        ("feedback", &feedback.id),
        None::<&Feedback>,
        Some(&feedback),
        &now.iso,
    );
    // Round trip 2: the feedback and its audit entry.
    state.store.put_feedback(&feedback, &audit).await?;
    Ok((StatusCode::CREATED, Json(feedback)))
}

/// A person's feedback, newest first: coordinators and up see anyone's, staff their own.
#[utoipa::path(get, path = "/people/{person_id}/feedback", tag = "people", security(("bearer" = [])),
    params(("person_id" = String, Path), PageQuery),
    responses(
        (status = 200, description = "A page of feedback", body = Page<Feedback>),
        (status = 404, description = "No such person in this organisation (or not yours to see)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_feedback(
    State(state): State<AppState>,
    caller: Caller,
    Path(person_id): Path<String>,
    ValidQuery(query): ValidQuery<PageQuery>,
) -> Result<Json<Page<Feedback>>, Error> {
    caller.require_unless_own(&person_id, Permission::PeopleReview)?;
    // Round trip 1: the person and their feedback, in parallel.
    let (person, page) = tokio::try_join!(
        state.store.entity::<Person>(&caller.tenant_id, &person_id),
        state.store.feedback_of(&caller.tenant_id, &person_id, query.limit, query.cursor.as_deref()),
    )?;
    caller.person_in_scope(person)?;
    Ok(Json(page))
}
