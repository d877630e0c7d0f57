fn main() -> Result<(), lambda_http::Error> {
    rota::lambda_runtime()?.block_on(admin::run_lambda())
}
