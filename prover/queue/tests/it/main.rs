//! Integration tests of zkr-queue. Queue tests run the same bodies against SQLite (a temp file) and Postgres (a
//! fresh database per test on the server at `ZKR_TEST_DATABASE_URL`, default
//! `postgres://postgres@127.0.0.1:5432/postgres`; an unreachable server fails the tests).

mod common;
mod queue;
