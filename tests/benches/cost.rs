//! `make cost`: what a million requests cost. Replays an organisation-day of 200 staff
//! (`api_tests::cost`, the mix in docs/cost.md) against the local stack, and prices each route's
//! DynamoDB units (modelled from the items, `rota::store::consumed`) and Lambda time (measured
//! here, each call's whole time against moto on loopback, billed by the millisecond at its
//! function's memory in template.yaml) at list prices. Writes docs/cost.md (the whole table),
//! docs/cost.svg (cost per route) and README's summary between its `cost` markers.

use std::collections::BTreeMap;
use std::fmt::Write;

use api_tests::cost::{Call, Replay, organisation_day};
use api_tests::spawn_app;
use rota::store::consumed::Touch;
use rota::store::heat::{Access, Heat, heat};

const STAFF: usize = 200;
/// Days an organisation works in a month, for the cost per person.
const DAYS_A_MONTH: f64 = 30.0;

// List prices, US East (N. Virginia), on-demand, as of 2026-12.
/// Lambda on arm64, per GB-second and per request.
const LAMBDA_GB_SECOND: f64 = 0.000_013_333_4;
const LAMBDA_REQUEST: f64 = 0.000_000_2;
/// DynamoDB on-demand, per read and per write request unit.
const READ_UNIT: f64 = 0.125 / 1e6;
const WRITE_UNIT: f64 = 0.625 / 1e6;
/// API Gateway HTTP API, per request (shown apart: it is the same for every route).
const API_GATEWAY_REQUEST: f64 = 1.0 / 1e6;

/// A route's share of the day.
#[derive(Default)]
struct Route {
    function: String,
    memory_mb: f64,
    calls: usize,
    read_units: f64,
    write_units: f64,
    round_trips: usize,
    billed_ms: f64,
}

impl Route {
    fn per_call(&self, total: f64) -> f64 {
        total / self.calls as f64
    }

    /// Lambda's dollars for the route's calls: its billed time at its memory, and each request.
    fn lambda(&self) -> f64 {
        self.billed_ms / 1000.0 * self.memory_mb / 1024.0 * LAMBDA_GB_SECOND + self.calls as f64 * LAMBDA_REQUEST
    }

    fn dynamodb(&self) -> f64 {
        self.read_units * READ_UNIT + self.write_units * WRITE_UNIT
    }
}

/// Each function's memory (MB), from template.yaml: its own `MemorySize`, else the global one.
fn memory() -> BTreeMap<String, f64> {
    let template = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml")).unwrap();
    let template: serde_yaml_ng::Value = serde_yaml_ng::from_str(&template).unwrap();
    let global = template["Globals"]["Function"]["MemorySize"].as_f64().unwrap();
    let resources = template["Resources"].as_mapping().unwrap();
    let mut memory = BTreeMap::new();
    for (name, resource) in resources {
        let Some(function) = name.as_str().unwrap().strip_suffix("Function") else { continue };
        let size = resource["Properties"]["MemorySize"].as_f64().unwrap_or(global);
        memory.insert(function.to_lowercase(), size);
    }
    memory
}

/// The function serving each route (`GET /me/shifts` → `people`), from the routers themselves.
fn functions() -> BTreeMap<String, String> {
    let mut functions = BTreeMap::new();
    for (function, router) in dev_server::functions() {
        let (_, document) = router.split_for_parts();
        for (path, item) in &document.paths.paths {
            let methods = [
                ("GET", item.get.is_some()),
                ("POST", item.post.is_some()),
                ("PUT", item.put.is_some()),
                ("PATCH", item.patch.is_some()),
                ("DELETE", item.delete.is_some()),
            ];
            for (method, _) in methods.iter().filter(|(_, served)| *served) {
                functions.insert(format!("{method} {path}"), function.to_owned());
            }
        }
    }
    functions
}

fn routes(calls: &[Call]) -> BTreeMap<String, Route> {
    let (memory, functions) = (memory(), functions());
    let mut routes: BTreeMap<String, Route> = BTreeMap::new();
    for call in calls {
        let route = routes.entry(call.route.clone()).or_default();
        // A worker's run is named `notifier (a message)`: its first word is the function.
        let function = functions.get(&call.route).cloned();
        route.function = function.unwrap_or_else(|| call.route.split(' ').next().unwrap().to_owned());
        route.memory_mb = memory[&route.function];
        route.calls += call.count;
        route.read_units += call.spent.consumed.read_units;
        route.write_units += call.spent.consumed.write_units;
        route.round_trips += call.spent.round_trips;
        // Billed per millisecond, each invocation (a worker's run stands for `count` of them).
        let per_invocation = call.elapsed.as_secs_f64() * 1000.0 / call.count as f64;
        route.billed_ms += per_invocation.ceil() * call.count as f64;
    }
    routes
}

fn dollars_per_million(dollars: f64, calls: usize) -> f64 {
    dollars / calls as f64 * 1e6
}

fn table(routes: &[(&String, &Route)]) -> String {
    let mut out = String::from(
        "| route | function (MB) | calls a day | read units | write units | round trips | billed ms | Lambda $/M | DynamoDB $/M | $/M |\n|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for (name, route) in routes {
        let (lambda, dynamodb) =
            (dollars_per_million(route.lambda(), route.calls), dollars_per_million(route.dynamodb(), route.calls));
        writeln!(
            out,
            "| `{name}` | {} ({}) | {} | {:.1} | {:.1} | {:.1} | {:.0} | {lambda:.2} | {dynamodb:.2} | {:.2} |",
            route.function,
            route.memory_mb,
            route.calls,
            route.per_call(route.read_units),
            route.per_call(route.write_units),
            route.per_call(route.round_trips as f64),
            route.per_call(route.billed_ms),
            lambda + dynamodb,
        )
        .unwrap();
    }
    out
}

/// Horizontal bars of each route's $ per million calls, Lambda and DynamoDB stacked.
fn chart(routes: &[(&String, &Route)]) -> String {
    let (label, bars, row) = (330.0, 420.0, 20.0);
    let most = routes.iter().map(|(_, r)| dollars_per_million(r.lambda() + r.dynamodb(), r.calls)).fold(0.0, f64::max);
    let height = row * (routes.len() as f64 + 2.5);
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"12\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"8\" y=\"16\" font-weight=\"bold\">$ per million calls, by route ({STAFF}-staff organisation-day; Lambda arm64 + DynamoDB on-demand)</text>\n",
        label + bars + 70.0
    );
    for (n, (name, route)) in routes.iter().enumerate() {
        let y = row * (n as f64 + 1.5);
        let lambda = dollars_per_million(route.lambda(), route.calls);
        let dynamodb = dollars_per_million(route.dynamodb(), route.calls);
        let (lambda_width, dynamodb_width) = (lambda / most * bars, dynamodb / most * bars);
        writeln!(
            svg,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>\
             <rect x=\"{label}\" y=\"{}\" width=\"{lambda_width:.1}\" height=\"14\" fill=\"#f59e0b\"/>\
             <rect x=\"{:.1}\" y=\"{}\" width=\"{dynamodb_width:.1}\" height=\"14\" fill=\"#2563eb\"/>\
             <text x=\"{:.1}\" y=\"{}\">{:.2}</text>",
            label - 6.0,
            y + 11.0,
            name.replace('&', "&amp;").replace('<', "&lt;"),
            y,
            label + lambda_width,
            y,
            label + lambda_width + dynamodb_width + 4.0,
            y + 11.0,
            lambda + dynamodb,
        )
        .unwrap();
    }
    let y = height - 10.0;
    writeln!(
        svg,
        "<rect x=\"{label}\" y=\"{}\" width=\"10\" height=\"10\" fill=\"#f59e0b\"/><text x=\"{}\" y=\"{y}\">Lambda</text>\
         <rect x=\"{}\" y=\"{}\" width=\"10\" height=\"10\" fill=\"#2563eb\"/><text x=\"{}\" y=\"{y}\">DynamoDB</text>\n</svg>",
        y - 9.0,
        label + 14.0,
        label + 80.0,
        y - 9.0,
        label + 94.0,
    )
    .unwrap();
    svg
}

/// The people of the large organisation, their check-ins in its morning's ten minutes.
const MORNING_PEOPLE: usize = 50_000;
const MORNING_SECS: f64 = 600.0;
/// The organisations of the platform, their jobs and messages in one hour.
const ORGANISATIONS: usize = 10_000;
const HOUR_SECS: f64 = 3600.0;

/// When the `n`th of `count` arrivals comes in `span` seconds: arrivals rise to a peak halfway
/// and fall again (a triangle: the busiest second sees twice the mean), placed deterministically.
fn arrival(n: usize, count: usize, span: f64) -> i64 {
    let quantile = (n as f64 + 0.5) / count as f64;
    let share = if quantile < 0.5 { (quantile / 2.0).sqrt() } else { 1.0 - ((1.0 - quantile) / 2.0).sqrt() };
    (share * span * 1000.0) as i64
}

/// `call`'s touches as the `n`th of many like it at `at_ms`: a partition its route touched in one
/// call only is the caller's own (a copy per `n`), one touched by several is shared by all.
fn accesses_of(call: &Call, shared: &dyn Fn(&str) -> bool, n: usize, at_ms: i64, out: &mut Vec<Access>) {
    for Touch { partition, read_units, write_units } in &call.spent.consumed.touches {
        let partition = if shared(partition) { partition.clone() } else { format!("{partition}#{n}") };
        out.push(Access { partition, at_ms, read_units: *read_units, write_units: *write_units });
    }
}

/// Partitions touched by more than one call of `route` in the replay.
fn shared_by(calls: &[Call], route: &str) -> std::collections::BTreeSet<String> {
    let mut seen = BTreeMap::<&str, usize>::new();
    for call in calls.iter().filter(|call| call.route == route) {
        let partitions: std::collections::BTreeSet<&str> =
            call.spent.consumed.touches.iter().map(|touch| touch.partition.as_str()).collect();
        for partition in partitions {
            *seen.entry(partition).or_default() += 1;
        }
    }
    seen.into_iter().filter(|(_, calls)| *calls > 1).map(|(partition, _)| partition.to_owned()).collect()
}

/// (a) One organisation of 50,000 people at 09:00: each opens the app (session renewed, schedule
/// read) a minute before checking in, the check-ins in ten minutes; a coordinator for each 40
/// watches the gate each minute.
fn morning(replay: &Replay) -> Vec<Access> {
    let mut accesses = Vec::new();
    let calls = &replay.calls;
    let of = |route: &str| -> Vec<&Call> { calls.iter().filter(|call| call.route == route).collect() };
    let routes = [("POST /auth/refresh", -60_000), ("GET /me/shifts", -60_000), ("POST /attendance/check-in", 0)];
    for (route, offset) in routes {
        let (templates, shared) = (of(route), shared_by(calls, route));
        let shared = |partition: &str| shared.contains(partition);
        for n in 0..MORNING_PEOPLE {
            let at = arrival(n, MORNING_PEOPLE, MORNING_SECS) + offset;
            accesses_of(templates[n % templates.len()], &shared, n, at, &mut accesses);
        }
    }
    let gate = "GET /locations/{location_id}/on-site";
    let template = of(gate)[0];
    let watchers = MORNING_PEOPLE / 40;
    for minute in 0..(MORNING_SECS / 60.0) as usize {
        for n in 0..watchers {
            let at = (minute * 60_000 + n * 60_000 / watchers) as i64;
            accesses_of(template, &|_| true, n, at, &mut accesses);
        }
    }
    accesses
}

/// (b) 10,000 organisations in one hour: each one's nightly jobs and the messages of its day and
/// night (reminders among them), each organisation's spread over the whole hour. A partition the
/// replay touched more than once naming no id (`STATS#2026-12#3`, `TENANTS`) is the platform's,
/// shared by all; any other (naming an organisation, a person, a message) is the organisation's.
fn platform_hour(replay: &Replay) -> Vec<Access> {
    let mut accesses = Vec::new();
    let workers = replay.calls.iter().filter(|call| !call.route.starts_with(char::is_uppercase));
    let touches: Vec<&Touch> = workers.flat_map(|call| &call.spent.consumed.touches).collect();
    let mut times = BTreeMap::<&str, usize>::new();
    for touch in &touches {
        *times.entry(touch.partition.as_str()).or_default() += 1;
    }
    let platforms = |partition: &str| !names_an_id(partition) && times[partition] > 1;
    for (k, touch) in touches.iter().enumerate() {
        for organisation in 0..ORGANISATIONS {
            // Each organisation's touches in order over the hour, from a start of its own.
            let share = (k as f64 + 0.5) / touches.len() as f64 + organisation as f64 / ORGANISATIONS as f64;
            let at_ms = (share.fract() * HOUR_SECS * 1000.0) as i64;
            let partition = match platforms(&touch.partition) {
                true => touch.partition.clone(),
                false => format!("{}#{organisation}", touch.partition),
            };
            accesses.push(Access { partition, at_ms, read_units: touch.read_units, write_units: touch.write_units });
        }
    }
    accesses
}

/// The `count` most loaded partitions, ids shown as `{id}`, each kind once.
fn heat_table(heat: &[Heat], count: usize) -> String {
    let mut out = String::from(
        "| partition | peak read units/s | peak write units/s | of the limit | hot |\n|---|---|---|---|---|\n",
    );
    let mut shown = std::collections::BTreeSet::new();
    for partition in heat {
        let name = ids_hidden(&partition.partition);
        if shown.len() == count {
            break;
        }
        if !shown.insert(name.clone()) {
            continue; // one of many alike (each person's, each organisation's): the most loaded shown
        }
        writeln!(
            out,
            "| `{name}` | {:.0} | {:.0} | {:.0} % | {} |",
            partition.peak_read_units_per_sec,
            partition.peak_write_units_per_sec,
            partition.load() * 100.0,
            if partition.is_hot() { "**yes**" } else { "no" },
        )
        .unwrap();
    }
    out
}

/// An id's characters: a ULID's, or a provider's message id (letters, digits, dashes).
fn in_id(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-'
}

/// The shortest run of [`in_id`] characters taken for an id (a ULID is 26; `2026-12` is no id).
const ID_LENGTH: usize = 16;

/// Whether `text` names an id.
fn names_an_id(text: &str) -> bool {
    text.split(|c| !in_id(c)).any(|run| run.len() >= ID_LENGTH)
}

/// `text` with each id shown as `{id}`, and a copy's number (`#123` at the end) as `#{n}`.
fn ids_hidden(text: &str) -> String {
    let mut out = String::new();
    let mut run = String::new();
    for c in text.chars().chain(std::iter::once(' ')) {
        if in_id(c) {
            run.push(c);
            continue;
        }
        out.push_str(if run.len() >= ID_LENGTH { "{id}" } else { &run });
        run.clear();
        out.push(c);
    }
    out.pop();
    match out.rsplit_once('#') {
        Some((head, tail)) if !tail.is_empty() && tail.chars().all(|c| c.is_ascii_digit()) => format!("{head}#{{n}}"),
        _ => out,
    }
}

/// Replaces what lies between `<!-- cost:begin -->` and `<!-- cost:end -->` in README.
fn update_readme(summary: &str) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md");
    let readme = std::fs::read_to_string(path).unwrap();
    let (begin, end) = ("<!-- cost:begin -->\n", "<!-- cost:end -->");
    let (Some(from), Some(to)) = (readme.find(begin), readme.find(end)) else {
        panic!("README.md has no {begin:?} … {end:?} markers");
    };
    let updated = format!("{}{begin}{summary}{}", &readme[..from], &readme[to..]);
    std::fs::write(path, updated).unwrap();
}

#[tokio::main]
async fn main() {
    let app = spawn_app().await;
    let replay = organisation_day(&app, STAFF).await;
    let routes = routes(&replay.calls);
    let mut sorted: Vec<(&String, &Route)> = routes.iter().collect();
    let total = |route: &Route| dollars_per_million(route.lambda() + route.dynamodb(), route.calls);
    sorted.sort_by(|a, b| total(b.1).total_cmp(&total(a.1)).then(a.0.cmp(b.0)));

    let requests: usize =
        routes.iter().filter(|(name, _)| name.starts_with(char::is_uppercase)).map(|(_, r)| r.calls).sum();
    let lambda: f64 = routes.values().map(Route::lambda).sum();
    let dynamodb: f64 = routes.values().map(Route::dynamodb).sum();
    let per_million = dollars_per_million(lambda + dynamodb, requests);
    let per_person_month = (lambda + dynamodb + requests as f64 * API_GATEWAY_REQUEST) * DAYS_A_MONTH / STAFF as f64;
    let heavy = sorted
        .iter()
        .filter(|(_, route)| route.per_call(route.read_units) > 4.0 || route.per_call(route.write_units) > 4.0)
        .count();
    let table = table(&sorted);
    let (morning, platform) = (heat(&morning(&replay)), heat(&platform_hour(&replay)));
    let hot: std::collections::BTreeSet<String> = morning
        .iter()
        .chain(&platform)
        .filter(|partition| partition.is_hot())
        .map(|partition| format!("`{}`", ids_hidden(&partition.partition)))
        .collect();
    // The same words for README (paths from the repository) and docs/cost-figures.md (from docs/).
    let summary = |docs: &str| {
        format!(
            "A day of a {STAFF}-staff organisation ({requests} API requests, and the workers' runs; \
             [the whole table]({docs}cost-figures.md), [the method]({docs}cost.md)) costs **${per_million:.2} per \
             million requests** in Lambda (arm64, ${:.2}) and DynamoDB (on-demand, ${:.2}), plus API Gateway's \
             $1.00: **${per_person_month:.4} per active person a month** ({DAYS_A_MONTH} days). {heavy} of \
             {} routes take over 4 read or 4 write units a call ([why]({docs}cost.md#where-the-units-go-and-the-target)).\n\n\
             ![cost per route]({docs}cost.svg)\n\n\
             Partition heat ([the method]({docs}cost.md#partition-heat)): the busiest partition of a \
             {MORNING_PEOPLE}-person organisation's 09:00 check-ins is at {:.0} % of DynamoDB's per-partition \
             limit, of a {ORGANISATIONS}-organisation platform's nightly hour at {:.0} %; over half: {}.\n",
            dollars_per_million(lambda, requests),
            dollars_per_million(dynamodb, requests),
            routes.len(),
            morning.first().map_or(0.0, Heat::load) * 100.0,
            platform.first().map_or(0.0, Heat::load) * 100.0,
            if hot.is_empty() { "none".to_owned() } else { hot.iter().cloned().collect::<Vec<_>>().join(", ") },
        )
    };
    println!("{table}\n{}", summary("docs/"));
    let document = format!(
        "# What a million requests cost\n\n_Written by `make cost` (tests/benches/cost.rs); do not edit by hand._\n\n{}\n{table}\n\
         ## Partition heat: {MORNING_PEOPLE} people checking in from 09:00\n\n{}\n\
         ## Partition heat: {ORGANISATIONS} organisations' nightly hour\n\n{}",
        summary(""),
        heat_table(&morning, 12),
        heat_table(&platform, 12),
    );
    let docs = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs");
    std::fs::write(format!("{docs}/cost-figures.md"), document).unwrap();
    std::fs::write(format!("{docs}/cost.svg"), chart(&sorted)).unwrap();
    update_readme(&summary("docs/"));
}
