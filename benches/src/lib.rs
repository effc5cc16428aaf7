//! Benchmarks and the report generators behind `zkr bench`.

pub mod backends;
pub mod l1;
pub mod pipeline;
pub mod plot;
pub mod prove;
pub mod wrap;
