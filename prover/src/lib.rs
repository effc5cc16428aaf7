//! zkr's coordinator side and the composition of nodes: the job [`hub`] (queue + blob store + proof checks), the
//! coordinator gRPC service, the epoch control loop (verification and L1 settlement), and the devnet and fleet roles
//! that wire them with the sequencer and the workers of `zkr-worker`.
//!
//! The worker's modules are re-exported under their old paths so callers name one crate for a whole node.

pub mod control;
pub mod coordinator;
pub mod devnet;
pub mod fleet;
pub mod hub;
pub mod node;
pub mod pipeline;
pub mod settlement;

pub use zkr_worker::{backend, exec, metrics, proto, worker};

/// The worker's job sources and the coordinator's [`hub::Hub`].
pub mod source {
    pub use crate::hub::Hub;
    pub use zkr_worker::source::*;
}
