#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    rota::http::run_lambda(attendance::lambda_router()).await
}
