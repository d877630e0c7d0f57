fn main() -> Result<(), lambda_http::Error> {
    rota::lambda_runtime()?.block_on(rota::http::run_lambda(people::lambda_router(), people::CLIENTS))
}
