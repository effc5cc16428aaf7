//! Benchmarks and the report generators behind `zkr bench`.

pub mod plot;
pub mod prove;
