//! A zkr prover worker and what it needs to run on another machine: the proving backends (CPU, CUDA where a GPU
//! answers), the batch and aggregation circuits it proves ([`exec::Circuits`]), the [`source::JobSource`] it
//! leases from (the coordinator over gRPC: [`source::RemoteSource`]) and its metrics.
//!
//! It must not know the sequencer, the blob store or the L1: a worker gets its inputs and sends its proofs over
//! gRPC (or through a `JobSource` the composing process gives it).

pub mod backend;
pub mod exec;
pub mod metrics;
pub mod source;
pub mod worker;

/// Generated gRPC types of `proto/zkr/prover/v1/coordinator.proto`.
pub mod proto {
    #![allow(clippy::all, missing_docs)]
    tonic::include_proto!("zkr.prover.v1");
}
