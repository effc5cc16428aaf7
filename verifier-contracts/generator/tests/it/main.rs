//! The generated verifier in revm against real wrap proofs (capacity 2, epoch height 1).

mod fixture;
mod forged;
mod l1_preset;
mod runner;
mod toy;
mod verifier;
