//! The OpenAPI document: what every function's routes declare, plus what every operation of a
//! kind can answer, added here once instead of in each handler.
//!
//! - an operation with a JSON body can answer 400, 413, 415 and 422;
//! - a protected one (`security(("bearer" = []))`) 401, and 403 when it names the permission it
//!   requires as its scope (`security(("bearer" = ["schedule.write"]))`): `forbidden` without
//!   it, or `mfa_required` for an owner or admin whose session has not passed two-factor
//!   authentication while the organisation requires it (what `Caller::require` answers);
//! - one marked `extensions(("x-rate-limit" = json!("…")))` 429 with `Retry-After`;
//! - every operation 500.
//!
//! A response a handler declares itself (with its own description) is kept as it is. The SCIM
//! endpoints (`/scim/v2/…`, security `scim`: the organisation's SCIM token) declare their own
//! errors, in SCIM's form; what any of them can answer (400, 401, 403, 413, 415, 500) is added in
//! that form here.

use utoipa::openapi::header::Header;
use utoipa::openapi::path::{HttpMethod, Operation, OperationBuilder};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{
    ComponentsBuilder, ContentBuilder, InfoBuilder, ObjectBuilder, OpenApi, Ref, RefOr, Response, ResponseBuilder,
    Schema, Type,
};
use utoipa::{PartialSchema, ToSchema};

use crate::error::{Problem, ScimError};

pub const OPENAPI_PATH: &str = "/openapi.json";

/// The bearer security scheme's name, as handlers reference it.
pub const BEARER: &str = "bearer";
/// The SCIM endpoints' scheme: the organisation's SCIM token as a bearer token.
pub const SCIM: &str = "scim";

/// The extension that marks a rate-limited operation; its value says which limits apply.
pub const RATE_LIMIT_EXTENSION: &str = "x-rate-limit";

/// A response every operation of some kind can give, as a component under `name`.
struct Standard {
    status: &'static str,
    name: &'static str,
    description: &'static str,
    header: Option<(&'static str, &'static str)>,
}

const INVALID_REQUEST: Standard = Standard {
    status: "400",
    name: "InvalidRequest",
    description: "The body is not JSON at all (`invalid_request`)",
    header: None,
};
const PAYLOAD_TOO_LARGE: Standard = Standard {
    status: "413",
    name: "PayloadTooLarge",
    description: "The body is larger than 1 MiB (`payload_too_large`)",
    header: None,
};
const UNSUPPORTED_MEDIA_TYPE: Standard = Standard {
    status: "415",
    name: "UnsupportedMediaType",
    description: "A body sent without `Content-Type: application/json` (`unsupported_media_type`)",
    header: None,
};
const VALIDATION_FAILED: Standard = Standard {
    status: "422",
    name: "ValidationFailed",
    description: "Unknown, missing or wrongly typed fields, or values breaking a rule; `errors` names every \
                  field (`validation_failed`)",
    header: None,
};
const UNAUTHORIZED: Standard = Standard {
    status: "401",
    name: "Unauthorized",
    description: "No valid access token (`unauthorized`)",
    header: Some(("WWW-Authenticate", "`Bearer`")),
};
const FORBIDDEN: Standard = Standard {
    status: "403",
    name: "Forbidden",
    description: "The caller does not hold the permission this needs (`forbidden`; the operation's bearer scope \
                  names it), or the caller is an owner, admin or platform \
                  admin whose session has not passed two-factor authentication while the organisation requires it \
                  (`mfa_required`: turn 2FA on with `POST /auth/2fa/setup`, then log in with a code)",
    header: None,
};
const RATE_LIMITED: Standard = Standard {
    status: "429",
    name: "RateLimited",
    description: "Too many requests (`rate_limited`); `Retry-After` says when to try again",
    header: Some(("Retry-After", "Seconds until the limit's window ends")),
};
const INTERNAL_ERROR: Standard = Standard {
    status: "500",
    name: "InternalError",
    description: "An unexpected error; logged, answered without detail (`internal_error`)",
    header: None,
};

/// Completes a function's (or the merged) document: title, security scheme, the document's own
/// route and the standard responses.
pub fn complete(doc: &mut OpenApi) {
    doc.info = InfoBuilder::new()
        .title("Rota API")
        .version(env!("CARGO_PKG_VERSION"))
        .description(Some(
            "Staff scheduling and attendance. JSON with snake_case keys; errors are RFC 9457 \
             `application/problem+json` with a machine-readable `code`.",
        ))
        .build();
    doc.paths.add_path_operation(
        OPENAPI_PATH,
        vec![HttpMethod::Get],
        OperationBuilder::new()
            .operation_id(Some("openapi"))
            .tag("docs")
            .summary(Some("This OpenAPI 3.1 document"))
            .response(
                "200",
                ResponseBuilder::new()
                    .description("The document")
                    .content("application/json", ContentBuilder::new().schema(Some(object(Type::Object))).build())
                    .build(),
            ),
    );

    let components = doc.components.get_or_insert_with(|| ComponentsBuilder::new().build());
    components.add_security_scheme(
        BEARER,
        SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").build()),
    );
    components.add_security_scheme(
        SCIM,
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some("The organisation's SCIM token (`POST /tenant/scim/token`)"))
                .build(),
        ),
    );
    let mut schemas = vec![(Problem::name().into_owned(), Problem::schema())];
    Problem::schemas(&mut schemas);
    components.schemas.extend(schemas);
    for standard in [
        &INVALID_REQUEST,
        &PAYLOAD_TOO_LARGE,
        &UNSUPPORTED_MEDIA_TYPE,
        &VALIDATION_FAILED,
        &UNAUTHORIZED,
        &FORBIDDEN,
        &RATE_LIMITED,
        &INTERNAL_ERROR,
    ] {
        components.responses.insert(standard.name.into(), RefOr::T(problem_response(standard)));
    }

    for (path, item) in doc.paths.paths.iter_mut() {
        let operations = [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch];
        for operation in operations.into_iter().flatten() {
            if path.starts_with(super::scim::SCIM_PREFIX) {
                add_scim_standard_responses(operation);
            } else {
                add_standard_responses(operation);
            }
        }
    }
}

/// A SCIM operation's answers, in SCIM's form, to what any of them can meet: a bad value, a
/// missing or wrong token, a suspended organisation, a body too large or not JSON, and a bug.
fn add_scim_standard_responses(operation: &mut Operation) {
    let has_body = operation.request_body.is_some();
    let has_query = has_query(operation);
    let applicable = [
        (
            has_body || has_query,
            "400",
            "A value breaks a rule (`invalidValue`, naming it) or the body is not JSON (`invalidSyntax`)",
        ),
        (true, "401", "No valid SCIM token"),
        (true, "403", "The organisation is suspended"),
        (has_body, PAYLOAD_TOO_LARGE.status, PAYLOAD_TOO_LARGE.description),
        (has_body, UNSUPPORTED_MEDIA_TYPE.status, UNSUPPORTED_MEDIA_TYPE.description),
        (true, INTERNAL_ERROR.status, INTERNAL_ERROR.description),
    ];
    for (_, status, description) in applicable.into_iter().filter(|(applies, ..)| *applies) {
        let content = ContentBuilder::new().schema(Some(Ref::from_schema_name(ScimError::name()))).build();
        let response = ResponseBuilder::new().description(description).content(super::scim::SCIM_JSON, content);
        operation.responses.responses.entry(status.into()).or_insert(RefOr::T(response.build()));
    }
}

fn add_standard_responses(operation: &mut Operation) {
    let (protected, permission) = bearer_permission(operation);
    let has_body = operation.request_body.is_some();
    // Query parameters are checked like bodies (`ValidQuery`): a wrong one is 422 too.
    let has_query = has_query(operation);
    let limited = operation.extensions.as_ref().is_some_and(|extensions| extensions.contains_key(RATE_LIMIT_EXTENSION));
    let applicable = [
        (has_body, &INVALID_REQUEST),
        (has_body, &PAYLOAD_TOO_LARGE),
        (has_body, &UNSUPPORTED_MEDIA_TYPE),
        (has_body || has_query, &VALIDATION_FAILED),
        (protected, &UNAUTHORIZED),
        (permission, &FORBIDDEN),
        (limited, &RATE_LIMITED),
        (true, &INTERNAL_ERROR),
    ];
    for (_, standard) in applicable.into_iter().filter(|(applies, _)| *applies) {
        let reference = Ref::new(format!("#/components/responses/{}", standard.name));
        operation.responses.responses.entry(standard.status.into()).or_insert(RefOr::Ref(reference));
    }
}

fn has_query(operation: &Operation) -> bool {
    operation
        .parameters
        .iter()
        .flatten()
        .any(|parameter| matches!(parameter, RefOr::T(p) if matches!(p.parameter_in, utoipa::openapi::path::ParameterIn::Query)))
}

/// Whether the operation takes a bearer token, and whether it names a required permission (its
/// scope).
fn bearer_permission(operation: &Operation) -> (bool, bool) {
    let requirements = serde_json::to_value(&operation.security).unwrap_or_default();
    let scopes: Vec<&serde_json::Value> =
        requirements.as_array().into_iter().flatten().filter_map(|requirement| requirement.get(BEARER)).collect();
    let named = scopes.iter().any(|scopes| scopes.as_array().is_some_and(|names| !names.is_empty()));
    (!scopes.is_empty(), named)
}

fn problem_response(standard: &Standard) -> Response {
    let content = ContentBuilder::new().schema(Some(Ref::from_schema_name(Problem::name()))).build();
    let mut response =
        ResponseBuilder::new().description(standard.description).content("application/problem+json", content);
    if let Some((name, description)) = standard.header {
        let header = Header::builder().schema(Some(object(Type::String)));
        response = response.header(name, header.description(Some(description)).build());
    }
    response.build()
}

fn object(kind: Type) -> Schema {
    Schema::from(ObjectBuilder::new().schema_type(kind))
}

#[cfg(test)]
mod tests {
    use utoipa::openapi::security::SecurityRequirement;

    use super::*;

    fn responses(operation: OperationBuilder) -> Vec<String> {
        let mut operation = operation.build();
        add_standard_responses(&mut operation);
        operation.responses.responses.keys().cloned().collect()
    }

    #[test]
    fn an_operation_naming_a_permission_can_answer_403_forbidden_or_mfa_required() {
        let writes = OperationBuilder::new().security(SecurityRequirement::new(BEARER, ["schedule.write"]));
        assert_eq!(responses(writes), ["401", "403", "500"]);
        let anyone = OperationBuilder::new().security(SecurityRequirement::new(BEARER, Vec::<String>::new()));
        assert_eq!(responses(anyone), ["401", "500"], "self-service needs no permission and no second factor");
        let forbidden = serde_json::to_value(problem_response(&FORBIDDEN)).unwrap();
        let description = forbidden["description"].as_str().unwrap();
        assert!(description.contains("`forbidden`") && description.contains("`mfa_required`"), "{description}");
    }
}
