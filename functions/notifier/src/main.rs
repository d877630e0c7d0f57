fn main() -> Result<(), lambda_runtime::Error> {
    rota::lambda_runtime()?.block_on(notifier::run_lambda())
}
