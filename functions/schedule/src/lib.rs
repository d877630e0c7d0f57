//! The schedule function: events, shifts (one-off and recurring), assignments through the
//! conflict engine, availability, and a worker's own schedule.
//!
//! Routes that end something (publish, cancel, remove) are declared last, so the document lists
//! them after the routes that act on what they end.

mod assignments;
mod auto_fill;
mod availability;
mod broadcasts;
mod calendar;
mod events;
mod hours;
mod me;
mod requests;
mod shifts;

/// The clients besides DynamoDB's that its Lambda builds at cold start: offers, changes and
/// requests are queued; auto-fill's proposals are read from the bucket.
pub const CLIENTS: rota::Clients = rota::Clients { outbox: true, files: true, payments: false };

rota::function_routes!(
    [events::list_events, events::create_event],
    [events::get_event, events::update_event, events::delete_event],
    [shifts::list_shifts, shifts::create_shift],
    [shifts::create_recurring],
    [shifts::get_shift, shifts::update_shift],
    [assignments::assign],
    [assignments::claim],
    [assignments::eligible],
    [assignments::answer],
    [assignments::reassign],
    [availability::get_my_availability, availability::set_my_availability],
    [availability::get_availability],
    [me::my_shifts],
    [hours::hours_warnings],
    [calendar::calendar_url, calendar::revoke_calendar_url],
    [calendar::calendar_feed],
    [requests::list_requests, requests::create_request],
    [requests::get_request],
    [requests::accept_request],
    [requests::approve_request],
    [requests::reject_request],
    [requests::cancel_request],
    [broadcasts::list_broadcasts, broadcasts::send_broadcast],
    [broadcasts::get_broadcast],
    [auto_fill::start_auto_fill],
    [auto_fill::get_auto_fill],
    [auto_fill::apply_auto_fill],
    [shifts::publish_shift],
    [shifts::cancel_shift],
    [assignments::delete_assignment],
);
