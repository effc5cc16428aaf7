//! Integration tests: every scenario runs against the in-process L1 and a hardhat node.

mod backends;
mod common;
mod devnet_set;
mod settler;
mod wallet;
mod watch;
