//! Integration tests of the prover side over real sockets: a coordinator served on 127.0.0.1:<random port>, remote
//! workers and hand-written gRPC clients, a SQLite queue in a temp dir (and once Postgres: a fresh database on the
//! server at `ZKR_TEST_DATABASE_URL`, default `postgres://postgres@127.0.0.1:5432/postgres`; unreachable fails).
//! Circuits of capacity 2 with epochs of 2 batches, built once per test binary.

mod auth;
mod common;
mod remote;
mod submit;
mod worker;
