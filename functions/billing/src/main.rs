fn main() -> Result<(), lambda_http::Error> {
    rota::lambda_runtime()?.block_on(billing::run_lambda())
}
