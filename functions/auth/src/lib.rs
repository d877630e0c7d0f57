//! The auth function: sign-up, login (with two-factor authentication), refresh-token sessions and
//! the caller's own profile.

mod accounts;
mod contact;
mod dns;
mod health;
mod invitations;
mod limits;
mod login;
mod me;
mod mfa;
mod password_reset;
mod phone;
mod sessions;
mod signup;
mod sso;
mod tokens;

/// The clients besides DynamoDB's that its Lambda builds at cold start: invitations, password
/// resets and sign-up emails are queued; nothing is uploaded.
pub const CLIENTS: rota::Clients = rota::Clients { outbox: true, files: false, payments: false };

rota::function_routes!(
    [health::health],
    [accounts::person_sessions, accounts::end_person_sessions],
    [accounts::reset_person_2fa],
    [signup::signup],
    [contact::contact],
    [signup::verify_email],
    [login::login],
    [invitations::accept_invitation],
    [password_reset::forgot_password],
    [password_reset::reset_password],
    [mfa::login_mfa],
    [phone::request_code],
    [phone::verify_code],
    [sso::start],
    [sso::callback],
    [sso::get_sso, sso::put_sso],
    [sso::verify_domain],
    [sessions::refresh],
    [sessions::logout],
    [sessions::logout_all],
    [sessions::list_sessions],
    [sessions::revoke_session],
    [mfa::setup_2fa],
    [mfa::enable_2fa],
    [mfa::disable_2fa],
    [me::get_me, me::update_me],
);
