//! `make bench`: importing 10,000 people from a CSV file against the local stack, reported, not
//! asserted: rows a second from the job's start to its commit (validation included, the upload
//! and the invitations not), and the DynamoDB requests it sent by operation.

use std::time::Instant;

use api_tests::{json_of, spawn_app};
use reqwest::StatusCode;

const ROWS: usize = 10_000;

#[tokio::main]
async fn main() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let domain = format!("{}.example", owner.tenant_id.to_lowercase());
    let mut file = String::from("name,email,role,hourly_rate\n");
    for i in 0..ROWS {
        file.push_str(&format!("Staff {i},staff{i}@{domain},staff,14.50\n"));
    }
    let import_id = app.import_upload(&owner.access_token, "csv", file.into_bytes()).await;
    let start = app.post_empty(&format!("/imports/{import_id}/start"), &owner.access_token).await;
    json_of(start, StatusCode::ACCEPTED).await;
    let before = app.importer.store.round_trips().operations();
    // The job as its queue would hand it over (the queued message itself is left there).
    let started = Instant::now();
    importer::run(&app.importer, &owner.tenant_id, &import_id).await.unwrap();
    let elapsed = started.elapsed();
    let after = app.importer.store.round_trips().operations();
    let import = json_of(app.get(&format!("/imports/{import_id}"), &owner.access_token).await, StatusCode::OK).await;
    assert_eq!(import["status"], "done");
    println!(
        "import of {ROWS} people from CSV (local moto): {:.1} s, {:.0} rows/s",
        elapsed.as_secs_f64(),
        ROWS as f64 / elapsed.as_secs_f64()
    );
    let mut operations: Vec<_> =
        after.iter().map(|(name, count)| (name, count - before.get(name).unwrap_or(&0))).collect();
    operations.sort();
    for (name, count) in operations.into_iter().filter(|(_, count)| *count > 0) {
        println!("  {name}: {count}");
    }
}
