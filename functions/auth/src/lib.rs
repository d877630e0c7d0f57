//! The auth function: sign-up, login, refresh-token sessions and the caller's own profile.

mod invitations;
mod limits;
mod login;
mod me;
mod password_reset;
mod sessions;
mod signup;
mod tokens;

rota::function_routes!(
    [signup::signup],
    [signup::verify_email],
    [login::login],
    [invitations::accept_invitation],
    [password_reset::forgot_password],
    [password_reset::reset_password],
    [sessions::refresh],
    [sessions::logout],
    [sessions::logout_all],
    [sessions::list_sessions],
    [sessions::revoke_session],
    [me::get_me, me::update_me],
);
