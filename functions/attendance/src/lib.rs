//! The attendance function: checking in and out on site (geofence, window, photo, idempotent),
//! the records and their logs, corrections, the review queue, hours and exports, the event
//! dashboard, who is on site and the hours report.

mod checks;
mod dashboard;
mod exports;
mod records;
mod reports;
mod reviews;

/// The clients besides DynamoDB's that its Lambda builds at cold start: check-in photos are
/// uploaded and checked, exports written and reviews shown their photos; nothing is queued.
pub const CLIENTS: rota::Clients = rota::Clients { outbox: true, files: true, payments: false };

rota::function_routes!(
    [checks::photo_url],
    [checks::check_in],
    [checks::check_out],
    [records::list_attendance],
    [records::get_attendance],
    [records::override_attendance],
    [records::my_attendance],
    [records::my_hours],
    [exports::export_attendance],
    [reviews::face_reviews],
    [reviews::verify_face],
    [reviews::platform_face_reviews],
    [reviews::platform_verify_face],
    [dashboard::event_dashboard],
    [dashboard::on_site],
    [reports::hours_report],
);
