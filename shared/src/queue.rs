//! Rota's SQS queues, both sides: sending messages ten to a request, and what every SQS-triggered
//! worker shares — a batch handled record by record with the failed ones reported
//! (`ReportBatchItemFailures`), and, for the dev server and the tests, draining a local queue into
//! the same handler the Lambda runs.

use std::collections::HashMap;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use aws_sdk_sqs::types::{
    MessageSystemAttributeNameForSends, MessageSystemAttributeValue, SendMessageBatchRequestEntry,
};
use futures_util::{StreamExt, TryStreamExt};
use serde::Serialize;

use crate::Error;

/// How many batch requests one [`send_all`] has in flight at once.
const BATCHES_AT_ONCE: usize = 10;

/// Queues `messages` as JSON, ten to a request (SQS's batch), several requests at once.
pub async fn send_all<T: Serialize>(sqs: &aws_sdk_sqs::Client, queue_url: &str, messages: &[T]) -> Result<(), Error> {
    let batches = messages
        .chunks(10)
        .map(|batch| {
            batch
                .iter()
                .enumerate()
                .map(|(i, message)| {
                    let body = serde_json::to_string(message).map_err(Error::internal)?;
                    SendMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .message_body(body)
                        .set_message_system_attributes(traced())
                        .build()
                        .map_err(Error::internal)
                })
                .collect::<Result<Vec<_>, Error>>()
        })
        .collect::<Result<Vec<_>, Error>>()?;
    futures_util::stream::iter(batches)
        .map(|entries| async move {
            let sent = sqs
                .send_message_batch()
                .queue_url(queue_url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(sqs_error)?;
            match sent.failed.first() {
                Some(failed) => Err(Error::internal(format!("SQS refused a message: {}", failed.code))),
                None => Ok(()),
            }
        })
        .buffer_unordered(BATCHES_AT_ONCE)
        .try_collect()
        .await
}

/// Queues one message as JSON.
pub async fn send<T: Serialize>(sqs: &aws_sdk_sqs::Client, queue_url: &str, message: &T) -> Result<(), Error> {
    let body = serde_json::to_string(message).map_err(Error::internal)?;
    let send = sqs.send_message().queue_url(queue_url).message_body(body);
    send.set_message_system_attributes(traced()).send().await.map_err(sqs_error)?;
    Ok(())
}

/// Queues one message, out of sight for `delay_secs` (SQS allows up to 900).
pub async fn send_later<T: Serialize>(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    message: &T,
    delay_secs: i32,
) -> Result<(), Error> {
    let body = serde_json::to_string(message).map_err(Error::internal)?;
    let delay = delay_secs.clamp(0, 900);
    let send = sqs.send_message().queue_url(queue_url).message_body(body).delay_seconds(delay);
    send.set_message_system_attributes(traced()).send().await.map_err(sqs_error)?;
    Ok(())
}

/// The invocation's X-Ray trace (the Lambda runtime sets `_X_AMZN_TRACE_ID` for each), as the
/// `AWSTraceHeader` a message carries so the worker that receives it joins the trace. None
/// outside Lambda.
fn traced() -> Option<HashMap<MessageSystemAttributeNameForSends, MessageSystemAttributeValue>> {
    let trace = std::env::var("_X_AMZN_TRACE_ID").ok().filter(|trace| !trace.is_empty())?;
    let value = MessageSystemAttributeValue::builder().data_type("String").string_value(trace).build().ok()?;
    Some(HashMap::from([(MessageSystemAttributeNameForSends::AwsTraceHeader, value)]))
}

/// Serves SQS batches to `handle` as a Lambda: the rest of an SQS-triggered worker's `main`, after
/// its state is built.
pub async fn serve<Handled>(handle: impl Fn(SqsEvent) -> Handled) -> Result<(), lambda_runtime::Error>
where
    Handled: Future<Output = SqsBatchResponse>,
{
    let handle = &handle;
    lambda_runtime::run(lambda_runtime::service_fn(move |event: lambda_runtime::LambdaEvent<SqsEvent>| async move {
        Ok::<_, std::convert::Infallible>(handle(event.payload).await)
    }))
    .await
}

/// Handles every record of a batch on its own, in parallel; the failed ones are logged and
/// reported by message id, so SQS retries them alone.
pub async fn each<'a, Handled>(event: &'a SqsEvent, handle: impl Fn(&'a SqsMessage) -> Handled) -> SqsBatchResponse
where
    Handled: Future<Output = Result<(), Error>>,
{
    let handle = &handle;
    let outcomes = event.records.iter().map(|record| async move {
        let outcome = handle(record).await;
        if let Err(error) = &outcome {
            tracing::error!(message_id = record.message_id.as_deref(), error = %error, "a queued message failed");
        }
        outcome.err().map(|_| record.message_id.clone().unwrap_or_default())
    });
    let failed = futures_util::future::join_all(outcomes).await;
    let mut response = SqsBatchResponse::default();
    response.batch_item_failures = failed
        .into_iter()
        .flatten()
        .map(|item_identifier| {
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = item_identifier;
            failure
        })
        .collect();
    response
}

/// Drains `queue_url` once, as the Lambda trigger would deliver it: batches of up to 10 through
/// `handle`, the handled ones deleted, the failed ones left for a retry. The first receive waits
/// up to `wait_secs` for a message. Returns how many messages were handled (failed ones included).
pub async fn poll<Handled>(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    wait_secs: i32,
    handle: impl Fn(SqsEvent) -> Handled,
) -> Result<usize, Error>
where
    Handled: Future<Output = SqsBatchResponse>,
{
    let mut handled = 0;
    loop {
        let received = sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::ApproximateReceiveCount)
            .wait_time_seconds(if handled == 0 { wait_secs } else { 0 })
            .send()
            .await
            .map_err(sqs_error)?;
        let messages = received.messages.unwrap_or_default();
        if messages.is_empty() {
            return Ok(handled);
        }
        let mut event = SqsEvent::default();
        event.records = messages
            .iter()
            .map(|message| {
                let mut record = SqsMessage::default();
                record.message_id = message.message_id.clone();
                record.receipt_handle = message.receipt_handle.clone();
                record.body = message.body.clone();
                // As the Lambda trigger gives it: how often the message was received.
                for (name, value) in message.attributes.iter().flatten() {
                    record.attributes.insert(name.as_str().to_owned(), value.clone());
                }
                record
            })
            .collect();
        let response = handle(event).await;
        let failed: Vec<_> = response.batch_item_failures.iter().map(|f| f.item_identifier.as_str()).collect();
        for message in &messages {
            if failed.contains(&message.message_id.as_deref().unwrap_or_default()) {
                continue;
            }
            if let Some(receipt) = &message.receipt_handle {
                sqs.delete_message().queue_url(queue_url).receipt_handle(receipt).send().await.map_err(sqs_error)?;
            }
        }
        handled += messages.len();
    }
}

/// An SQS failure as an internal error, with the SDK's whole chain of causes.
pub fn sqs_error<E, R>(error: aws_sdk_sqs::error::SdkError<E, R>) -> Error
where
    E: std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    Error::internal(aws_sdk_sqs::error::DisplayErrorContext(error).to_string())
}
