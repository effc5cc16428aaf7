//! plonky2 gadgets: GF(p^5) arithmetic, EcGFp5 points and Schnorr verification.

pub mod curve;
pub mod gate;
pub mod gfp5;
pub mod schnorr;

pub use schnorr::{add_virtual_signature_target, set_signature_target, verify_schnorr_conditional, SignatureTarget};

#[cfg(test)]
mod tests;
