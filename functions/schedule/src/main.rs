fn main() -> Result<(), lambda_http::Error> {
    rota::lambda_runtime()?.block_on(schedule::run_lambda())
}
