//! `make dev`: the whole API on `http://127.0.0.1:$PORT` (default 3000) against the local stack,
//! with the notifier draining the local notification queue, the nightly worker its queue (fed by
//! an hourly sweep, as the EventBridge rule does in AWS), the importer and the auto-fill solver
//! theirs, as their Lambda triggers would.

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    rota::telemetry::init();
    let state = rota::AppState::from_env().await?;
    let notifier = notifier::Notifier::from_env().await?;
    let sqs = aws_sdk_sqs::Client::new(&rota::aws::sdk_config().await);
    let queue = state.config.notification_queue.clone();
    tokio::spawn(async move {
        loop {
            // Long polling: the call itself waits up to 10 s for a message.
            if let Err(error) = notifier::poll(&notifier, &sqs, &queue, 10).await {
                tracing::error!(error = %error, "polling the notification queue failed");
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
        }
    });
    let nightly = std::sync::Arc::new(nightly::Nightly::from_env().await?);
    let schedule = nightly.clone();
    tokio::spawn(async move {
        // What the EventBridge rule does in AWS: a sweep now and every hour.
        let mut hourly = tokio::time::interval(std::time::Duration::from_secs(3600));
        loop {
            hourly.tick().await;
            if let Err(error) = rota::queue::send(&schedule.sqs, &schedule.queue_url, &nightly::Job::Sweep).await {
                tracing::error!(error = %error, "queueing the hourly sweep failed");
            }
        }
    });
    tokio::spawn(async move {
        loop {
            if let Err(error) = nightly::poll(&nightly, 10).await {
                tracing::error!(error = %error, "polling the nightly queue failed");
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
        }
    });
    let importer = importer::Importer::from_env().await?;
    tokio::spawn(async move {
        loop {
            if let Err(error) = importer::poll(&importer, 10).await {
                tracing::error!(error = %error, "polling the import queue failed");
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
        }
    });
    let filler = autofill::AutoFiller::from_env().await?;
    tokio::spawn(async move {
        loop {
            if let Err(error) = autofill::poll(&filler, 10).await {
                tracing::error!(error = %error, "polling the auto-fill queue failed");
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
        }
    });
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
