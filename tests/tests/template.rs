//! template.yaml deploys what the routers serve: every operation of every function is routed to
//! that function's Lambda, `GET /openapi.json` to the docs function, and nothing else is routed.

use std::collections::BTreeSet;

use serde_yaml_ng::Value;

fn template() -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../template.yaml");
    serde_yaml_ng::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// `(binary, METHOD, path)` for every HttpApi event of every function in template.yaml.
fn template_routes() -> BTreeSet<(String, String, String)> {
    let template = template();
    let mut routes = BTreeSet::new();
    for (name, resource) in template["Resources"].as_mapping().unwrap() {
        if resource["Type"].as_str() != Some("AWS::Serverless::Function") {
            continue;
        }
        let binary = resource["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .unwrap_or_else(|| panic!("{name:?} has no Metadata.BuildProperties.Binary"));
        for event in resource["Properties"]["Events"].as_mapping().into_iter().flat_map(|events| events.values()) {
            if event["Type"].as_str() == Some("HttpApi") {
                let properties = &event["Properties"];
                let method = properties["Method"].as_str().unwrap().to_uppercase();
                routes.insert((binary.to_owned(), method, properties["Path"].as_str().unwrap().to_owned()));
            }
        }
    }
    routes
}

/// `(binary, METHOD, path)` for every operation the routers serve, from their documents.
fn served_routes() -> BTreeSet<(String, String, String)> {
    let mut routes = BTreeSet::from([("docs".to_owned(), "GET".to_owned(), rota::http::OPENAPI_PATH.to_owned())]);
    for (binary, router) in dev_server::functions() {
        let (_, doc) = router.split_for_parts();
        for (path, item) in &doc.paths.paths {
            for method in serde_json::to_value(item).unwrap().as_object().unwrap().keys() {
                routes.insert((binary.to_owned(), method.to_uppercase(), path.clone()));
            }
        }
    }
    routes
}

#[test]
fn the_template_routes_exactly_what_the_routers_serve() {
    let (template, served) = (template_routes(), served_routes());
    assert!(served.len() >= 10, "read too few routes from the routers: {served:?}");
    let unrouted: Vec<_> = served.difference(&template).collect();
    let unserved: Vec<_> = template.difference(&served).collect();
    assert!(unrouted.is_empty(), "served but not routed in template.yaml (binary, method, path): {unrouted:?}");
    assert!(unserved.is_empty(), "routed in template.yaml but served by no router: {unserved:?}");
}

/// API Gateway answers CORS in AWS, the functions locally: the same methods, headers and max age.
#[test]
fn the_template_allows_what_the_functions_allow_cross_origin() {
    use rota::http::cors;
    let Value::Tagged(condition) = &template()["Resources"]["Api"]["Properties"]["CorsConfiguration"] else {
        panic!("the HTTP API's CorsConfiguration should be !If [HasCorsOrigins, ...]");
    };
    let cors_configuration = &condition.value[1];
    let list = |key: &str| -> Vec<String> {
        let values = cors_configuration[key].as_sequence().unwrap_or_else(|| panic!("{key} is not a list"));
        values.iter().map(|value| value.as_str().unwrap().to_lowercase()).collect()
    };
    let names = |names: &[axum::http::HeaderName]| -> Vec<String> { names.iter().map(|n| n.to_string()).collect() };
    let methods: Vec<String> = cors::ALLOWED_METHODS.iter().map(|m| m.as_str().to_lowercase()).collect();
    assert_eq!(list("AllowMethods"), methods);
    assert_eq!(list("AllowHeaders"), names(&cors::ALLOWED_HEADERS));
    assert_eq!(list("ExposeHeaders"), names(&cors::EXPOSED_HEADERS));
    assert_eq!(cors_configuration["MaxAge"].as_u64(), Some(cors::MAX_AGE_SECS));
    assert_eq!(cors_configuration["AllowCredentials"].as_bool(), Some(true));
}
