//! The auth function: sign-up, login, refresh-token sessions and the caller's own profile.

mod limits;
mod login;
mod me;
mod sessions;
mod signup;
mod tokens;

use rota::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(signup::signup))
        .routes(routes!(signup::verify_email))
        .routes(routes!(login::login))
        .routes(routes!(sessions::refresh))
        .routes(routes!(sessions::logout))
        .routes(routes!(sessions::logout_all))
        .routes(routes!(sessions::list_sessions))
        .routes(routes!(sessions::revoke_session))
        .routes(routes!(me::get_me, me::update_me))
}
