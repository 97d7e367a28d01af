//! PostgreSQL over TLS against a server whose certificate the test set-up made (`cargo xtask
//! test` starts it with `ssl=on` and passes its CA in `LEADCARD_TEST_POSTGRES_CA`): `verify-full`
//! connects, a wrong host name or an unknown CA is refused, `require` encrypts without checking.

use leadcard_server::store::Store;
use sqlx::Connection;

use crate::helpers::{PASSWORD, fresh_database, spawn_app_with};

/// The test database's URL with `host` and these parameters, or `None` without a TLS server.
async fn tls_database() -> Option<(String, String, String)> {
    let ca = std::env::var("LEADCARD_TEST_POSTGRES_CA").ok().filter(|v| !v.is_empty());
    let server = std::env::var("LEADCARD_TEST_POSTGRES_URL").ok().filter(|v| !v.is_empty());
    let (Some(ca), Some(_)) = (ca, server) else {
        eprintln!("skipped: set LEADCARD_TEST_POSTGRES_URL and LEADCARD_TEST_POSTGRES_CA (cargo xtask test does)");
        return None;
    };
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_database(dir.path()).await;
    let (_, rest) = url.split_once('@').unwrap();
    let (host_port, database) = rest.split_once('/').unwrap();
    let port = host_port.rsplit_once(':').unwrap().1.to_owned();
    Some((ca, port, database.to_owned()))
}

async fn uses_tls(url: &str) -> bool {
    let mut db = sqlx::AnyConnection::connect(url).await.unwrap();
    sqlx::query_scalar::<_, bool>("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        .fetch_one(&mut db)
        .await
        .unwrap()
}

#[tokio::test]
async fn verify_full_connects_to_the_named_host_and_refuses_any_other() {
    let Some((ca, port, database)) = tls_database().await else { return };
    let verified = format!("postgres://postgres@localhost:{port}/{database}?sslmode=verify-full&sslrootcert={ca}");
    let app = spawn_app_with(|c| c.database.database_url = verified.clone()).await;
    app.add_operator("anna@leadcard.test").await;
    assert_eq!(app.sign_in_with(&app.client, "anna@leadcard.test", PASSWORD).await.status(), 200);
    assert_eq!(app.get("/api/v1/me").await.status(), 200);
    assert!(uses_tls(&verified).await);

    // The certificate names localhost, not 127.0.0.1.
    let wrong_host = format!("postgres://postgres@127.0.0.1:{port}/{database}?sslmode=verify-full&sslrootcert={ca}");
    let Err(error) = Store::connect(&wrong_host).await else { panic!("a wrong host name is refused") };
    let error = error.to_string();
    assert!(error.to_lowercase().contains("certificate"), "{error}");
    // Without our CA the certificate's issuer is unknown.
    let unknown_ca = format!("postgres://postgres@localhost:{port}/{database}?sslmode=verify-full");
    let Err(error) = Store::connect(&unknown_ca).await else { panic!("an unknown CA is refused") };
    let error = error.to_string();
    assert!(error.to_lowercase().contains("certificate"), "{error}");

    // `require` encrypts but checks no certificate.
    let required = format!("postgres://postgres@127.0.0.1:{port}/{database}?sslmode=require");
    Store::connect(&required).await.unwrap().close().await;
    assert!(uses_tls(&required).await);
}
