//! Integration tests of the batch circuit against the native spec.

mod aggregate;
mod agreement;
mod common;
mod keccak;
mod soundness;
