//! Running one GraphQL operation as the viewer — the web app's only way to data.

use async_graphql::Value;
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::context::{Viewer, Web};

/// One error of an operation, as the API answered it (in Dutch where a Dutch sentence exists).
#[derive(Debug, Clone)]
pub(crate) struct GqlError {
    /// `extensions.code`: `VALIDATION`, `INVALID_TRANSITION`, `CONFLICT`, `FORBIDDEN`, …
    pub(crate) code: String,
    /// `extensions.reason`: the broken rule's slug.
    pub(crate) reason: Option<String>,
    /// `extensions.field`: the input field at fault.
    pub(crate) field: Option<String>,
    /// The sentence.
    pub(crate) message: String,
}

impl GqlError {
    fn internal(message: &str) -> GqlError {
        GqlError {
            code: "INTERNAL".into(),
            reason: None,
            field: None,
            message: message.into(),
        }
    }
}

/// Runs `query` with `variables` as the viewer; the `data` deserialised as `T`, or the first
/// error. A response that does not fit `T` is our bug and reported as `INTERNAL`.
pub(crate) async fn run<T: DeserializeOwned>(
    web: &Web,
    viewer: &Viewer,
    query: &str,
    variables: serde_json::Value,
) -> Result<T, GqlError> {
    let request = async_graphql::Request::new(query)
        .variables(async_graphql::Variables::from_json(variables));
    let response = jeugdpad_api::session::execute(
        &web.schema,
        &viewer.session,
        &viewer.client,
        viewer.method.clone(),
        request,
    )
    .await;
    if let Some(error) = response.errors.first() {
        let extension = |name: &str| -> Option<String> {
            match error.extensions.as_ref()?.get(name)? {
                Value::String(s) => Some(s.clone()),
                _ => None,
            }
        };
        if extension("code").is_none() {
            tracing::error!(message = %error.message, "a web page's GraphQL operation did not validate");
        }
        return Err(GqlError {
            code: extension("code").unwrap_or_else(|| "INTERNAL".into()),
            reason: extension("reason"),
            field: extension("field"),
            message: error.message.clone(),
        });
    }
    let data = response.data.into_json().unwrap_or(json!(null));
    serde_json::from_value(data).map_err(|error| {
        tracing::error!(%error, "a web page's GraphQL answer did not have the expected shape");
        GqlError::internal("Er ging iets mis aan onze kant. Probeer het opnieuw.")
    })
}
