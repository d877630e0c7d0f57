//! Profile photos: the client asks for a presigned PUT and uploads the image straight to S3.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use garde::Validate;
use rota::auth::{Caller, Permission};
use rota::error::Problem;
use rota::files::{ImageType, MAX_PHOTO_BYTES, Upload};
use rota::http::ValidJson;
use rota::store::people::Person;
use rota::{AppState, Error};
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "content_type": "image/jpeg", "content_length": 48213 }))]
pub struct PhotoUpload {
    #[garde(skip)]
    pub content_type: ImageType,
    /// The file's exact size in bytes, at most 5 MiB.
    #[garde(range(min = 1, max = MAX_PHOTO_BYTES))]
    #[schema(minimum = 1, maximum = 5242880)]
    pub content_length: u64,
}

/// A presigned upload of a person's profile photo (the person themself, or an admin), valid 15
/// minutes. The photo lives at `tenants/{tenant_id}/people/{person_id}/photo.jpg` whatever its
/// type (the type is stored with the object); each upload replaces the last.
#[utoipa::path(post, path = "/people/{person_id}/photo", tag = "people", security(("bearer" = [])),
    params(("person_id" = String, Path)),
    request_body = PhotoUpload,
    responses(
        (status = 201, description = "PUT the photo to `url` with exactly `headers`", body = Upload),
        (status = 403, description = "Someone else's photo and not an admin (`forbidden`), or an admin without 2FA (`mfa_required`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such person in this organisation", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn photo_upload(
    State(state): State<AppState>,
    caller: Caller,
    Path(person_id): Path<String>,
    ValidJson(upload): ValidJson<PhotoUpload>,
) -> Result<(StatusCode, Json<Upload>), Error> {
    if person_id != caller.person_id {
        caller.require(Permission::PeopleWrite)?;
    }
    let person: Person = caller.person_in_scope(state.store.entity(&caller.tenant_id, &person_id).await?)?;
    let key = format!("tenants/{}/people/{}/photo.jpg", person.tenant_id, person.id);
    let upload = state.files.upload(key, upload.content_type.mime(), upload.content_length, chrono::Utc::now()).await?;
    Ok((StatusCode::CREATED, Json(upload)))
}
