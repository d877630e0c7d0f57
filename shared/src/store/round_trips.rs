//! Sequential DynamoDB round trips per request. The request log middleware runs each request in
//! a [`RequestTrips`] scope (a task-local); the [`RoundTrips`] SDK interceptor counts every attempt
//! (retries included) that starts while nothing else of that request is in flight: calls made in
//! parallel count once, calls made one after another count each. The in-flight mark of an attempt
//! is a guard kept in the operation's config bag, so an attempt whose future is dropped (a
//! `try_join!` sibling failed, a timeout, a client that hung up) is no longer in flight either.
//! Work a request spawns onto another task counts when wrapped in [`in_current_request`].
//!
//! The interceptor also adds up the read and write units each call consumes ([`super::consumed`]:
//! DynamoDB's own figures in AWS, modelled from the items on the local stack).

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextMut, BeforeTransmitInterceptorContextRef, FinalizerInterceptorContextRef,
};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};

use super::consumed::{self, Consumed, Planned};

tokio::task_local! {
    static CURRENT: RequestTrips;
}

/// The round trips of one request: what its log line reports.
#[derive(Clone, Debug, Default)]
pub struct RequestTrips(Arc<Counters>);

#[derive(Debug, Default)]
struct Counters {
    in_flight: AtomicUsize,
    trips: AtomicUsize,
    consumed: Mutex<Consumed>,
}

impl RequestTrips {
    /// Sequential round trips made in this request's scope so far.
    pub fn count(&self) -> usize {
        self.0.trips.load(Ordering::SeqCst)
    }

    /// The units its calls consumed so far.
    pub fn consumed(&self) -> Consumed {
        lock(&self.0.consumed).clone()
    }

    /// Runs `future` as (part of) this request: DynamoDB attempts it makes count here.
    pub async fn scope<F: Future>(self, future: F) -> F::Output {
        CURRENT.scope(self, future).await
    }

    /// The request the current task is running, if any.
    pub fn current() -> Option<Self> {
        CURRENT.try_with(Clone::clone).ok()
    }

    fn start_attempt(&self) -> InFlight {
        if self.0.in_flight.fetch_add(1, Ordering::SeqCst) == 0 {
            self.0.trips.fetch_add(1, Ordering::SeqCst);
        }
        InFlight(self.clone())
    }
}

/// `future` as part of the current request, for work spawned onto another task
/// (`tokio::spawn(in_current_request(work))`), whose attempts would not count otherwise. The
/// request is taken here, on the spawning task, not when the spawned task first polls.
pub fn in_current_request<F: Future>(future: F) -> impl Future<Output = F::Output> {
    let request = RequestTrips::current();
    async move {
        match request {
            Some(request) => request.scope(future).await,
            None => future.await,
        }
    }
}

/// One attempt in flight; dropping it (after the attempt, or with its cancelled future) ends it.
#[derive(Debug)]
struct InFlight(RequestTrips);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Storable for InFlight {
    type Storer = StoreReplace<Self>;
}

/// The SDK interceptor, and in tests a record of each request's count and units by request id
/// (see [`RoundTrips::recording`]). In production it records nothing: the log line is the report.
#[derive(Clone, Debug, Default)]
pub struct RoundTrips {
    record: Option<Arc<Mutex<HashMap<String, Spent>>>>,
    /// When recording: every request sent, by operation (`BatchWriteItem`…), retries included.
    operations: Option<Arc<Mutex<HashMap<String, usize>>>>,
    /// Whether units are modelled from the items (the local stack) rather than asked of DynamoDB.
    modelled: bool,
}

/// What one request spent, as its log line reports it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Spent {
    pub round_trips: usize,
    pub consumed: Consumed,
}

impl RoundTrips {
    /// An interceptor that also keeps every request's count, for tests to read by the request's
    /// `x-request-id` ([`RoundTrips::of_request`]).
    pub fn recording() -> Self {
        Self { record: Some(Arc::default()), operations: Some(Arc::default()), modelled: false }
    }

    /// This interceptor, modelling units from the items (`true`: moto's figures are fixed).
    pub fn modelled(mut self, modelled: bool) -> Self {
        self.modelled = modelled;
        self
    }

    /// How many requests of each operation were sent so far, when recording (a worker's writes,
    /// say, which no HTTP request scopes).
    pub fn operations(&self) -> HashMap<String, usize> {
        self.operations.as_ref().map(|counts| lock(counts).clone()).unwrap_or_default()
    }

    /// Called once per request with what it spent (by the request log middleware).
    pub fn report(&self, request_id: &str, spent: Spent) {
        if let Some(record) = &self.record {
            lock(record).insert(request_id.to_owned(), spent);
        }
    }

    /// The count reported for a request, when recording.
    pub fn of_request(&self, request_id: &str) -> Option<usize> {
        self.spent_by(request_id).map(|spent| spent.round_trips)
    }

    /// What a request spent, when recording.
    pub fn spent_by(&self, request_id: &str) -> Option<Spent> {
        let record = self.record.as_ref()?;
        lock(record).get(request_id).cloned()
    }
}

fn lock<T>(value: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    value.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Intercept for RoundTrips {
    fn name(&self) -> &'static str {
        "RoundTrips"
    }

    /// Once per call: asks for what its units will be counted from, and keeps what the input says.
    fn modify_before_serialization(
        &self,
        context: &mut BeforeSerializationInterceptorContextMut<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(planned) = consumed::plan(context.input_mut(), self.modelled) {
            cfg.interceptor_state().store_put(planned);
        }
        Ok(())
    }

    /// Once per call, after its last attempt: its units, to its request.
    fn read_after_execution(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(planned) = cfg.load::<Planned>() else { return Ok(()) };
        let consumed = match context.output_or_error() {
            Some(Ok(output)) => consumed::consumed(planned, Some(output)),
            // DynamoDB answered with an error (a failed condition): a write is still charged.
            Some(Err(error)) if error.is_operation_error() => consumed::consumed(planned, None),
            _ => return Ok(()),
        };
        if let Some(request) = RequestTrips::current() {
            lock(&request.0.consumed).add(consumed);
        }
        Ok(())
    }

    /// Once per attempt, retries included, just before it is signed and sent.
    fn read_before_attempt(
        &self,
        _: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(request) = RequestTrips::current() {
            // Lives in the operation's config bag: dropped after the attempt or with the future.
            cfg.interceptor_state().store_put(request.start_attempt());
        }
        if let (Some(counts), Some(operation)) = (&self.operations, cfg.load::<Metadata>()) {
            *lock(counts).entry(operation.name().to_owned()).or_default() += 1;
        }
        Ok(())
    }

    fn read_after_attempt(
        &self,
        _: &FinalizerInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        cfg.interceptor_state().unset::<InFlight>();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    //! Against a scripted DynamoDB on a loopback port: no stack needed, and every case is exact.

    use std::time::Duration;

    use aws_sdk_dynamodb::Client;
    use aws_sdk_dynamodb::config::retry::RetryConfig;
    use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    use super::*;

    /// How the scripted server answers each request.
    #[derive(Clone, Copy)]
    enum Script {
        /// `{}` at once: a GetItem that found nothing.
        Answer,
        /// Never answers.
        Hang,
        /// A throttling error (retryable), then `{}` from the next request on.
        ThrottleOnce,
        /// A GetItem that found nothing, with the half unit DynamoDB reports for it.
        HalfUnit,
    }

    fn response(status: &str, body: &str) -> String {
        let length = body.len();
        format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/x-amz-json-1.0\r\ncontent-length: {length}\r\n\r\n{body}"
        )
    }

    async fn serve(script: Script) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = format!("http://{}", listener.local_addr().unwrap());
        let throttled = Arc::new(AtomicUsize::new(0));
        tokio::spawn(async move {
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                let throttled = throttled.clone();
                tokio::spawn(connection(stream, script, throttled));
            }
        });
        address
    }

    async fn connection(mut stream: TcpStream, script: Script, throttled: Arc<AtomicUsize>) {
        let mut buffer = Vec::new();
        loop {
            // One request: headers, then content-length bytes of body.
            let mut chunk = [0; 4096];
            let Ok(read @ 1..) = stream.read(&mut chunk).await else { return };
            buffer.extend_from_slice(&chunk[..read]);
            let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") else { continue };
            let head = String::from_utf8_lossy(&buffer[..end]).to_lowercase();
            let length: usize = head
                .lines()
                .find_map(|line| line.strip_prefix("content-length:"))
                .map_or(0, |value| value.trim().parse().unwrap());
            if buffer.len() < end + 4 + length {
                continue;
            }
            buffer.drain(..end + 4 + length);
            let answer = match script {
                Script::Hang => std::future::pending().await,
                Script::ThrottleOnce if throttled.fetch_add(1, Ordering::SeqCst) == 0 => response(
                    "400 Bad Request",
                    r#"{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"slow down"}"#,
                ),
                Script::HalfUnit => response("200 OK", r#"{"ConsumedCapacity":{"TableName":"t","CapacityUnits":0.5}}"#),
                _ => response("200 OK", "{}"),
            };
            stream.write_all(answer.as_bytes()).await.unwrap();
        }
    }

    async fn client(script: Script) -> Client {
        let config = aws_sdk_dynamodb::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("test", "test", None, None, "tests"))
            .endpoint_url(serve(script).await)
            .retry_config(RetryConfig::standard().with_initial_backoff(Duration::from_millis(1)))
            .interceptor(RoundTrips::default())
            .build();
        Client::from_conf(config)
    }

    async fn get(client: &Client) {
        client.get_item().table_name("t").key("pk", super::super::s("k")).send().await.unwrap();
    }

    #[tokio::test]
    async fn calls_one_after_another_count_each_and_parallel_ones_once() {
        let client = client(Script::Answer).await;
        let request = RequestTrips::default();
        request
            .clone()
            .scope(async {
                get(&client).await;
                get(&client).await;
                tokio::join!(get(&client), get(&client), get(&client));
            })
            .await;
        assert_eq!(request.count(), 3);
    }

    #[tokio::test]
    async fn a_cancelled_call_does_not_stop_the_count() {
        // The counter this replaced marked a call in flight until its end hook ran, which a
        // dropped future never reaches: every later call of the app counted 0.
        let (stuck, client) = (client(Script::Hang).await, client(Script::Answer).await);
        let request = RequestTrips::default();
        request
            .clone()
            .scope(async {
                let cancelled = tokio::time::timeout(Duration::from_millis(300), get(&stuck)).await;
                assert!(cancelled.is_err(), "the scripted server never answers");
                for _ in 0..3 {
                    get(&client).await;
                }
            })
            .await;
        assert_eq!(request.count(), 4, "the cancelled call and the three after it");
    }

    #[tokio::test]
    async fn a_request_adds_up_the_units_dynamodb_reports() {
        let client = client(Script::HalfUnit).await;
        let request = RequestTrips::default();
        request
            .clone()
            .scope(async {
                get(&client).await;
                tokio::join!(get(&client), get(&client));
            })
            .await;
        let consumed = request.consumed();
        assert_eq!((consumed.read_units, consumed.write_units), (1.5, 0.0));
    }

    #[tokio::test]
    async fn a_retried_call_counts_each_attempt() {
        let client = client(Script::ThrottleOnce).await;
        let request = RequestTrips::default();
        request.clone().scope(get(&client)).await;
        assert_eq!(request.count(), 2);
    }

    #[tokio::test]
    async fn each_request_counts_its_own_calls() {
        let client = client(Script::Answer).await;
        let (first, second) = (RequestTrips::default(), RequestTrips::default());
        tokio::join!(
            first.clone().scope(get(&client)),
            second.clone().scope(async {
                get(&client).await;
                get(&client).await;
            })
        );
        get(&client).await; // outside any request: counts nowhere
        assert_eq!((first.count(), second.count()), (1, 2));
    }

    #[tokio::test]
    async fn spawned_work_counts_when_carried_into_the_task() {
        let client = client(Script::Answer).await;
        let request = RequestTrips::default();
        request
            .clone()
            .scope(async {
                let spawned = tokio::spawn(in_current_request({
                    let client = client.clone();
                    async move { get(&client).await }
                }));
                spawned.await.unwrap();
                tokio::spawn({
                    let client = client.clone();
                    async move { get(&client).await }
                })
                .await
                .unwrap();
            })
            .await;
        assert_eq!(request.count(), 1, "only the call carried into its task counts");
    }
}
