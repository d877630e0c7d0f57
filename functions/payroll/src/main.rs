#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    rota::http::run_lambda(payroll::lambda_router()).await
}
