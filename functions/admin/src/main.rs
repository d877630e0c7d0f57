fn main() -> Result<(), lambda_http::Error> {
    rota::lambda_runtime()?.block_on(rota::http::run_lambda(admin::lambda_router(), admin::CLIENTS))
}
