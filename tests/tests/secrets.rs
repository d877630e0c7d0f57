//! Credentials, sessions and 2FA live in the secrets table, which only the auth function reaches.
//! The other functions' roles may write anything in the main table: these tests write there what
//! a compromised people function could (links, claims, people) and show that no account can be
//! taken over with it, and that the main table holds nothing to steal.

use api_tests::{PASSWORD, TestApp, problem_of, spawn_app};
use aws_sdk_dynamodb::types::AttributeValue;
use reqwest::StatusCode;
use rota::store::links::{LinkKind, PendingInvitation, new_link};
use serde_json::json;

/// The item under `pk`/`sk` in `table`, if any.
async fn item_in(app: &TestApp, secrets: bool, pk: &str, sk: &str) -> Option<rota::store::Item> {
    let (client, table) = if secrets { app.store.raw_secrets() } else { app.store.raw() };
    let output = client
        .get_item()
        .table_name(table)
        .key("pk", AttributeValue::S(pk.into()))
        .key("sk", AttributeValue::S(sk.into()))
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    output.item
}

#[tokio::test]
async fn the_main_table_holds_no_password_hash_session_or_2fa_secret() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let (email, enrolment) =
        (format!("EMAIL#{}", owner.email), (format!("T#{}", owner.tenant_id), format!("MFA#{}", owner.person_id)));

    let claim = item_in(&app, false, &email, "EMAIL").await.expect("the email claim is in the main table");
    for secret in ["password_hash", "reset_hash", "mfa"] {
        assert!(!claim.contains_key(secret), "the claim carries {secret}: {claim:?}");
    }
    assert!(item_in(&app, false, &enrolment.0, &enrolment.1).await.is_none(), "a 2FA enrolment in the main table");
    assert!(item_in(&app, false, &owner.session_key(), "SESSION").await.is_none(), "a session in the main table");

    let credential = item_in(&app, true, &format!("CRED#{}", owner.email), "CRED").await.expect("the credential");
    assert!(
        credential
            .get("password_hash")
            .and_then(|hash| hash.as_s().ok())
            .is_some_and(|hash| hash.starts_with("$argon2id$"))
    );
    assert!(item_in(&app, true, &enrolment.0, &enrolment.1).await.is_some());
    assert!(item_in(&app, true, &owner.session_key(), "SESSION").await.is_some());

    // A function not given the secrets table cannot read a credential, even through the store.
    let without = app.store.clone().with_secrets(None);
    assert!(without.login(&owner.email).await.is_err());
}

#[tokio::test]
async fn what_the_people_function_may_write_cannot_replace_a_password() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let (tenant, person) = (format!("T#{}", owner.tenant_id), format!("PERSON#{}", owner.person_id));
    let now = chrono::Utc::now().timestamp();

    // An invitation forged for the active owner: the link, a pending invitation naming it, the
    // person "invited" again and even the owner's email claim deleted, all main-table writes the
    // people role may make. Accepting it would need a new credential, and the owner has one.
    let (link, token) = new_link(LinkKind::Invitation, &owner.tenant_id, &owner.person_id, &owner.email, now);
    let pending = PendingInvitation {
        email: owner.email.clone(),
        person_id: owner.person_id.clone(),
        invitation_hash: Some(link.token_hash.clone()),
    };
    let forged =
        vec![app.store.link_put(&link).unwrap(), app.store.invitation_put(&owner.tenant_id, &pending).unwrap()];
    assert!(app.store.transact(forged).await.unwrap().is_ok());
    app.set(&tenant, &person, &[("status", json!("invited"))]).await;
    let claim_key = (format!("EMAIL#{}", owner.email), "EMAIL");
    let claim = item_in(&app, false, &claim_key.0, claim_key.1).await.unwrap();
    let (client, table) = app.store.raw();
    let key = [("pk", &claim_key.0), ("sk", &claim_key.1.to_owned())]
        .map(|(k, v)| (k.to_owned(), AttributeValue::S(v.clone())));
    client.delete_item().table_name(table).set_key(Some(key.into_iter().collect())).send().await.unwrap();
    let taken = json!({ "token": token, "password": "the attacker's password" });
    problem_of(app.post("/auth/invitations/accept", None, taken).await, StatusCode::CONFLICT, "conflict").await;
    client.put_item().table_name(table).set_item(Some(claim)).send().await.unwrap();

    // A forged reset link: the credential never named it.
    let (link, token) = new_link(LinkKind::Reset, &owner.tenant_id, &owner.person_id, &owner.email, now);
    assert!(app.store.transact(vec![app.store.link_put(&link).unwrap()]).await.unwrap().is_ok());
    app.set(&format!("EMAIL#{}", owner.email), "EMAIL", &[("status", json!("active"))]).await;
    app.set(&tenant, &person, &[("status", json!("active"))]).await;
    let reset = json!({ "token": token, "password": "the attacker's password" });
    problem_of(app.post("/auth/reset-password", None, reset).await, StatusCode::NOT_FOUND, "not_found").await;

    // The password is the owner's still, and the attacker's does not work.
    problem_of(app.login(&owner.email, "the attacker's password").await, StatusCode::UNAUTHORIZED, "unauthorized")
        .await;
    assert_eq!(owner.password, PASSWORD);
    let tokens = app.login_tokens(&owner).await;
    assert!(tokens["access_token"].is_string(), "{tokens}");
}

#[tokio::test]
async fn a_totp_secret_is_stored_sealed_never_as_it_is() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let secret = owner.totp_secret.clone().expect("the owner has 2FA on");
    let enrolment =
        item_in(&app, true, &format!("T#{}", owner.tenant_id), &format!("MFA#{}", owner.person_id)).await.unwrap();
    let stored = enrolment["secret"].as_s().unwrap();
    assert!(stored.starts_with(&format!("v1:{}:", app.config.totp_kid)), "sealed under the current key: {stored}");
    assert!(!format!("{enrolment:?}").contains(&secret), "the secret as it is: {enrolment:?}");
    assert!(!format!("{enrolment:?}").contains(&secret.to_lowercase()));

    // A pending secret too (set up again after turning 2FA off).
    let tokens = app.login_tokens(&owner).await;
    let token = tokens["access_token"].as_str().unwrap();
    let code = app.fresh_code(&owner).await;
    let off = app.post("/auth/2fa/disable", Some(token), json!({ "code": code })).await;
    assert_eq!(off.status(), StatusCode::NO_CONTENT);
    let setup = api_tests::json_of(app.post_empty("/auth/2fa/setup", token).await, StatusCode::OK).await;
    let enrolment =
        item_in(&app, true, &format!("T#{}", owner.tenant_id), &format!("MFA#{}", owner.person_id)).await.unwrap();
    let pending = setup["secret"].as_str().unwrap();
    assert!(enrolment["pending_secret"].as_s().unwrap().starts_with("v1:"));
    assert!(!format!("{enrolment:?}").contains(pending), "the pending secret as it is: {enrolment:?}");
}

/// The AWS path: a data key wrapped by a KMS key (moto's), unwrapped with `Decrypt` under the
/// encryption context on first use, seals and opens; a key wrapped under another context does not
/// unwrap.
#[tokio::test]
async fn a_data_key_wrapped_by_kms_is_unwrapped_on_first_use() {
    use aws_sdk_kms::types::DataKeySpec;
    use base64::Engine;
    use rota::auth::totp_keys::{KMS_CONTEXT, TotpKeys};

    let app = spawn_app().await;
    let sdk = rota::aws::sdk_config().await;
    let kms = aws_sdk_kms::Client::new(&sdk);
    let key = kms.create_key().description("rota test: TOTP data keys").send().await.unwrap();
    let key_id = key.key_metadata().unwrap().key_id().to_owned();
    let wrapped = |context: (&'static str, &'static str)| {
        let kms = kms.clone();
        let key_id = key_id.clone();
        async move {
            let data_key = kms
                .generate_data_key()
                .key_id(key_id)
                .key_spec(DataKeySpec::Aes256)
                .encryption_context(context.0, context.1)
                .send()
                .await
                .unwrap();
            base64::engine::general_purpose::STANDARD.encode(data_key.ciphertext_blob().unwrap().as_ref())
        }
    };
    let config = |keys: String| rota::Config {
        totp_keys: Some(rota::Secret::new(keys)),
        totp_kid: "kms-1".into(),
        ..app.config.clone()
    };

    let keys = TotpKeys::new(
        &config(format!("kms-1=kms:{}", wrapped(KMS_CONTEXT).await)),
        rota::aws::LazyClient::new::<false>(&sdk),
    )
    .unwrap();
    let sealed = keys.seal("t", "p", "JBSWY3DPEHPK3PXP").await.unwrap();
    assert!(sealed.starts_with("v1:kms-1:"));
    assert_eq!(keys.open("t", "p", &sealed).await.unwrap(), "JBSWY3DPEHPK3PXP");

    let elsewhere = wrapped(("purpose", "something-else")).await;
    let keys =
        TotpKeys::new(&config(format!("kms-1=kms:{elsewhere}")), rota::aws::LazyClient::new::<false>(&sdk)).unwrap();
    assert!(keys.ready().await.is_err(), "unwrapped under another context");
}
