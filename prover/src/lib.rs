//! zkr prover side: proving backends, the circuits a worker needs, workers (local and
//! remote), the coordinator gRPC service and its control loop (epoch verification and
//! settlement), and the devnet and fleet roles that compose them with the sequencer.

pub mod backend;
pub mod control;
pub mod coordinator;
pub mod devnet;
pub mod exec;
pub mod fleet;
pub mod metrics;
pub mod pipeline;
pub mod settlement;
pub mod source;
pub mod worker;

/// Generated gRPC types of `proto/zkr/prover/v1/coordinator.proto`.
pub mod proto {
    #![allow(clippy::all, missing_docs)]
    tonic::include_proto!("zkr.prover.v1");
}
