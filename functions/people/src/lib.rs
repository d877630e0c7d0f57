//! The people function: the organisation (settings, locations, positions, units), its people and
//! their invitations, imports of people from spreadsheets, the audit log of every change, and the
//! log of its messages (with the messaging providers' delivery reports), and the people the
//! organisation's identity provider provisions (SCIM 2.0), its support tickets to the platform, and
//! its outgoing webhooks' endpoints.

mod audit;
mod deliveries;
mod feedback;
mod imports;
mod locations;
mod notifications;
mod people;
mod permission_sets;
mod photo;
mod positions;
mod scim;
mod support;
mod tenant;
mod units;
mod webhooks;

/// The clients besides DynamoDB's that its Lambda builds at cold start: invitations and imports are
/// queued, profile photos, import files and support attachments uploaded.
pub const CLIENTS: rota::Clients = rota::Clients { outbox: true, files: true, payments: false };

rota::function_routes!(
    [tenant::get_tenant, tenant::update_tenant],
    [locations::list_locations, locations::create_location],
    [locations::get_location, locations::update_location, locations::delete_location],
    [positions::list_positions, positions::create_position],
    [positions::update_position, positions::delete_position],
    [units::list_units, units::create_unit],
    [units::update_unit],
    [people::list_people, people::create_person],
    [people::get_person, people::update_person, people::deactivate_person],
    [people::resend_invitation],
    [photo::photo_upload],
    [feedback::give_feedback, feedback::list_feedback],
    [audit::list_audit_logs],
    [notifications::list_notifications],
    [deliveries::sms_status],
    [deliveries::whatsapp_handshake, deliveries::whatsapp_webhook],
    [imports::list_imports, imports::create_import],
    [imports::get_import],
    [imports::start_import],
    [imports::import_template],
    [permission_sets::list_permission_sets, permission_sets::create_permission_set],
    [permission_sets::update_permission_set],
    [scim::get_scim],
    [scim::create_scim_token, scim::delete_scim_token],
    [scim::service_provider_config],
    [scim::list_users, scim::create_user],
    [scim::get_user, scim::replace_user, scim::patch_user, scim::delete_user],
    [support::attachment_upload],
    [support::list_tickets, support::open_ticket],
    [support::get_ticket],
    [support::reply],
    [webhooks::list_endpoints, webhooks::create_endpoint],
    [webhooks::get_endpoint, webhooks::update_endpoint, webhooks::delete_endpoint],
    [webhooks::rotate_secret],
    [webhooks::ping],
    [webhooks::list_deliveries],
    [webhooks::redeliver],
);
