//! EcGFp5 (Pornin, ePrint 2022/274) and Schnorr signatures over it with a Poseidon
//! challenge: native code (`curve`, `scalar`, `schnorr`) and plonky2 gadgets (`gadgets`).

pub mod curve;
pub mod field;
pub mod gadgets;
pub mod scalar;
pub mod schnorr;
