fn main() -> Result<(), lambda_http::Error> {
    rota::lambda_runtime()?.block_on(auth::run_lambda())
}
