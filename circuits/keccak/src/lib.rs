//! Keccak-256 natively ([`native`]) and in plonky2 circuits ([`gadget`], on the bit-level [`gate::BitGate`]), so a
//! circuit can commit to data with the digest the EVM's `KECCAK256` opcode recomputes for a few gas per word.

pub mod concat;
pub mod gadget;
pub mod gate;
pub mod native;
