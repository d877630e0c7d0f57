//! `make nightly`: a sweep now, as the hourly rule would start it — every active organisation's
//! jobs queued on the nightly queue, then the queue drained through the Lambda's own handler.
//! Against `make dev`'s stack, give its port: `ROTA_AWS_PORT=… make nightly` (the dev server
//! drains the same queue, so it may run some of the jobs itself).

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    rota::telemetry::init();
    let nightly = nightly::Nightly::from_env().await?;
    let queued = nightly::sweep(&nightly).await?;
    let mut handled = 0;
    loop {
        let drained = nightly::poll(&nightly, 1).await?;
        if drained == 0 {
            break;
        }
        handled += drained;
    }
    println!("{queued} jobs queued; {handled} messages handled here (a failed job waits on the queue for its retry)");
    Ok(())
}
