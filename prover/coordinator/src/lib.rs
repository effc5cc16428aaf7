//! zkr's coordinator: the job [`hub`] (the queue, the blob store and the circuits that check every submitted proof
//! before the queue takes it), the gRPC [`service`] that lends jobs to remote workers, the [`epochs`] side of the
//! queue (the sequencer's hand-off into it, batch progress, finished epochs verified in order), the epoch
//! [`control`] loop, and L1 [`settlement`] of verified epochs (it enqueues each epoch's wrap job and sends the proof a
//! worker made; it proves nothing itself).
//!
//! It must not know how roles are put together into processes (that is `zkr-node`), nor prove: proving is the
//! workers' (`zkr-worker`).

pub mod control;
pub mod epochs;
pub mod hub;
mod metered;
pub mod service;
pub mod settlement;
