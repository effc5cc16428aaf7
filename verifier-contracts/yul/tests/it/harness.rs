//! Compiling a Yul runtime body into a deployable object and calling it in revm.

use plonky2_field::goldilocks_field::GoldilocksField as F;
use plonky2_field::types::{Field, Field64, PrimeField64};
use rand::Rng;
use zkr_evm::{Address, Evm, U256};

/// A deployed Yul contract whose runtime code is `body`.
pub struct YulContract {
    pub evm: Evm,
    pub address: Address,
}

impl YulContract {
    /// Wraps `body` (runtime statements and functions) in an object with a constructor that returns it.
    pub fn deploy(body: &str, optimize: bool) -> YulContract {
        let source = format!(
            "object \"T\" {{\n code {{ datacopy(0, dataoffset(\"R\"), datasize(\"R\")) return(0, datasize(\"R\")) }}\n \
             object \"R\" {{\n code {{\n{body}\n }}\n }}\n}}\n"
        );
        let code = zkr_evm::compile_yul(&source, optimize).unwrap_or_else(|e| panic!("yul compile failed: {e}"));
        let mut evm = Evm::unlimited();
        let address = evm.deploy(Evm::account(0), code).expect("deploy");
        YulContract { evm, address }
    }

    /// Calls with `words` as calldata (32-byte big-endian words); returns the output words and the gas used.
    pub fn call_words(&mut self, words: &[U256]) -> (Vec<U256>, u64) {
        let mut data = Vec::with_capacity(32 * words.len());
        for w in words {
            data.extend_from_slice(&w.to_be_bytes::<32>());
        }
        let out = self.evm.view(self.address, data).expect("call");
        assert!(out.success, "call reverted: 0x{}", hex_string(&out.output));
        let words = out.output.chunks(32).map(U256::from_be_slice).collect();
        (words, out.gas_used)
    }

    /// Whether the call reverts.
    pub fn reverts(&mut self, words: &[U256]) -> bool {
        let mut data = Vec::new();
        for w in words {
            data.extend_from_slice(&w.to_be_bytes::<32>());
        }
        !self.evm.view(self.address, data).expect("call").success
    }
}

fn hex_string(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

pub fn word(x: F) -> U256 {
    U256::from(x.to_canonical_u64())
}

pub fn to_f(w: U256) -> F {
    assert!(w < U256::from(F::ORDER), "not canonical: {w}");
    F::from_canonical_u64(w.to::<u64>())
}

/// A random field element, biased towards edge values (0, 1, p - 1, 2^32, values near p and 2^32).
pub fn edgy(rng: &mut impl Rng) -> F {
    const EDGES: [u64; 10] = [
        0,
        1,
        2,
        F::ORDER - 1,
        F::ORDER - 2,
        1 << 32,
        (1 << 32) - 1,
        (1 << 32) + 1,
        F::ORDER - (1 << 32),
        0xFFFF_FFFF_0000_0000,
    ];
    if rng.gen_bool(0.3) {
        F::from_canonical_u64(EDGES[rng.gen_range(0..EDGES.len())])
    } else {
        F::from_canonical_u64(rng.gen_range(0..F::ORDER))
    }
}
