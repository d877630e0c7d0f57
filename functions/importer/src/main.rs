fn main() -> Result<(), lambda_runtime::Error> {
    rota::lambda_runtime()?.block_on(importer::run_lambda())
}
