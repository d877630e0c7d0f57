#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    rota::http::run_lambda(admin::lambda_router()).await
}
