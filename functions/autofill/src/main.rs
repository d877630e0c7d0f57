fn main() -> Result<(), lambda_runtime::Error> {
    rota::lambda_runtime()?.block_on(autofill::run_lambda())
}
