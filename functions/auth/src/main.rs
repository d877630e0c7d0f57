fn main() -> Result<(), lambda_http::Error> {
    rota::lambda_runtime()?.block_on(rota::http::run_lambda(auth::lambda_router(), auth::CLIENTS))
}
