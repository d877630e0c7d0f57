//! The harness itself: without the local stack, tests stop with a message saying how to run them.

#[tokio::test]
#[should_panic(expected = "the local AWS stack is not reachable at http://127.0.0.1:9; run the tests with `make test`")]
async fn an_unreachable_stack_is_named_instead_of_failing_later_with_a_500() {
    // Port 9 (discard) is not listened on here; a connection is refused at once.
    api_tests::check_stack("http://127.0.0.1:9").await;
}

#[tokio::test]
async fn the_stack_of_this_run_is_reachable() {
    api_tests::check_stack(&std::env::var("AWS_ENDPOINT_URL").expect("make test sets AWS_ENDPOINT_URL")).await;
}
