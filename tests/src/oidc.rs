//! A local OpenID Connect issuer over real HTTP, as Google, Entra ID or Okta are to Rota: its
//! discovery document and its published keys (test-only keys, `tests/fixtures/oidc`), which a
//! test can rotate, and the ID tokens it signs for the people a test signs in. One per test, on a
//! port of its own, so tests never share keys or counts.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::State;
use axum::routing::get;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

const JWKS: &str = include_str!("../fixtures/oidc/jwks.json");

fn private_key(kid: &str) -> (Algorithm, EncodingKey) {
    let der: &[u8] = match kid {
        "rsa-1" => include_bytes!("../fixtures/oidc/rsa-1.der"),
        "rsa-2" => include_bytes!("../fixtures/oidc/rsa-2.der"),
        "ec-1" => include_bytes!("../fixtures/oidc/ec-1.der"),
        other => panic!("no test key {other}"),
    };
    if kid.starts_with("ec") {
        (Algorithm::ES256, EncodingKey::from_ec_der(der))
    } else {
        (Algorithm::RS256, EncodingKey::from_rsa_der(der))
    }
}

/// The public half of a test key, PEM (what an attacker could sign HS256 tokens with).
pub fn public_pem(kid: &str) -> &'static str {
    match kid {
        "rsa-1" => include_str!("../fixtures/oidc/rsa-1.pub.pem"),
        other => panic!("no public test key {other}"),
    }
}

#[derive(Clone)]
struct Published {
    url: String,
    kids: Arc<Mutex<Vec<String>>>,
    key_fetches: Arc<AtomicUsize>,
}

pub struct Issuer {
    /// The issuer identifier (`iss`), its base URL.
    pub url: String,
    published: Published,
}

impl Issuer {
    /// Starts an issuer publishing `rsa-1` and `ec-1`.
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let published = Published {
            url: url.clone(),
            kids: Arc::new(Mutex::new(vec!["rsa-1".into(), "ec-1".into()])),
            key_fetches: Arc::default(),
        };
        let app = axum::Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/keys", get(keys))
            .with_state(published.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { url, published }
    }

    /// Publishes exactly these keys from now on (a rotation).
    pub fn publish(&self, kids: &[&str]) {
        *self.published.kids.lock().unwrap() = kids.iter().map(|kid| kid.to_string()).collect();
    }

    /// How many times its keys were fetched.
    pub fn key_fetches(&self) -> usize {
        self.published.key_fetches.load(Ordering::SeqCst)
    }

    /// The claims of a fresh ID token for `email` (verified), for `client_id`, answering `nonce`.
    pub fn claims(&self, client_id: &str, email: &str, nonce: &str) -> Value {
        let now = chrono::Utc::now().timestamp();
        json!({ "iss": self.url, "aud": client_id, "sub": format!("sub-{email}"), "iat": now, "exp": now + 300,
            "nonce": nonce, "email": email, "email_verified": true })
    }

    /// `claims` signed with the test key `kid`, in its algorithm.
    pub fn sign(&self, claims: &Value, kid: &str) -> String {
        let (algorithm, key) = private_key(kid);
        jsonwebtoken::encode(&Header { kid: Some(kid.into()), ..Header::new(algorithm) }, claims, &key).unwrap()
    }
}

async fn discovery(State(published): State<Published>) -> Json<Value> {
    let url = &published.url;
    Json(json!({ "issuer": url, "jwks_uri": format!("{url}/keys"),
        "authorization_endpoint": format!("{url}/authorize"), "token_endpoint": format!("{url}/token"),
        "response_types_supported": ["code"], "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256", "ES256"] }))
}

async fn keys(State(published): State<Published>) -> Json<Value> {
    published.key_fetches.fetch_add(1, Ordering::SeqCst);
    let all: BTreeMap<String, Value> = serde_json::from_str(JWKS).unwrap();
    let kids = published.kids.lock().unwrap().clone();
    Json(json!({ "keys": kids.iter().map(|kid| all[kid].clone()).collect::<Vec<_>>() }))
}
