//! zkr's composition layer, the one place that wires roles together: a one-process node ([`node::LocalNode`]: queue,
//! blob store, sequencer, hub and in-process workers) that the devnet and the pipeline bench build on, the devnet
//! itself (that node plus the epoch control loop, L1 settlement and a load generator), and the roles of a fleet
//! (sequencer, coordinator, worker; one per process).
//!
//! It owns no protocol, no proof and no contract: those live in the role crates below it (`zkr-sequencer`,
//! `zkr-coordinator`, `zkr-worker`, `zkr-settle`). Nothing below it knows it; the binary calls it.

pub mod bridge;
mod demo;
pub mod devnet;
pub mod fleet;
pub mod health;
pub mod node;
pub mod parts;
pub mod rollup_watch;
