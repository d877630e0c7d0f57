//! Imports as an admin moving staff out of a spreadsheet meets them: ask for an upload, PUT the
//! file, start it, watch it finish; every row checked before any is written, nothing written
//! when one is wrong, and a worker killed half-way leaving nothing visible until its retry
//! commits exactly the file's rows.

use api_tests::{Account, TestApp, json_of, problem_of, spawn_app};
use chrono::Datelike;
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
        "\u{feff}Name;E-mail;Role;Positions;Unit;Hourly rate;Weekly hours cap;Phone;Emergency contact name;Emergency contact phone\r\n\
         Olive Ortiz;Olive@{d};coordinator;bar;North Stand;14,50;38;+44 (7911) 123-456;Omar Ortiz;+44 20 7946 0001\r\n\
         Kim Lee;kim@{d};;;;;;;;\r\n\
         \"Lee; Sam\";sam@{d};staff;Bar;;12;;;;\r\n"
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
    assert_eq!(olive["phone"], "+447911123456", "kept as E.164, for SMS and WhatsApp");
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
    assert!(mail.iter().any(|m| m["subject"] == "Import finished: people.csv"), "{mail:?}");
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

/// Takes the one message waiting on the app's import queue off it, as an SQS event of one record
/// (handed to the worker as often as a test likes).
async fn next_job(app: &TestApp) -> aws_lambda_events::event::sqs::SqsEvent {
    let (sqs, queue) = (&app.importer.sqs, &app.importer.queue_url);
    let received = sqs.receive_message().queue_url(queue).send().await.unwrap();
    let message = received.messages.unwrap().remove(0);
    let receipt = message.receipt_handle.clone().unwrap();
    sqs.delete_message().queue_url(queue).receipt_handle(receipt).send().await.unwrap();
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
    app.forget_partition(&owner.tenant_id).await;
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
    assert!(mail.iter().any(|m| m["subject"] == "Import failed: people.csv"), "{mail:?}");
}

#[tokio::test]
async fn duplicates_members_unknown_names_and_bad_headers_are_each_named() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let d = domain(&owner);
    let file = format!(
        "name,email,role,positions,phone\n\
         Ann,ann@{d},staff,,\n\
         Ann Again,ANN@{d},staff,,\n\
         The Owner,{},staff,,\n\
         Bo,bo@{d},captain,Juggler,\n\
         Cy,cy@{d},staff,,07911 123456\n",
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
            (6, "phone", "invalid"),
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
    // Starting before the file arrived says so, and leaves it startable.
    let body = json!({ "kind": "people", "format": "csv", "filename": "late.csv", "content_length": 10 });
    let created = json_of(app.post("/imports", Some(&owner.access_token), body).await, StatusCode::CREATED).await;
    let early = start(&app, &owner, created["import_id"].as_str().unwrap()).await;
    let problem = problem_of(early, StatusCode::CONFLICT, "conflict").await;
    assert!(problem["detail"].as_str().unwrap().starts_with("no file was uploaded yet"), "{problem}");
}

#[tokio::test]
async fn a_worker_killed_between_batches_leaves_nothing_visible_and_its_retry_writes_exactly_the_file() {
    let mut app = spawn_app().await;
    let owner = app.signup().await;
    let import_id = upload(&app, &owner, "csv", staff_csv(&owner, 1_200).into_bytes()).await;
    json_of(start(&app, &owner, &import_id).await, StatusCode::ACCEPTED).await;

    // Killed after 30 batches of 25 items: 748 rows written, the progress item at 500.
    app.importer.kill = Some(importer::Kill::AfterBatches(30));
    let event = next_job(&app).await;
    let response = importer::handle(&app.importer, event.clone()).await;
    assert_eq!(response.batch_item_failures.len(), 1, "the run failed");
    let halfway = import(&app, &owner, &import_id).await;
    assert_eq!(halfway["status"], "importing");
    assert_eq!((halfway["rows_done"].as_u64(), halfway["rows_total"].as_u64()), (Some(500), Some(1_200)));
    assert_eq!(people(&app, &owner).await.len(), 1, "no imported row is seen before the commit");

    // SQS delivers the message again; the retry commits.
    app.importer.kill = None;
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
    app.forget_partition(&owner.tenant_id).await;
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
async fn of_eight_starts_at_once_one_queues_the_job() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let import_id = upload(&app, &owner, "csv", staff_csv(&owner, 3).into_bytes()).await;
    let starts = futures_util::future::join_all((0..8).map(|_| start(&app, &owner, &import_id))).await;
    let statuses: Vec<StatusCode> = starts.iter().map(|response| response.status()).collect();
    assert_eq!(statuses.iter().filter(|status| **status == StatusCode::ACCEPTED).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|status| **status == StatusCode::CONFLICT).count(), 7, "{statuses:?}");
    assert_eq!(app.run_imports().await, 2, "one run, and its invitation job");
    assert_eq!(import(&app, &owner, &import_id).await["status"], "done");
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

/// A location in London, a position and an event of `owner`'s, named as a shifts file names them.
async fn venue(app: &TestApp, owner: &Account) -> (String, String, String) {
    let token = Some(owner.access_token.as_str());
    let location =
        json!({ "name": "Harbour Arena", "lat": 51.5, "lng": -0.1, "radius_m": 200, "time_zone": "Europe/London" });
    let location = json_of(app.post("/locations", token, location).await, StatusCode::CREATED).await;
    let position = json_of(app.post("/positions", token, json!({ "name": "Bar" })).await, StatusCode::CREATED).await;
    let event = json!({ "title": "Spring Concert", "location_id": location["id"], "starts_on": "2027-01-04", "ends_on": "2028-06-30" });
    let event = json_of(app.post("/events", token, event).await, StatusCode::CREATED).await;
    let id = |value: &Value| value["id"].as_str().unwrap().to_owned();
    (id(&location), id(&position), id(&event))
}

#[tokio::test]
async fn a_season_of_five_thousand_shifts_from_xlsx_lands_as_drafts() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let (location_id, _, event_id) = venue(&app, &owner).await;
    // Dates as date cells, starts as text, ends as time cells; every tenth shift overnight.
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (column, header) in
        ["Location", "Position", "Date", "Start", "End", "Headcount", "Break minutes", "Event"].iter().enumerate()
    {
        sheet.write_string(0, column as u16, *header).unwrap();
    }
    let date_format = rust_xlsxwriter::Format::new().set_num_format("yyyy-mm-dd");
    let time_format = rust_xlsxwriter::Format::new().set_num_format("hh:mm");
    let first = chrono::NaiveDate::from_ymd_opt(2027, 1, 4).unwrap();
    for i in 0..5_000u32 {
        let row = i + 1;
        let date = first + chrono::Days::new(u64::from(i / 10));
        let start = 8 + i % 10;
        let end = if i % 10 == 9 { 2 } else { start + 4 };
        let cell =
            rust_xlsxwriter::ExcelDateTime::from_ymd(date.year() as u16, date.month() as u8, date.day() as u8).unwrap();
        sheet.write_string(row, 0, "harbour arena").unwrap();
        sheet.write_string(row, 1, "Bar").unwrap();
        sheet.write_datetime_with_format(row, 2, &cell, &date_format).unwrap();
        sheet.write_string(row, 3, format!("{start}:00")).unwrap();
        let end = rust_xlsxwriter::ExcelDateTime::from_hms(end as u16, 0, 0).unwrap();
        sheet.write_datetime_with_format(row, 4, &end, &time_format).unwrap();
        sheet.write_number(row, 5, 2).unwrap();
        sheet.write_number(row, 6, 30).unwrap();
        sheet.write_string(row, 7, "Spring Concert").unwrap();
    }
    let import_id = app.import_upload_of(&owner.access_token, "shifts", "xlsx", book.save_to_buffer().unwrap()).await;
    json_of(start(&app, &owner, &import_id).await, StatusCode::ACCEPTED).await;
    app.run_imports().await;

    let done = import(&app, &owner, &import_id).await;
    assert_eq!((done["status"].as_str(), done["rows_total"].as_u64()), (Some("done"), Some(5_000)), "{done}");
    let mut shifts = Vec::new();
    let mut path =
        format!("/shifts?location_id={location_id}&from=2027-01-01T00:00:00Z&to=2029-01-01T00:00:00Z&limit=100");
    loop {
        let page = json_of(app.get(&path, &owner.access_token).await, StatusCode::OK).await;
        shifts.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(cursor) => {
                path = format!(
                    "/shifts?location_id={location_id}&from=2027-01-01T00:00:00Z&to=2029-01-01T00:00:00Z&limit=100&cursor={cursor}"
                )
            }
            None => break,
        }
    }
    assert_eq!(shifts.len(), 5_000);
    assert!(shifts.iter().all(|shift| shift["status"] == "draft" && shift["event_id"] == event_id.as_str()));
    // Row 2: 08:00–12:00 London time on 4 January (GMT); row 11: 17:00 to 02:00 the next day.
    assert_eq!(
        (shifts[0]["start"].as_str(), shifts[0]["end"].as_str()),
        (Some("2027-01-04T08:00:00Z"), Some("2027-01-04T12:00:00Z"))
    );
    let overnight = shifts.iter().find(|shift| shift["start"] == "2027-01-04T17:00:00Z").unwrap();
    assert_eq!((overnight["end"].as_str(), overnight["headcount"].as_u64()), (Some("2027-01-05T02:00:00Z"), Some(2)));
    // In summer the same wall-clock hours are an hour earlier in UTC.
    assert!(shifts.iter().any(|shift| shift["start"] == "2027-07-01T07:00:00Z"), "BST");
    app.forget_partition(&owner.tenant_id).await;
}

#[tokio::test]
async fn shift_rows_name_clock_changes_unknown_names_and_what_cannot_be_imported() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    venue(&app, &owner).await;
    let file = "location,position,date,start,end,break_minutes,event,assignees\n\
                Harbour Arena,Bar,2027-03-28,01:30,09:00,,,\n\
                Harbour Arena,Bar,2027-10-31,00:00,01:30,,,\n\
                Nowhere Hall,Juggler,2027-05-01,09:00,17:00,,Winter Gala,\n\
                Harbour Arena,Bar,01/05/2027,9am,17:00,,,\n\
                Harbour Arena,Bar,2027-05-02,09:00,10:00,60,,sam@x.example\n\
                Harbour Arena,Bar,2027-05-03,09:00,17:00,,,\n\
                Harbour Arena,Bar,2027-05-03,09:00,17:00,,,\n";
    let import_id = app.import_upload_of(&owner.access_token, "shifts", "csv", file.as_bytes().to_vec()).await;
    json_of(start(&app, &owner, &import_id).await, StatusCode::ACCEPTED).await;
    app.run_imports().await;
    let failed = import(&app, &owner, &import_id).await;
    assert_eq!(failed["status"], "failed");
    let errors: Vec<(u64, Option<&str>, &str)> = failed["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["row"].as_u64().unwrap(), e["column"].as_str(), e["code"].as_str().unwrap()))
        .collect();
    assert_eq!(
        errors,
        [
            (2, Some("start"), "nonexistent_time"),
            (3, Some("end"), "ambiguous_time"),
            (4, Some("location"), "unknown_location"),
            (4, Some("position"), "unknown_position"),
            (4, Some("event"), "unknown_event"),
            (5, Some("date"), "invalid"),
            (5, Some("start"), "invalid"),
            (6, Some("break_minutes"), "invalid"),
            (8, None, "duplicate_in_file"),
        ]
    );
    let shifts = json_of(app.get("/shifts?from=2027-01-01T00:00:00Z", &owner.access_token).await, StatusCode::OK).await;
    assert_eq!(shifts["items"], json!([]), "nothing written");
}

/// Invites `name` holding `position_ids`, as `owner`: their id and address.
async fn invited(app: &TestApp, owner: &Account, name: &str, position_ids: &[&str]) -> (String, String) {
    let email = api_tests::unique_email("crew");
    let body = json!({ "email": email, "name": name, "role": "staff", "position_ids": position_ids });
    let created = json_of(app.post("/people", Some(&owner.access_token), body).await, StatusCode::CREATED).await;
    (created["id"].as_str().unwrap().to_owned(), email)
}

/// A shifts CSV's import, run to its end: the import.
async fn import_shifts(app: &TestApp, owner: &Account, file: &str, force: bool) -> Value {
    let size = file.len();
    let body =
        json!({ "kind": "shifts", "format": "csv", "filename": "rota.csv", "content_length": size, "force": force });
    let import_id = app.import_upload_with(&owner.access_token, body, file.as_bytes().to_vec()).await;
    json_of(start(app, owner, &import_id).await, StatusCode::ACCEPTED).await;
    app.run_imports().await;
    import(app, owner, &import_id).await
}

fn errors_of(import: &Value) -> Vec<(u64, Option<&str>, &str)> {
    let errors = import["errors"].as_array().unwrap().iter();
    errors.map(|e| (e["row"].as_u64().unwrap(), e["column"].as_str(), e["code"].as_str().unwrap())).collect()
}

#[tokio::test]
async fn a_shift_files_assignees_pass_the_conflict_rules_against_their_schedules_and_each_other() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let token = Some(owner.access_token.as_str());
    let (location_id, position_id, _) = venue(&app, &owner).await;
    let (sam_id, sam) = invited(&app, &owner, "Sam Bar", &[&position_id]).await;
    let (_, kim) = invited(&app, &owner, "Kim Door", &[]).await;
    let (ana_id, ana) = invited(&app, &owner, "Ana Bar", &[&position_id]).await;
    // Ana works 10:00–18:00 London time on 10 May already.
    let times = ("2027-05-10T09:00:00Z".to_owned(), "2027-05-10T17:00:00Z".to_owned());
    let ana_works = app.published_shift(token, &location_id, &position_id, times).await;
    app.on_shift(token, &ana_works, &ana_id, false).await;

    // Each rule that refuses a placement is named on its row: against stored shifts, against the
    // file's earlier rows, and the headcount.
    let file = format!(
        "location,position,date,start,end,headcount,assignees\n\
         Harbour Arena,Bar,2027-05-10,12:00,16:00,1,{ana}\n\
         Harbour Arena,Bar,2027-05-11,09:00,17:00,1,{kim}\n\
         Harbour Arena,Bar,2027-05-12,09:00,17:00,1,\"{sam}; {ana}\"\n\
         Harbour Arena,Bar,2027-05-12,13:00,20:00,1,{sam}\n\
         Harbour Arena,Bar,2027-05-13,09:00,17:00,1,nobody@elsewhere.example\n"
    );
    let failed = import_shifts(&app, &owner, &file, false).await;
    assert_eq!(failed["status"], "failed", "{failed}");
    assert_eq!(
        errors_of(&failed),
        [
            (2, Some("assignees"), "overlap"),
            (3, Some("assignees"), "position_not_held"),
            (4, Some("assignees"), "headcount_full"),
            (5, Some("assignees"), "overlap"),
            (6, Some("assignees"), "unknown_person"),
        ]
    );
    let message = |row: u64| {
        let errors = failed["errors"].as_array().unwrap();
        errors.iter().find(|e| e["row"] == row).unwrap()["message"].as_str().unwrap().to_owned()
    };
    assert!(message(3).starts_with(&format!("{kim}: ")) && message(3).contains("position Bar"), "{}", message(3));
    assert!(message(5).contains("the shift of row 4"), "{}", message(5));
    let shifts =
        json_of(app.get("/shifts?from=2027-01-01T00:00:00Z&status=draft", &owner.access_token).await, StatusCode::OK)
            .await;
    assert_eq!(shifts["items"], json!([]), "nothing written");

    // Warnings (too little rest between two of the file's shifts) fail the import, unless it
    // was made with `force`; blocking rules never pass.
    let file = format!(
        "location,position,date,start,end,headcount,assignees\n\
         Harbour Arena,Bar,2027-05-20,09:00,17:00,2,{sam}\n\
         Harbour Arena,Bar,2027-05-20,21:00,23:00,1,{sam}\n"
    );
    let warned = import_shifts(&app, &owner, &file, false).await;
    assert_eq!(errors_of(&warned), [(3, Some("assignees"), "min_rest")], "{warned}");
    assert!(warned["errors"][0]["message"].as_str().unwrap().contains("force"), "{warned}");
    let done = import_shifts(&app, &owner, &file, true).await;
    assert_eq!((done["status"].as_str(), done["rows_total"].as_u64()), (Some("done"), Some(2)), "{done}");

    // Sam holds both drafts, offered (the offers go out when they are published) ...
    let shifts = json_of(
        app.get("/shifts?from=2027-05-20T00:00:00Z&to=2027-05-21T00:00:00Z", &owner.access_token).await,
        StatusCode::OK,
    )
    .await;
    let drafts = shifts["items"].as_array().unwrap();
    assert_eq!(drafts.len(), 2, "{shifts}");
    for draft in drafts {
        assert_eq!((draft["status"].as_str(), draft["assigned_count"].as_u64()), (Some("draft"), Some(1)), "{draft}");
        let detail = json_of(
            app.get(&format!("/shifts/{}", draft["id"].as_str().unwrap()), &owner.access_token).await,
            StatusCode::OK,
        )
        .await;
        let held: Vec<(&str, &str)> = detail["assignments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| (a["person_id"].as_str().unwrap(), a["status"].as_str().unwrap()))
            .collect();
        assert_eq!(held, [(sam_id.as_str(), "offered")]);
    }
    assert!(
        app.mail_to(&sam).await.iter().all(|mail| !mail["subject"].as_str().unwrap().contains("shift")),
        "no offer yet"
    );
    // ... and his schedule has them: a coordinator's overlapping assignment is refused.
    let times = ("2027-05-20T10:00:00Z".to_owned(), "2027-05-20T12:00:00Z".to_owned());
    let overlapping = app.published_shift(token, &location_id, &position_id, times).await;
    let refused =
        app.post(&format!("/shifts/{overlapping}/assignments"), token, json!({ "person_ids": [sam_id] })).await;
    let refused = problem_of(refused, StatusCode::UNPROCESSABLE_ENTITY, "scheduling_conflict").await;
    assert_eq!(refused["violations"][0]["code"], "overlap", "{refused}");
}

#[tokio::test]
async fn an_import_whose_retry_fails_gives_back_the_places_its_first_run_booked() {
    let mut app = spawn_app().await;
    let owner = app.signup().await;
    let token = Some(owner.access_token.as_str());
    let (location_id, bar, _) = venue(&app, &owner).await;
    let door = json_of(app.post("/positions", token, json!({ "name": "Door" })).await, StatusCode::CREATED).await;
    let door = door["id"].as_str().unwrap().to_owned();
    let (sam_id, sam) = invited(&app, &owner, "Sam Bar", &[&bar]).await;
    let file = format!("location,position,date,start,end,assignees\nHarbour Arena,Bar,2027-06-01,09:00,17:00,{sam}\n");
    let body = json!({ "kind": "shifts", "format": "csv", "filename": "rota.csv", "content_length": file.len() });
    let import_id = app.import_upload_with(&owner.access_token, body, file.into_bytes()).await;
    json_of(start(&app, &owner, &import_id).await, StatusCode::ACCEPTED).await;

    // The worker dies after booking Sam, before the commit: the shift is not seen, but it holds
    // his time for every check (the door shift overlaps it).
    app.importer.kill = Some(importer::Kill::BeforeCommit);
    let event = next_job(&app).await;
    assert_eq!(importer::handle(&app.importer, event.clone()).await.batch_item_failures.len(), 1);
    assert_eq!(import(&app, &owner, &import_id).await["status"], "importing");
    let patched = app
        .request(reqwest::Method::PATCH, &format!("/people/{sam_id}"), token, Some(json!({ "position_ids": [door] })))
        .await;
    json_of(patched, StatusCode::OK).await;
    let times = ("2027-06-01T10:00:00Z".to_owned(), "2027-06-01T12:00:00Z".to_owned());
    let door_shift = app.published_shift(token, &location_id, &door, times).await;
    let (path, placing) = (format!("/shifts/{door_shift}/assignments"), json!({ "person_ids": [sam_id] }));
    let refused = problem_of(
        app.post(&path, token, placing.clone()).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "scheduling_conflict",
    )
    .await;
    let codes: Vec<&str> =
        refused["violations"].as_array().unwrap().iter().map(|v| v["code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["overlap"], "{refused}");

    // Sam moved to the door meanwhile, so the retry fails; it gives his time back.
    app.importer.kill = None;
    assert!(importer::handle(&app.importer, event).await.batch_item_failures.is_empty());
    let failed = import(&app, &owner, &import_id).await;
    assert_eq!(errors_of(&failed), [(2, Some("assignees"), "position_not_held")], "{failed}");
    let placed = json_of(app.post(&path, token, placing).await, StatusCode::CREATED).await;
    assert_eq!(placed["assignments"][0]["person_id"], sam_id.as_str());
}
