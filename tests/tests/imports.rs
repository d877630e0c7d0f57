//! Imports as an admin moving staff out of a spreadsheet meets them: ask for an upload, PUT the
//! file, start it, watch it finish; every row checked before any is written, nothing written
//! when one is wrong, and a worker killed half-way leaving nothing visible until its retry
//! commits exactly the file's rows.

use api_tests::{Account, TestApp, json_of, problem_of, spawn_app};
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn upload(app: &TestApp, owner: &Account, format: &str, file: Vec<u8>) -> String {
    app.import_upload(&owner.access_token, format, file).await
}

async fn start(app: &TestApp, owner: &Account, import_id: &str) -> reqwest::Response {
    app.post_empty(&format!("/imports/{import_id}/start"), &owner.access_token).await
}

async fn import(app: &TestApp, owner: &Account, import_id: &str) -> Value {
    json_of(app.get(&format!("/imports/{import_id}"), &owner.access_token).await, StatusCode::OK).await
}

async fn people(app: &TestApp, owner: &Account) -> Vec<Value> {
    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(cursor) => format!("/people?limit=100&cursor={cursor}"),
            None => "/people?limit=100".to_owned(),
        };
        let page = json_of(app.get(&path, &owner.access_token).await, StatusCode::OK).await;
        all.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return all,
        }
    }
}

fn domain(owner: &Account) -> String {
    format!("{}.example", owner.tenant_id.to_lowercase())
}

/// A people CSV of `rows` staff with unique addresses.
fn staff_csv(owner: &Account, rows: usize) -> String {
    let mut file = String::from("Name,Email,Role\n");
    for i in 0..rows {
        file.push_str(&format!("Staff {i},staff{i}@{}\n", domain(owner)));
    }
    file
}

#[tokio::test]
async fn an_admins_spreadsheet_of_staff_is_imported_whole_and_each_is_invited() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let bar =
        json_of(app.post("/positions", Some(&owner.access_token), json!({ "name": "Bar" })).await, StatusCode::CREATED)
            .await;
    let north = json_of(
        app.post("/units", Some(&owner.access_token), json!({ "name": "North Stand" })).await,
        StatusCode::CREATED,
    )
    .await;
    let template = app.get("/imports/templates/people", &owner.access_token).await;
    assert_eq!(template.status(), StatusCode::OK);
    assert!(template.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let template = template.text().await.unwrap();
    assert!(template.starts_with("name,email,role,positions,unit,hourly_rate,"), "{template}");

    let d = domain(&owner);
    let file = format!(
        "\u{feff}Name;E-mail;Role;Positions;Unit;Hourly rate;Weekly hours cap;Emergency contact name;Emergency contact phone\r\n\
         Olive Ortiz;Olive@{d};coordinator;bar;North Stand;14,50;38;Omar Ortiz;+44 20 7946 0001\r\n\
         Kim Lee;kim@{d};;;;;;;\r\n\
         \"Lee; Sam\";sam@{d};staff;Bar;;12;;;\r\n"
    );
    let import_id = upload(&app, &owner, "csv", file.into_bytes()).await;
    let pending = import(&app, &owner, &import_id).await;
    assert_eq!((pending["status"].as_str(), pending["rows_total"].as_u64()), (Some("pending"), Some(0)));

    let started = json_of(start(&app, &owner, &import_id).await, StatusCode::ACCEPTED).await;
    assert_eq!(started["status"], "validating");
    problem_of(start(&app, &owner, &import_id).await, StatusCode::CONFLICT, "conflict").await;
    // The run, then the one invitation job (for three people) it queued after its commit.
    assert_eq!(app.run_imports().await, 2);

    let done = import(&app, &owner, &import_id).await;
    assert_eq!(done["status"], "done", "{done}");
    assert_eq!((done["rows_total"].as_u64(), done["rows_done"].as_u64()), (Some(3), Some(3)));
    assert_eq!(done["errors"], json!([]));
    assert!(done["finished_at"].is_string());
    let people = people(&app, &owner).await;
    assert_eq!(people.len(), 4, "the owner and three imported");
    let olive = people.iter().find(|p| p["email"] == format!("olive@{d}")).unwrap();
    assert_eq!(olive["role"], "coordinator");
    assert_eq!(olive["status"], "invited");
    assert_eq!(olive["position_ids"], json!([bar["id"]]));
    assert_eq!(olive["unit_id"], north["id"]);
    assert_eq!((olive["hourly_rate_minor"].as_u64(), olive["weekly_hours_cap"].as_u64()), (Some(1450), Some(38)));
    assert_eq!(olive["emergency_contact"]["name"], "Omar Ortiz");
    assert_eq!(olive["import_id"], import_id.as_str());
    let sam = people.iter().find(|p| p["email"] == format!("sam@{d}")).unwrap();
    assert_eq!((sam["name"].as_str(), sam["hourly_rate_minor"].as_u64()), (Some("Lee; Sam"), Some(1200)));
    let tenant = json_of(app.get("/tenant", &owner.access_token).await, StatusCode::OK).await;
    assert_eq!(tenant["people_count"], 4, "{tenant}");

    // The invitations went out after the commit; each link works as `POST /people`'s does, and
    // the admin hears the import finished.
    let link = app.link_token(&format!("kim@{d}"), "/accept-invitation").await;
    let accepted = app
        .post(
            "/auth/invitations/accept",
            None,
            json!({ "token": link, "password": api_tests::PASSWORD, "token_delivery": "body" }),
        )
        .await;
    assert_eq!(json_of(accepted, StatusCode::CREATED).await["me"]["status"], "active");
    let mail = app.mail_to(&owner.email).await;
    assert!(mail.iter().any(|m| m["subject"] == "Import finished: staff.csv"), "{mail:?}");
    assert_eq!(app.run_imports().await, 0, "nothing more queued");

    // One audit entry for the import, none per row.
    let audit =
        json_of(app.get(&format!("/audit-logs?entity_id={import_id}"), &owner.access_token).await, StatusCode::OK)
            .await;
    let actions: Vec<&str> = audit["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["import.committed"]);
    let listed = json_of(app.get("/imports", &owner.access_token).await, StatusCode::OK).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
}

/// Takes the one message waiting on the app's import queue, as an SQS event of one record.
async fn next_job(app: &TestApp) -> aws_lambda_events::event::sqs::SqsEvent {
    let received = app.importer.sqs.receive_message().queue_url(&app.importer.queue_url).send().await.unwrap();
    let message = received.messages.unwrap().remove(0);
    serde_json::from_value(json!({ "Records": [{
        "messageId": message.message_id, "body": message.body, "receiptHandle": message.receipt_handle,
    }] }))
    .unwrap()
}

#[tokio::test]
async fn ten_thousand_staff_are_written_in_four_hundred_and_two_write_requests() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let import_id = upload(&app, &owner, "csv", staff_csv(&owner, 10_000).into_bytes()).await;
    json_of(start(&app, &owner, &import_id).await, StatusCode::ACCEPTED).await;
    let before = app.importer.store.round_trips().operations();
    let response = importer::handle(&app.importer, next_job(&app).await).await;
    assert!(response.batch_item_failures.is_empty());
    let after = app.importer.store.round_trips().operations();
    let sent = |operation: &str| after.get(operation).unwrap_or(&0) - before.get(operation).unwrap_or(&0);
    // 10,000 rows and 20 progress items, 25 a request; then the commit. Nothing else writes.
    assert_eq!(sent("BatchWriteItem"), 401);
    assert_eq!(sent("TransactWriteItems"), 1);
    assert_eq!((sent("PutItem"), sent("UpdateItem"), sent("DeleteItem")), (0, 0, 0));

    let done = import(&app, &owner, &import_id).await;
    assert_eq!((done["status"].as_str(), done["rows_done"].as_u64()), (Some("done"), Some(10_000)));
    let tenant = json_of(app.get("/tenant", &owner.access_token).await, StatusCode::OK).await;
    assert_eq!(tenant["people_count"], 10_001);
    // The file's last row, under the id its row number gives it.
    let last = format!("/people/{}", importer::row_id(&import_id, 9_999));
    let last = json_of(app.get(&last, &owner.access_token).await, StatusCode::OK).await;
    assert_eq!(last["email"], format!("staff9999@{}", domain(&owner)));
    // The invitations wait on the queue as 100 jobs of 100 people.
    let queued = app
        .importer
        .sqs
        .get_queue_attributes()
        .queue_url(&app.importer.queue_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
        .send()
        .await
        .unwrap();
    let waiting =
        queued.attributes.unwrap()[&aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages].clone();
    assert_eq!(waiting, "100");
}

#[tokio::test]
async fn one_bad_row_among_ten_thousand_writes_nothing_and_is_named() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let mut file = staff_csv(&owner, 10_000);
    // Row 5,002 of the spreadsheet (the header is row 1) has no valid address.
    file = file.replacen(&format!("staff5000@{}", domain(&owner)), "not-an-address", 1);
    let import_id = upload(&app, &owner, "csv", file.into_bytes()).await;
    json_of(start(&app, &owner, &import_id).await, StatusCode::ACCEPTED).await;
    assert_eq!(app.run_imports().await, 1);

    let failed = import(&app, &owner, &import_id).await;
    assert_eq!(failed["status"], "failed");
    assert_eq!((failed["rows_total"].as_u64(), failed["error_count"].as_u64()), (Some(10_000), Some(1)));
    let error = &failed["errors"][0];
    assert_eq!(
        (error["row"].as_u64(), error["column"].as_str(), error["code"].as_str()),
        (Some(5002), Some("email"), Some("invalid"))
    );
    assert_eq!(people(&app, &owner).await.len(), 1, "only the owner");
    let mail = app.mail_to(&owner.email).await;
    assert!(mail.iter().any(|m| m["subject"] == "Import failed: staff.csv"), "{mail:?}");
}

#[tokio::test]
async fn duplicates_members_unknown_names_and_bad_headers_are_each_named() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let d = domain(&owner);
    let file = format!(
        "name,email,role,positions\n\
         Ann,ann@{d},staff,\n\
         Ann Again,ANN@{d},staff,\n\
         The Owner,{},staff,\n\
         Bo,bo@{d},captain,Juggler\n",
        owner.email
    );
    let import_id = upload(&app, &owner, "csv", file.into_bytes()).await;
    json_of(start(&app, &owner, &import_id).await, StatusCode::ACCEPTED).await;
    app.run_imports().await;
    let failed = import(&app, &owner, &import_id).await;
    let errors: Vec<(u64, &str, &str)> = failed["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["row"].as_u64().unwrap(), e["column"].as_str().unwrap(), e["code"].as_str().unwrap()))
        .collect();
    assert_eq!(
        errors,
        [
            (3, "email", "duplicate_in_file"),
            (4, "email", "already_member"),
            (5, "role", "invalid"),
            (5, "positions", "unknown_position"),
        ]
    );

    let headers = upload(&app, &owner, "csv", b"name,colour\nAnn,red\n".to_vec()).await;
    json_of(start(&app, &owner, &headers).await, StatusCode::ACCEPTED).await;
    app.run_imports().await;
    let failed = import(&app, &owner, &headers).await;
    let codes: Vec<&str> = failed["errors"].as_array().unwrap().iter().map(|e| e["code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["unknown_column", "missing_column"]);
}

#[tokio::test]
async fn malformed_files_fail_with_a_clear_error_and_never_panic_the_worker() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let cases: [(&str, Vec<u8>, &str); 4] = [
        ("csv", b"PK\x03\x04\x14\x00\x00\x00binary".to_vec(), "unreadable_file"),
        ("csv", b"name,email\n\xff\xfe\xfd,a@b.example\n".to_vec(), "invalid"),
        ("xlsx", b"name,email\nSam,sam@x.example\n".to_vec(), "unreadable_file"),
        ("csv", format!("name,email\n{},a@b.example\n", "x".repeat(1024 * 1024)).into_bytes(), "too_long"),
    ];
    for (format, file, code) in cases {
        let import_id = upload(&app, &owner, format, file).await;
        json_of(start(&app, &owner, &import_id).await, StatusCode::ACCEPTED).await;
        assert_eq!(app.run_imports().await, 1);
        let failed = import(&app, &owner, &import_id).await;
        assert_eq!(
            (failed["status"].as_str(), failed["errors"][0]["code"].as_str()),
            (Some("failed"), Some(code)),
            "{failed}"
        );
    }
    // Shift imports are not here yet: refused before any upload.
    let shifts = json!({ "kind": "shifts", "format": "xlsx", "filename": "season.xlsx", "content_length": 10 });
    let refused = app.post("/imports", Some(&owner.access_token), shifts).await;
    let problem = problem_of(refused, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(problem["errors"][0]["field"], "kind");
    // Starting before the file arrived says so, and leaves it startable.
    let body = json!({ "kind": "people", "format": "csv", "filename": "late.csv", "content_length": 10 });
    let created = json_of(app.post("/imports", Some(&owner.access_token), body).await, StatusCode::CREATED).await;
    let early = start(&app, &owner, created["import_id"].as_str().unwrap()).await;
    let problem = problem_of(early, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(problem["errors"][0]["field"], "file");
}

#[tokio::test]
async fn a_worker_killed_between_batches_leaves_nothing_visible_and_its_retry_writes_exactly_the_file() {
    let mut app = spawn_app().await;
    let owner = app.signup().await;
    let import_id = upload(&app, &owner, "csv", staff_csv(&owner, 1_200).into_bytes()).await;
    json_of(start(&app, &owner, &import_id).await, StatusCode::ACCEPTED).await;

    // Killed after 30 batches of 25 items: 748 rows written, the progress item at 500.
    app.importer.stop_after_batches = Some(30);
    let event = next_job(&app).await;
    let response = importer::handle(&app.importer, event.clone()).await;
    assert_eq!(response.batch_item_failures.len(), 1, "the run failed");
    let halfway = import(&app, &owner, &import_id).await;
    assert_eq!(halfway["status"], "importing");
    assert_eq!((halfway["rows_done"].as_u64(), halfway["rows_total"].as_u64()), (Some(500), Some(1_200)));
    assert_eq!(people(&app, &owner).await.len(), 1, "no imported row is seen before the commit");

    // SQS delivers the message again; the retry commits.
    app.importer.stop_after_batches = None;
    let response = importer::handle(&app.importer, event.clone()).await;
    assert!(response.batch_item_failures.is_empty());
    let done = import(&app, &owner, &import_id).await;
    assert_eq!((done["status"].as_str(), done["rows_done"].as_u64()), (Some("done"), Some(1_200)));
    let people = people(&app, &owner).await;
    assert_eq!(people.len(), 1 + 1_200, "exactly the file's rows");
    let tenant = json_of(app.get("/tenant", &owner.access_token).await, StatusCode::OK).await;
    assert_eq!(tenant["people_count"], 1 + 1_200);

    // The same message a third time imports nothing more and mails nothing more.
    importer::handle(&app.importer, event).await;
    assert_eq!(json_of(app.get("/tenant", &owner.access_token).await, StatusCode::OK).await["people_count"], 1 + 1_200);
}

#[tokio::test]
async fn two_deliveries_of_one_job_at_once_import_once() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let import_id = upload(&app, &owner, "csv", staff_csv(&owner, 300).into_bytes()).await;
    json_of(start(&app, &owner, &import_id).await, StatusCode::ACCEPTED).await;
    let tenant_id = owner.tenant_id.clone();
    let (first, second) = tokio::join!(
        importer::run(&app.importer, &tenant_id, &import_id),
        importer::run(&app.importer, &tenant_id, &import_id)
    );
    first.unwrap();
    second.unwrap();
    assert_eq!(import(&app, &owner, &import_id).await["status"], "done");
    assert_eq!(people(&app, &owner).await.len(), 301);
    let tenant = json_of(app.get("/tenant", &owner.access_token).await, StatusCode::OK).await;
    assert_eq!(tenant["people_count"], 301, "counted once");
}

#[tokio::test]
async fn an_xlsx_of_staff_imports_like_a_csv() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (column, header) in ["Name", "Email", "Hourly_Rate", "Weekly Hours Cap"].iter().enumerate() {
        sheet.write_string(0, column as u16, *header).unwrap();
    }
    for row in 1..=50u32 {
        sheet.write_string(row, 0, format!("Staff {row}")).unwrap();
        sheet.write_string(row, 1, format!("xlsx{row}@{}", domain(&owner))).unwrap();
        sheet.write_number(row, 2, 13.75).unwrap();
        sheet.write_number(row, 3, 20).unwrap();
    }
    let import_id = upload(&app, &owner, "xlsx", book.save_to_buffer().unwrap()).await;
    json_of(start(&app, &owner, &import_id).await, StatusCode::ACCEPTED).await;
    app.run_imports().await;
    let done = import(&app, &owner, &import_id).await;
    assert_eq!((done["status"].as_str(), done["rows_total"].as_u64()), (Some("done"), Some(50)), "{done}");
    let people = people(&app, &owner).await;
    let one = people.iter().find(|p| p["name"] == "Staff 7").unwrap();
    assert_eq!((one["hourly_rate_minor"].as_u64(), one["weekly_hours_cap"].as_u64()), (Some(1375), Some(20)));
}
