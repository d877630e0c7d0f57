//! The AWS SDK configuration every function starts from: `aws_config`'s defaults with an HTTPS
//! client that trusts only the Amazon Trust Services roots, compiled into the binary.
//!
//! Why: the SDK's default client loads the platform trust store when a client is built, which on
//! Linux reads `/etc/ssl/certs/ca-certificates.crt` and then opens every file in `/etc/ssl/certs`
//! (≈150 files, ≈3 ms of every cold start). Parsing five PEMs compiled in here costs microseconds
//! and touches no file.
//!
//! Why these roots suffice: AWS service endpoints (DynamoDB, S3, SQS, SES, STS, …) present
//! certificates issued by Amazon Trust Services, whose chains end at Amazon Root CA 1–4 or, for
//! old clients, at the Starfield Services Root Certificate Authority – G2 that cross-signs them
//! (AWS bought that root for this purpose). Sources:
//! - <https://aws.amazon.com/blogs/security/how-to-prepare-for-aws-move-to-its-own-certificate-authority/>
//! - <https://repost.aws/knowledge-center/s3-cloudfront-certificate-migration> (DynamoDB and
//!   most services moved to Amazon Trust Services; S3 and CloudFront followed in 2021)
//! - the roots themselves: <https://www.amazontrust.com/repository/>
//!
//! Limits: an endpoint whose certificate does not chain to these roots is refused — e.g. an
//! HTTPS `AWS_ENDPOINT_URL` with another CA, a TLS-intercepting proxy, or a future AWS CA change.
//! Plain-HTTP endpoints (moto locally, the Lambda runtime API) involve no TLS and are unaffected.

use std::sync::{Arc, OnceLock};

use aws_config::environment::{EnvironmentVariableCredentialsProvider, EnvironmentVariableRegionProvider};
use aws_config::{BehaviorVersion, SdkConfig};
use aws_smithy_http_client::proxy::ProxyConfig;
use aws_smithy_http_client::tls::{self, TlsContext, TrustStore, rustls_provider::CryptoMode};
use aws_smithy_http_client::{Builder, ConnectorBuilder};
use aws_smithy_runtime_api::client::http::SharedHttpClient;

/// Amazon Root CA 1–4 and Starfield Services Root Certificate Authority – G2, copied from Debian's
/// `ca-certificates` (Mozilla's root store); <https://www.amazontrust.com/repository/> publishes
/// the same certificates.
const AMAZON_TRUST_SERVICES_ROOTS: [&str; 5] = [
    include_str!("../certs/amazon-root-ca-1.pem"),
    include_str!("../certs/amazon-root-ca-2.pem"),
    include_str!("../certs/amazon-root-ca-3.pem"),
    include_str!("../certs/amazon-root-ca-4.pem"),
    include_str!("../certs/starfield-services-root-ca-g2.pem"),
];

/// `aws_config`'s defaults (retries, timeouts, `AWS_ENDPOINT_URL`, …) with [`https_client`], and
/// the region and credentials from environment variables only.
///
/// Lambda always sets `AWS_REGION` and the execution role's `AWS_ACCESS_KEY_ID`,
/// `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`, where the default chains look first anyway;
/// naming the environment providers skips building the rest of those chains (profile, SSO, web
/// identity with its STS client, ECS, IMDS), ≈0.3 ms of a cold start. Locally
/// `infra/local.env` sets the same variables; a named profile is not consulted.
pub async fn sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(https_client(amazon_trust_services()))
        .region(EnvironmentVariableRegionProvider::new())
        .credentials_provider(EnvironmentVariableCredentialsProvider::new())
        .load()
        .await
}

/// The roots AWS endpoints chain to; see the module documentation.
pub fn amazon_trust_services() -> TrustStore {
    AMAZON_TRUST_SERVICES_ROOTS
        .iter()
        .fold(TrustStore::empty(), |store, pem| store.with_pem_certificate(pem.as_bytes()))
}

/// The SDK's default HTTPS client (rustls with aws-lc, proxy settings from the environment, the
/// SDK's connector settings) with `trust_store` in place of the platform's.
pub fn https_client(trust_store: TrustStore) -> SharedHttpClient {
    let tls_context =
        TlsContext::builder().with_trust_store(trust_store).build().expect("a TLS context with no extra server names");
    Builder::new().build_with_connector_fn(move |settings, components| {
        // Without settings this is the probe every SDK client makes when it is built, so that the
        // platform's roots load at cold start rather than on the first request; its connector is
        // dropped unused. These roots are compiled in, and parsing them for nothing cost ≈0.04 ms
        // per client, so the probe gets a connector without TLS. Requests always bring settings
        // and get the real one, built once per settings on first use as before.
        let Some(settings) = settings else {
            return ConnectorBuilder::default().build_http();
        };
        let mut connector = ConnectorBuilder::default().tls_provider(tls_provider()).tls_context(tls_context.clone());
        connector.set_connector_settings(Some(settings.clone()));
        if let Some(components) = components {
            connector.set_sleep_impl(components.sleep_impl());
        }
        connector.set_proxy_config(Some(ProxyConfig::from_env()));
        connector.build()
    })
}

/// The TLS implementation of every HTTPS client here: rustls with aws-lc, the SDK's own (also
/// the payment provider's, [`crate::payments`]).
pub(crate) fn tls_provider() -> tls::Provider {
    tls::Provider::Rustls(CryptoMode::AwsLc)
}

/// An SDK client besides DynamoDB's: built at cold start by the functions that declare they use
/// it ([`crate::Clients`]), so no request pays for it, and otherwise on first use (≈0.2 ms), so a
/// function that never queues a message or signs an upload never builds one, and one that forgot
/// to declare it still works. Cheap to clone; every clone shares the one client.
#[derive(Clone)]
pub struct LazyClient<C>(Arc<Lazy<C>>);

struct Lazy<C> {
    sdk: SdkConfig,
    client: OnceLock<C>,
}

/// How a [`LazyClient`] builds its client from the shared configuration.
pub trait FromSdk {
    fn from_sdk(sdk: &SdkConfig) -> Self;
}

impl<C: FromSdk> LazyClient<C> {
    /// The client, built now when `NOW`, else on first use. A constant, so that a client never
    /// built now and never used is not linked at all.
    pub fn new<const NOW: bool>(sdk: &SdkConfig) -> Self {
        let client = if NOW { OnceLock::from(C::from_sdk(sdk)) } else { OnceLock::new() };
        Self(Arc::new(Lazy { sdk: sdk.clone(), client }))
    }

    pub fn get(&self) -> &C {
        self.0.client.get_or_init(|| C::from_sdk(&self.0.sdk))
    }
}

impl FromSdk for aws_sdk_sqs::Client {
    fn from_sdk(sdk: &SdkConfig) -> Self {
        Self::new(sdk)
    }
}

impl FromSdk for aws_sdk_kms::Client {
    fn from_sdk(sdk: &SdkConfig) -> Self {
        Self::new(sdk)
    }
}

impl FromSdk for aws_sdk_s3::Client {
    /// Path-style URLs when an endpoint is configured (moto locally): `bucket.127.0.0.1` does not
    /// resolve. In AWS, virtual-hosted URLs as S3 recommends.
    fn from_sdk(sdk: &SdkConfig) -> Self {
        let config = aws_sdk_s3::config::Builder::from(sdk).force_path_style(sdk.endpoint_url().is_some()).build();
        Self::from_conf(config)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    //! A local TLS server with a certificate from a private test CA (`certs/test/`). No AWS
    //! endpoint is reachable from the build machine, so the positive case uses that CA, added to
    //! the trust store, as its stand-in.

    use std::sync::Arc;

    use tokio::io::AsyncWriteExt;
    use tokio::net::TcpListener;
    use tokio_rustls::TlsAcceptor;
    use tokio_rustls::rustls::{self, pki_types::pem::PemObject};

    use super::*;

    const TEST_CA: &str = include_str!("../certs/test/ca.pem");

    /// Serves one connection on `localhost`; resolves to whether the TLS handshake completed.
    pub(crate) async fn one_tls_connection() -> (u16, tokio::task::JoinHandle<bool>) {
        let certs = rustls::pki_types::CertificateDer::pem_slice_iter(include_bytes!("../certs/test/localhost.pem"))
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        let key =
            rustls::pki_types::PrivateKeyDer::from_pem_slice(include_bytes!("../certs/test/localhost.key")).unwrap();
        let config =
            rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_no_client_auth()
                .with_single_cert(certs, key)
                .unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            let Ok(mut tls) = TlsAcceptor::from(Arc::new(config)).accept(tcp).await else { return false };
            let body = r#"{"TableNames":[]}"#;
            let response = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/x-amz-json-1.0\r\ncontent-length: {}\r\n\r\n{body}",
                body.len()
            );
            let _ = tls.write_all(response.as_bytes()).await;
            let _ = tls.shutdown().await;
            true
        });
        (port, server)
    }

    async fn list_tables(trust_store: TrustStore, port: u16) -> Result<(), String> {
        let sdk = aws_config::defaults(BehaviorVersion::latest())
            .http_client(https_client(trust_store))
            .endpoint_url(format!("https://localhost:{port}"))
            .region(aws_config::Region::new("eu-west-1"))
            .credentials_provider(aws_sdk_dynamodb::config::Credentials::new("test", "test", None, None, "test"))
            .retry_config(aws_config::retry::RetryConfig::disabled())
            .load()
            .await;
        let result = aws_sdk_dynamodb::Client::new(&sdk).list_tables().send().await;
        result.map(drop).map_err(|error| format!("{:?}", aws_smithy_types::error::display::DisplayErrorContext(error)))
    }

    #[tokio::test]
    async fn refuses_a_server_outside_the_amazon_roots() {
        let (port, server) = one_tls_connection().await;
        let error = list_tables(amazon_trust_services(), port).await.unwrap_err();
        assert!(!server.await.unwrap(), "the handshake must not complete");
        assert!(error.contains("UnknownIssuer"), "{error}");
    }

    #[tokio::test]
    async fn the_trust_store_decides_control_case() {
        // Same server, same client code, only the test CA added: the handshake and the call succeed,
        // so the refusal above comes from the trust store and nothing else.
        let (port, server) = one_tls_connection().await;
        list_tables(amazon_trust_services().with_pem_certificate(TEST_CA.as_bytes()), port).await.unwrap();
        assert!(server.await.unwrap());
    }

    #[test]
    fn every_root_parses() {
        for pem in AMAZON_TRUST_SERVICES_ROOTS {
            let ders = rustls::pki_types::CertificateDer::pem_slice_iter(pem.as_bytes())
                .collect::<Result<Vec<_>, _>>()
                .unwrap();
            assert_eq!(ders.len(), 1);
        }
    }
}
