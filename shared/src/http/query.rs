//! The query-string extractor: like [`super::ValidJson`], a parameter that is unknown, of the
//! wrong type or breaking a rule is 422 `validation_failed` naming it (axum's own `Query` would
//! answer a plain-text 400).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::Error;

pub struct ValidQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for ValidQuery<T>
where
    T: DeserializeOwned + garde::Validate<Context = ()>,
    S: Send + Sync,
{
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Error> {
        let query = parts.uri.query().unwrap_or_default();
        let deserializer = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        let value: T = serde_path_to_error::deserialize(deserializer).map_err(|error| {
            let path = error.path().to_string();
            let message = error.into_inner().to_string();
            // An unknown parameter has no path of its own: its name is in the message.
            let field = if path == "." { "query".to_owned() } else { path };
            Error::field(&field, &message)
        })?;
        value.validate()?;
        Ok(Self(value))
    }
}

/// Declares a list's query struct: its own filters (`garde` and `param` attributes as usual), then
/// the page every list takes, `limit` (1 to 100) and `cursor`, declared here once. (A flattened
/// page struct would do it without a macro, but `serde(flatten)` reads numbers as strings from a
/// query and cannot be combined with `deny_unknown_fields`.)
#[macro_export]
macro_rules! list_query {
    ($(#[$meta:meta])* pub struct $name:ident { $($(#[$field_meta:meta])* pub $field:ident: $type:ty),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, ::serde::Deserialize, ::garde::Validate, ::utoipa::IntoParams)]
        #[serde(deny_unknown_fields)]
        #[into_params(parameter_in = Query)]
        pub struct $name {
            $($(#[$field_meta])* pub $field: $type,)*
            /// Page size, 1 to 100 (50 by default).
            #[garde(range(min = 1, max = 100))]
            #[param(minimum = 1, maximum = 100)]
            pub limit: Option<u32>,
            /// `next_cursor` of the previous page.
            #[garde(length(max = 1024))]
            #[param(max_length = 1024)]
            pub cursor: Option<String>,
        }
    };
}

crate::list_query! {
    /// The query of a list that takes nothing but its page: `?limit=&cursor=`.
    pub struct PageQuery {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use garde::Validate;

    #[derive(Debug, serde::Deserialize, Validate)]
    #[serde(deny_unknown_fields)]
    struct Params {
        #[garde(range(min = 1, max = 100))]
        limit: Option<u32>,
        #[garde(skip)]
        q: Option<String>,
    }

    async fn extract(uri: &str) -> Result<Params, Error> {
        let (mut parts, _) = axum::http::Request::builder().uri(uri).body(()).unwrap().into_parts();
        ValidQuery::<Params>::from_request_parts(&mut parts, &()).await.map(|ValidQuery(params)| params)
    }

    fn field_of(error: Error) -> String {
        match error {
            Error::Validation(errors) => errors[0].field.clone(),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn parameters_are_typed_checked_and_named_when_wrong() {
        let params = extract("/people?limit=20&q=ann%20lee").await.unwrap();
        assert_eq!((params.limit, params.q.as_deref()), (Some(20), Some("ann lee")));
        assert_eq!(field_of(extract("/people?limit=many").await.unwrap_err()), "limit");
        assert_eq!(field_of(extract("/people?limit=0").await.unwrap_err()), "limit");
        let unknown = extract("/people?colour=red").await.unwrap_err();
        assert!(matches!(&unknown, Error::Validation(errors) if errors[0].message.contains("colour")));
    }
}
