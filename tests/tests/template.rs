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

/// A CloudFormation reference as one string: `!GetAtt Table.Arn` is `Table`, `!Sub
/// "${Files.Arn}/tenants/*"` is `Files/tenants/*`, `!Ref X` is `X`; a plain string stays as it is.
fn reference(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Tagged(tagged) => {
            let text = tagged.value.as_str().unwrap_or_else(|| panic!("an unexpected reference: {value:?}"));
            match tagged.tag.to_string().trim_start_matches('!') {
                "GetAtt" => text.trim_end_matches(".Arn").to_owned(),
                "Ref" => text.to_owned(),
                "Sub" => {
                    let mut text = text.to_owned();
                    while let (Some(start), Some(end)) = (text.find("${"), text.find(".Arn}")) {
                        let name = text[start + 2..end].to_owned();
                        text.replace_range(start..end + ".Arn}".len(), &name);
                    }
                    text
                }
                tag => panic!("an unexpected tag {tag} in {value:?}"),
            }
        }
        other => panic!("not a reference: {other:?}"),
    }
}

/// One value or a list of them, as a list.
fn one_or_many(value: &Value) -> Vec<&Value> {
    match value {
        Value::Sequence(values) => values.iter().collect(),
        Value::Null => Vec::new(),
        value => vec![value],
    }
}

/// One allowed statement of a function's policies: its actions, resources and condition.
#[derive(Debug)]
struct Statement {
    actions: BTreeSet<String>,
    resources: BTreeSet<String>,
    condition: Value,
}

/// A function's policies: its inline statements, and the SAM policy templates it uses with what
/// they name (`SQSSendMessagePolicy` → `NotificationQueue.QueueName`).
struct Policies {
    binary: String,
    statements: Vec<Statement>,
    templates: Vec<(String, String)>,
}

/// Every function's policies.
fn policies() -> Vec<Policies> {
    let template = template();
    let mut functions = Vec::new();
    for (_, resource) in template["Resources"].as_mapping().unwrap() {
        if resource["Type"].as_str() != Some("AWS::Serverless::Function") {
            continue;
        }
        let binary = resource["Metadata"]["BuildProperties"]["Binary"].as_str().unwrap().to_owned();
        let (mut statements, mut templates) = (Vec::new(), Vec::new());
        for policy in one_or_many(&resource["Properties"]["Policies"]) {
            for (name, body) in policy.as_mapping().unwrap() {
                let name = name.as_str().unwrap();
                if name != "Statement" {
                    let named =
                        body.as_mapping().and_then(|body| body.values().next()).map(reference).unwrap_or_default();
                    templates.push((name.to_owned(), named));
                    continue;
                }
                for statement in one_or_many(body) {
                    assert_eq!(statement["Effect"].as_str(), Some("Allow"), "{binary}: {statement:?}");
                    statements.push(Statement {
                        actions: one_or_many(&statement["Action"])
                            .into_iter()
                            .map(|a| a.as_str().unwrap().to_owned())
                            .collect(),
                        resources: one_or_many(&statement["Resource"]).into_iter().map(reference).collect(),
                        condition: statement["Condition"].clone(),
                    });
                }
            }
        }
        functions.push(Policies { binary, statements, templates });
    }
    functions
}

/// The actions a function may take on a resource, over all its statements.
fn actions_on(statements: &[Statement], resource: &str) -> BTreeSet<String> {
    statements.iter().filter(|s| s.resources.contains(resource)).flat_map(|s| s.actions.iter().cloned()).collect()
}

fn set(actions: &[&str]) -> BTreeSet<String> {
    actions.iter().map(|action| (*action).to_owned()).collect()
}

/// What a function may do to one table: `(on the table, on its indexes)`.
type TableActions = (&'static [&'static str], &'static [&'static str]);

const NOTHING: TableActions = (&[], &[]);

/// What each function's code calls, and nothing more (`rota::store` functions it uses, traced
/// down to the DynamoDB operations they send; a transaction's items are authorised as the
/// `PutItem`, `UpdateItem`, `DeleteItem` and `ConditionCheckItem` they are), on the main table
/// and on the secrets table. A function that starts calling something new fails in AWS with
/// AccessDenied, not here: add it to this table and to template.yaml together.
const TABLE_ACTIONS: [(&str, TableActions, TableActions); 11] = [
    // (binary, main table, secrets table)
    (
        "auth",
        (&["BatchGetItem", "ConditionCheckItem", "DeleteItem", "GetItem", "PutItem", "UpdateItem"], &["Query"]),
        (&["BatchGetItem", "BatchWriteItem", "DeleteItem", "GetItem", "PutItem", "UpdateItem"], &["Query"]),
    ),
    ("people", (&["BatchGetItem", "DeleteItem", "GetItem", "PutItem", "Query", "UpdateItem"], &["Query"]), NOTHING),
    (
        "schedule",
        (
            &["BatchGetItem", "ConditionCheckItem", "DeleteItem", "GetItem", "PutItem", "Query", "UpdateItem"],
            &["Query"],
        ),
        NOTHING,
    ),
    (
        "attendance",
        (
            &["BatchGetItem", "ConditionCheckItem", "DeleteItem", "GetItem", "PutItem", "Query", "UpdateItem"],
            &["Query"],
        ),
        NOTHING,
    ),
    (
        "payroll",
        (&["BatchGetItem", "BatchWriteItem", "DeleteItem", "GetItem", "PutItem", "Query", "UpdateItem"], &["Query"]),
        NOTHING,
    ),
    (
        "admin",
        (&["BatchGetItem", "ConditionCheckItem", "GetItem", "PutItem", "Query", "UpdateItem"], &["Query"]),
        NOTHING,
    ),
    ("billing", (&["GetItem", "PutItem", "Query", "UpdateItem"], &[]), NOTHING),
    ("notifier", (&["BatchGetItem", "DeleteItem", "GetItem", "PutItem", "Query", "UpdateItem"], &["Query"]), NOTHING),
    ("nightly", (&["BatchGetItem", "DeleteItem", "GetItem", "PutItem", "Query", "UpdateItem"], &["Query"]), NOTHING),
    (
        "importer",
        (&["BatchGetItem", "BatchWriteItem", "DeleteItem", "GetItem", "PutItem", "Query", "UpdateItem"], &[]),
        NOTHING,
    ),
    ("autofill", (&["BatchGetItem", "GetItem", "PutItem", "Query", "UpdateItem"], &["Query"]), NOTHING),
];

/// `(action, key pattern)` pairs.
type Objects = &'static [(&'static str, &'static str)];

/// The objects each function may read or write (presigned URLs are signed with its role), by
/// action and key pattern, and the prefixes it may list.
const BUCKET_ACTIONS: [(&str, Objects, &[&str]); 8] = [
    (
        "people",
        &[
            ("s3:GetObject", "tenants/*/support/*"),
            ("s3:PutObject", "tenants/*/imports/*"),
            ("s3:PutObject", "tenants/*/people/*"),
            ("s3:PutObject", "tenants/*/support/*"),
            ("s3:PutObjectTagging", "tenants/*/imports/*"),
        ],
        &["tenants/*/imports/*"],
    ),
    ("admin", &[("s3:GetObject", "tenants/*/support/*")], &[]),
    (
        "attendance",
        &[
            ("s3:GetObject", "tenants/*/attendance/*"),
            ("s3:GetObject", "tenants/*/exports/*"),
            ("s3:PutObject", "tenants/*/attendance/*"),
            ("s3:PutObject", "tenants/*/exports/*"),
        ],
        &["tenants/*/attendance/*"],
    ),
    ("payroll", &[("s3:GetObject", "tenants/*/exports/*"), ("s3:PutObject", "tenants/*/exports/*")], &[]),
    ("importer", &[("s3:GetObject", "tenants/*/imports/*")], &[]),
    ("schedule", &[("s3:GetObject", "tenants/*/auto-fill/*")], &[]),
    ("autofill", &[("s3:PutObject", "tenants/*/auto-fill/*")], &[]),
    ("billing", &[("s3:GetObject", "tenants/*/invoices/*"), ("s3:PutObject", "tenants/*/invoices/*")], &[]),
];

#[test]
fn every_function_may_call_only_the_dynamodb_actions_its_code_calls() {
    let functions = policies();
    let listed: BTreeSet<&str> = TABLE_ACTIONS.iter().map(|(binary, ..)| *binary).collect();
    let with_table: BTreeSet<&str> = functions
        .iter()
        .filter(|f| f.statements.iter().any(|s| s.actions.iter().any(|a| a.starts_with("dynamodb:"))))
        .map(|f| f.binary.as_str())
        .collect();
    assert_eq!(with_table, listed, "functions reaching the table");
    for (binary, main, secrets) in TABLE_ACTIONS {
        let statements = &functions.iter().find(|f| f.binary == binary).unwrap().statements;
        let prefixed =
            |actions: &[&str]| -> BTreeSet<String> { actions.iter().map(|a| format!("dynamodb:{a}")).collect() };
        for (table, (on_table, on_indexes)) in [("Table", main), ("SecretsTable", secrets)] {
            assert_eq!(actions_on(statements, table), prefixed(on_table), "{binary}: actions on {table}");
            let indexes = format!("{table}/index/*");
            assert_eq!(actions_on(statements, &indexes), prefixed(on_indexes), "{binary}: actions on {indexes}");
        }
        for statement in statements.iter().filter(|s| s.actions.iter().any(|a| a.starts_with("dynamodb:"))) {
            for resource in &statement.resources {
                let known = ["Table", "Table/index/*", "SecretsTable", "SecretsTable/index/*"];
                assert!(known.contains(&resource.as_str()), "{binary}: DynamoDB on {resource}");
            }
        }
    }
}

/// Credentials, sessions and 2FA are in the secrets table, which only the auth function's role
/// names and only its environment names: a function that parses untrusted input (people,
/// schedule, attendance, payroll) or a worker can neither read a password hash nor write one.
#[test]
fn only_the_auth_function_reaches_the_secrets_table() {
    let template = template();
    assert!(template["Resources"]["SecretsTable"]["Type"].as_str() == Some("AWS::DynamoDB::Table"));
    assert!(template["Globals"]["Function"]["Environment"]["Variables"]["ROTA_SECRETS_TABLE"].is_null());
    for (name, resource) in template["Resources"].as_mapping().unwrap() {
        let name = name.as_str().unwrap();
        let mentions = serde_yaml_ng::to_string(resource).unwrap().contains("SecretsTable");
        if resource["Type"].as_str() != Some("AWS::Serverless::Function") {
            assert!(!mentions, "{name} names the secrets table");
            continue;
        }
        let binary = resource["Metadata"]["BuildProperties"]["Binary"].as_str().unwrap();
        assert_eq!(mentions, binary == "auth", "{binary}: names the secrets table");
        let given = !resource["Properties"]["Environment"]["Variables"]["ROTA_SECRETS_TABLE"].is_null();
        assert_eq!(given, binary == "auth", "{binary}: ROTA_SECRETS_TABLE");
    }
    for policies in policies() {
        let reaches = policies.statements.iter().any(|s| s.resources.iter().any(|r| r.starts_with("SecretsTable")));
        assert_eq!(reaches, policies.binary == "auth", "{}: may reach the secrets table", policies.binary);
    }
}

#[test]
fn every_function_may_touch_only_its_own_files_and_list_only_prefixes() {
    let functions = policies();
    for Policies { binary, statements, .. } in &functions {
        let expected = BUCKET_ACTIONS.iter().find(|(name, ..)| name == binary);
        let mut objects = BTreeSet::new();
        let mut prefixes = BTreeSet::new();
        for statement in statements.iter().filter(|s| s.actions.iter().any(|a| a.starts_with("s3:"))) {
            for action in &statement.actions {
                if action == "s3:ListBucket" {
                    assert_eq!(statement.resources, set(&["Files"]), "{binary}: ListBucket on the bucket only");
                    let prefix = &statement.condition["StringLike"]["s3:prefix"];
                    assert!(!prefix.is_null(), "{binary}: s3:ListBucket without an s3:prefix condition");
                    prefixes.extend(one_or_many(prefix).into_iter().map(|p| p.as_str().unwrap().to_owned()));
                    continue;
                }
                for resource in &statement.resources {
                    let key =
                        resource.strip_prefix("Files/").unwrap_or_else(|| panic!("{binary}: {action} on {resource}"));
                    objects.insert((action.clone(), key.to_owned()));
                }
            }
        }
        let (want_objects, want_prefixes) = match expected {
            Some((_, objects, prefixes)) => {
                (objects.iter().map(|(a, k)| ((*a).to_owned(), (*k).to_owned())).collect(), set(prefixes))
            }
            None => (BTreeSet::new(), BTreeSet::new()),
        };
        assert_eq!(objects, want_objects, "{binary}: object actions");
        assert_eq!(prefixes, want_prefixes, "{binary}: listable prefixes");
        for prefix in &prefixes {
            assert!(prefix.starts_with("tenants/*/") && prefix.len() > "tenants/*/".len(), "{binary}: lists {prefix}");
        }
    }
}

/// No wildcard actions, no SAM policy template that grants more than its name says, and the
/// clients each HTTP function declares (`CLIENTS`) match what its role may use.
#[test]
fn no_function_has_a_broad_policy() {
    let clients = api_tests::declared_clients();
    for Policies { binary, statements, templates } in policies() {
        for statement in &statements {
            for action in &statement.actions {
                let (service, name) = action.split_once(':').unwrap_or_else(|| panic!("{binary}: action {action}"));
                assert!(!name.contains('*') && !service.is_empty(), "{binary}: a wildcard action {action}");
            }
            for resource in &statement.resources {
                assert_ne!(resource, "*", "{binary}: a statement on every resource");
            }
        }
        for (name, named) in &templates {
            // SQSSendMessagePolicy: sqs:SendMessage and the queue's attributes, on the named queue.
            assert_eq!(name, "SQSSendMessagePolicy", "{binary}: policy template {name} (write its statements out)");
            assert!(named.ends_with("Queue.QueueName"), "{binary}: {name} on {named}");
        }
        if let Some((_, declared)) = clients.iter().find(|(name, _)| *name == binary) {
            let sends = templates.iter().any(|(_, named)| named == "NotificationQueue.QueueName");
            assert_eq!(declared.outbox, sends, "{binary}: queues notifications iff CLIENTS.outbox");
            let files = statements.iter().any(|s| s.actions.iter().any(|a| a.starts_with("s3:")));
            assert_eq!(declared.files, files, "{binary}: reaches the bucket iff CLIENTS.files");
        }
    }
}

/// TOTP secrets are sealed with data keys that only the auth function is given and only it may
/// unwrap: `kms:Decrypt` on the template's key, under the keys' encryption context, and nothing
/// else of KMS anywhere.
#[test]
fn only_the_auth_function_may_unwrap_the_totp_keys() {
    let template = template();
    for policies in policies() {
        let kms: Vec<&Statement> =
            policies.statements.iter().filter(|s| s.actions.iter().any(|a| a.starts_with("kms:"))).collect();
        if policies.binary != "auth" {
            assert!(kms.is_empty(), "{}: KMS actions {kms:?}", policies.binary);
            continue;
        }
        let [decrypt] = kms.as_slice() else { panic!("auth: one KMS statement, not {kms:?}") };
        assert_eq!(decrypt.actions, set(&["kms:Decrypt"]));
        assert_eq!(decrypt.resources, set(&["TotpKey"]));
        let context = &decrypt.condition["StringEquals"]
            [format!("kms:EncryptionContext:{}", rota::auth::totp_keys::KMS_CONTEXT.0)];
        assert_eq!(context.as_str(), Some(rota::auth::totp_keys::KMS_CONTEXT.1));
    }
    for (name, resource) in template["Resources"].as_mapping().unwrap() {
        let variables = &resource["Properties"]["Environment"]["Variables"];
        let binary = resource["Metadata"]["BuildProperties"]["Binary"].as_str().unwrap_or_default();
        assert_eq!(!variables["ROTA_TOTP_KEYS"].is_null(), binary == "auth", "{name:?}: ROTA_TOTP_KEYS");
    }
    assert!(template["Globals"]["Function"]["Environment"]["Variables"]["ROTA_TOTP_KEYS"].is_null());
}

/// Observability, as the stack deploys it: every function traced and its logs kept for the
/// stack's retention; every dead-letter queue, the API's 5xx rate, every worker's errors and every
/// function's throttles watched by an alarm that tells the operator's topic when it fires and
/// clears; the dashboard showing every function (docs/operations.md).
#[test]
fn every_function_and_queue_is_watched() {
    let template = template();
    assert_eq!(template["Globals"]["Function"]["Tracing"].as_str(), Some("Active"));
    let resources = template["Resources"].as_mapping().unwrap();
    let of_type = |kind: &str| -> Vec<(String, String)> {
        resources
            .iter()
            .filter(|(_, resource)| resource["Type"].as_str() == Some(kind))
            .map(|(name, resource)| (name.as_str().unwrap().to_owned(), serde_yaml_ng::to_string(resource).unwrap()))
            .collect()
    };
    let functions = of_type("AWS::Serverless::Function");
    let workers: Vec<&str> =
        functions.iter().filter(|(_, text)| text.contains("Type: SQS")).map(|(name, _)| name.as_str()).collect();
    assert_eq!(workers, ["NotifierFunction", "NightlyFunction", "AutoFillFunction", "ImporterFunction"]);
    let logs = of_type("AWS::Logs::LogGroup");
    let alarms = of_type("AWS::CloudWatch::Alarm");
    let watched = |metric: &str, what: &str| {
        alarms.iter().any(|(_, alarm)| alarm.contains(&format!("MetricName: {metric}")) && alarm.contains(what))
    };
    for (function, _) in &functions {
        let group = format!("LogGroupName: !Sub /aws/lambda/${{{function}}}\n  RetentionInDays: !Ref LogRetentionDays");
        assert!(logs.iter().any(|(_, log)| log.contains(&group)), "{function} has no log group kept LogRetentionDays");
        assert!(watched("Throttles", &format!("!Ref {function}\n")), "no alarm watches {function}'s throttles");
    }
    for worker in &workers {
        assert!(watched("Errors", &format!("!Ref {worker}\n")), "no alarm watches {worker}'s errors");
    }
    let dead_letters: Vec<&str> = resources
        .iter()
        .filter(|(_, resource)| resource["Type"].as_str() == Some("AWS::SQS::Queue"))
        .filter_map(|(name, _)| name.as_str().filter(|name| name.ends_with("DeadLetterQueue")))
        .collect();
    assert_eq!(dead_letters.len(), 4, "{dead_letters:?}");
    for queue in dead_letters {
        let dimension = format!("!GetAtt {queue}.QueueName");
        assert!(watched("ApproximateNumberOfMessagesVisible", &dimension), "no alarm on {queue}'s depth");
    }
    assert!(watched("5xx", "!Ref Api"), "no alarm on the API's 5xx rate");
    for (name, alarm) in &alarms {
        for actions in ["AlarmActions", "OKActions"] {
            let tells = format!("{actions}: !If\n  - HasAlarmTopic\n  - - !Ref AlarmTopicArn");
            assert!(alarm.contains(&tells), "{name} does not tell the alarm topic ({actions}):\n{alarm}");
        }
    }
    let dashboard = of_type("AWS::CloudWatch::Dashboard");
    assert_eq!(dashboard.len(), 1);
    for (function, _) in &functions {
        assert!(dashboard[0].1.contains(&format!("${{{function}}}")), "the dashboard leaves {function} out");
    }
    // The API's own figures per route (rota::http's EMF line), DynamoDB's units among them.
    for metric in ["ReadUnits", "WriteUnits"] {
        assert!(dashboard[0].1.contains(metric), "the dashboard leaves {metric} out");
    }
}
