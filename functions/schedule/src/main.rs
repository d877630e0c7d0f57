#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    rota::http::run_lambda(schedule::lambda_router()).await
}
