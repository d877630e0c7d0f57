//! An SDK interceptor that counts sequential DynamoDB round trips: a call that starts while
//! another is in flight runs in parallel with it and does not count again. Tests assert the
//! per-endpoint budget with it; the request log reports it.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, FinalizerInterceptorContextRef,
};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

#[derive(Clone, Debug, Default)]
pub struct RoundTrips(Arc<Counters>);

#[derive(Debug, Default)]
struct Counters {
    in_flight: AtomicUsize,
    rounds: AtomicUsize,
}

impl RoundTrips {
    pub fn count(&self) -> usize {
        self.0.rounds.load(Ordering::SeqCst)
    }
}

impl Intercept for RoundTrips {
    fn name(&self) -> &'static str {
        "RoundTrips"
    }

    fn read_before_execution(
        &self,
        _: &BeforeSerializationInterceptorContextRef<'_>,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if self.0.in_flight.fetch_add(1, Ordering::SeqCst) == 0 {
            self.0.rounds.fetch_add(1, Ordering::SeqCst);
        }
        Ok(())
    }

    fn read_after_execution(
        &self,
        _: &FinalizerInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
        Ok(())
    }
}
