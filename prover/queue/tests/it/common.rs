//! Test backends: a temp SQLite file, or a fresh Postgres database dropped afterwards.

pub use zkr_queue::test_utils::{with_postgres, with_sqlite};
