//! HTTP to the providers outside AWS (payments, SMS, WhatsApp) over the HTTP client the AWS SDK
//! already links (hyper through `aws-smithy-http-client`, rustls with aws-lc), so no second HTTP
//! stack enters the binaries. HTTPS only, except plain HTTP to a loopback address (the local
//! stack's fakes): credentials never cross a network in clear text.

use std::sync::OnceLock;
use std::time::Duration;

use aws_smithy_http_client::Connector;
use aws_smithy_http_client::proxy::ProxyConfig;
use aws_smithy_http_client::tls::TlsContext;
use aws_smithy_runtime_api::client::http::HttpConnector;
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::byte_stream::ByteStream;
use aws_smithy_types::error::display::DisplayErrorContext;

/// A provider's base URL and the connection to it, built once per cold start.
pub struct Outbound {
    /// The base URL without a trailing slash.
    base: String,
    timeout: Duration,
    transport: Transport,
}

enum Transport {
    /// Plain HTTP, to a loopback address only (a local fake).
    Plain(Connector),
    /// HTTPS trusting the platform's roots. Loading them reads the system store (≈3 ms on Linux),
    /// so it happens on the first call, never at a cold start, and once per execution environment.
    Tls(OnceLock<Connector>),
}

/// A provider's answer: its status, `Retry-After` (seconds) if it sent one, and its whole body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub retry_after_secs: Option<u64>,
    pub body: Vec<u8>,
}

/// Why no answer came: the provider could not be reached, or did not answer within the timeout.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Unreachable(pub String);

impl Outbound {
    /// Checks `base` (the setting `name` holds, for the message); no connection is made and no
    /// certificate is loaded here.
    pub fn new(name: &str, base: &str, timeout: Duration) -> Result<Self, String> {
        let base = base.trim_end_matches('/').to_owned();
        let uri: http::Uri = base.parse().map_err(|error| format!("{name} {base:?} is not a URL: {error}"))?;
        let host = uri.host().unwrap_or_default();
        let transport = match uri.scheme_str() {
            Some("https") => Transport::Tls(OnceLock::new()),
            Some("http") if matches!(host, "127.0.0.1" | "localhost" | "[::1]" | "::1") => {
                Transport::Plain(Connector::builder().build_http())
            }
            _ => return Err(format!("{name} {base:?} must be https:// (or http:// to a loopback address)")),
        };
        Ok(Self { base, timeout, transport })
    }

    /// The URL of `path` at the provider.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn connector(&self) -> &Connector {
        match &self.transport {
            Transport::Plain(connector) => connector,
            Transport::Tls(connector) => connector.get_or_init(|| {
                Connector::builder()
                    .tls_provider(crate::aws::tls_provider())
                    .tls_context(TlsContext::default())
                    .proxy_config(ProxyConfig::from_env())
                    .build()
            }),
        }
    }

    /// A GET of `path` (see [`Self::url`]), without headers or body.
    pub async fn get(&self, path: &str) -> Result<Answer, Unreachable> {
        let request = http::Request::get(self.url(path))
            .body(SdkBody::empty())
            .map_err(|error| Unreachable(error.to_string()))?;
        self.send(request).await
    }

    /// One request (its URI from [`Self::url`]): the answer, whole, within the timeout.
    pub async fn send(&self, request: http::Request<SdkBody>) -> Result<Answer, Unreachable> {
        let request = HttpRequest::try_from(request).map_err(|error| Unreachable(error.to_string()))?;
        let exchange = async {
            let response = self
                .connector()
                .call(request)
                .await
                .map_err(|error| Unreachable(DisplayErrorContext(error).to_string()))?;
            let status = response.status().as_u16();
            let retry_after_secs =
                response.headers().get("retry-after").and_then(|value| value.trim().parse::<u64>().ok());
            let body = ByteStream::new(response.into_body())
                .collect()
                .await
                .map_err(|error| Unreachable(format!("reading the answer: {error}")))?;
            Ok(Answer { status, retry_after_secs, body: body.to_vec() })
        };
        tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| Unreachable(format!("no answer within {:?}", self.timeout)))?
    }
}

impl std::fmt::Debug for Outbound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbound").field("base", &self.base).finish_non_exhaustive()
    }
}
