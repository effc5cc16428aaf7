//! Benchmarks and the report generators behind `zkr bench`.

pub mod backends;
pub mod pipeline;
pub mod plot;
pub mod prove;
