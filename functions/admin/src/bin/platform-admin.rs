//! `make platform-admin EMAIL=…` (locally), or this binary with the deployed stack's settings:
//! invites a platform admin and prints their invitation link. The person sets a password
//! through it (`POST /auth/invitations/accept`) and must then turn on 2FA.

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let email = match std::env::args().skip(1).collect::<Vec<_>>().as_slice() {
        [flag, email] if flag == "--email" => email.clone(),
        _ => return Err("usage: platform-admin --email ADDRESS".into()),
    };
    let state = rota::AppState::from_env().await?;
    let link = admin::create_platform_admin(&state, &email).await?;
    println!("Platform admin {email} invited. Their link (72 hours, single use):\n{link}");
    Ok(())
}
