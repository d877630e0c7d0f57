//! `make dev`: the whole API on `http://127.0.0.1:$PORT` (default 3000) against the local stack.

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    rota::telemetry::init();
    let state = rota::AppState::from_env().await?;
    let (router, _) = dev_server::app(state);
    let port = std::env::var("PORT").unwrap_or_else(|_| "3000".into());
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}")).await?;
    tracing::info!("Rota API on http://{}", listener.local_addr()?);
    axum::serve(listener, router)
        .with_graceful_shutdown(async {
            tokio::signal::ctrl_c().await.ok();
        })
        .await?;
    Ok(())
}
