#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    notifier::run_lambda().await
}
