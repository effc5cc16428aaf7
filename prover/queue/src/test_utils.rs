//! Throw-away databases for tests of zkr-queue and of the crates above it: a temp SQLite file, or a fresh Postgres
//! database on the server at `ZKR_TEST_DATABASE_URL` (default [`DEFAULT_PG_URL`]), dropped afterwards. An
//! unreachable Postgres server fails the test, never skips it.

use std::future::Future;

use sqlx::{Connection, Executor, PgConnection};

/// The Postgres server tests use when `ZKR_TEST_DATABASE_URL` is unset.
pub const DEFAULT_PG_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// The Postgres server the tests use.
pub fn pg_base_url() -> String {
    std::env::var("ZKR_TEST_DATABASE_URL").ok().filter(|u| !u.is_empty()).unwrap_or_else(|| DEFAULT_PG_URL.to_string())
}

/// `base` with its database name replaced by `name` (the query string kept).
pub fn with_database(base: &str, name: &str) -> String {
    let (main, query) = match base.find('?') {
        Some(i) => (&base[..i], &base[i..]),
        None => (base, ""),
    };
    let authority_start = main.find("://").map_or(0, |i| i + 3);
    let path_start = main[authority_start..].find('/').map_or(main.len(), |i| authority_start + i);
    format!("{}/{name}{query}", &main[..path_start])
}

/// Runs `body` with the URL of a fresh SQLite file in a temp directory.
pub async fn with_sqlite<F, Fut>(body: F)
where
    F: FnOnce(String) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = tempfile::tempdir().expect("a temp dir for the SQLite queue");
    let url = format!("sqlite://{}", dir.path().join("queue.db").display());
    body(url).await;
}

/// Runs `body` with the URL of a fresh Postgres database `zkr_t_<random>`, dropped afterwards (also when `body`
/// panics; the panic is then resumed).
pub async fn with_postgres<F, Fut>(body: F)
where
    F: FnOnce(String) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let base = pg_base_url();
    let mut admin = PgConnection::connect(&base).await.unwrap_or_else(|e| {
        panic!("the Postgres test server at {base} is unreachable ({e}): start it or set ZKR_TEST_DATABASE_URL")
    });
    let name = format!("zkr_t_{:016x}", rand::random::<u64>());
    admin.execute(format!("CREATE DATABASE {name}").as_str()).await.expect("creating a test database");
    let outcome = tokio::spawn(body(with_database(&base, &name))).await;
    let dropped = admin.execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str()).await;
    let _ = admin.close().await;
    if let Err(e) = outcome {
        match e.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(e) => panic!("test body did not finish: {e}"),
        }
    }
    dropped.expect("dropping the test database");
}

/// Builds the schema as it was before the migration described as `before` (e.g. `"wrap jobs"`), with `seed`
/// statements run on it, so a test can check that an upgrade keeps what an older zkr stored. Returns how many
/// migrations were applied.
pub async fn old_schema(url: &str, before: &str, seed: &[&str]) -> usize {
    use std::str::FromStr;
    // The same steps on either backend (their pools are different types).
    macro_rules! build {
        ($migrator:expr, $pool:expr) => {{
            let migrator: sqlx::migrate::Migrator = $migrator;
            let older: Vec<_> = migrator.migrations.iter().take_while(|m| m.description != before).cloned().collect();
            assert!(older.len() < migrator.migrations.len(), "no migration described as {before:?}");
            let n = older.len();
            let old = sqlx::migrate::Migrator { migrations: older.into(), ..migrator };
            let pool = $pool;
            old.run(&pool).await.expect("building the old schema");
            for stmt in seed {
                sqlx::query(stmt).execute(&pool).await.unwrap_or_else(|e| panic!("seeding {stmt:?}: {e}"));
            }
            pool.close().await;
            n
        }};
    }
    if url.starts_with("sqlite:") {
        let opts = sqlx::sqlite::SqliteConnectOptions::from_str(url)
            .expect("a SQLite URL")
            .create_if_missing(true)
            .foreign_keys(true);
        build!(
            sqlx::migrate!("./migrations/sqlite"),
            sqlx::SqlitePool::connect_with(opts).await.expect("opening the SQLite file")
        )
    } else {
        build!(
            sqlx::migrate!("./migrations/postgres"),
            sqlx::PgPool::connect(url).await.expect("connecting to Postgres")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn database_name_replaced() {
        assert_eq!(with_database("postgres://u@h:5432/postgres", "x"), "postgres://u@h:5432/x");
        assert_eq!(with_database("postgres://u@h", "x"), "postgres://u@h/x");
        assert_eq!(with_database("postgres://u@h/p?sslmode=disable", "x"), "postgres://u@h/x?sslmode=disable");
    }
}
