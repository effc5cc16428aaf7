//! `field::yul_functions` against plonky2_field on random and edge inputs.

use plonky2_field::extension::quadratic::QuadraticExtension;
use plonky2_field::extension::FieldExtension;
use plonky2_field::goldilocks_field::GoldilocksField as F;
use plonky2_field::ops::Square;
use plonky2_field::types::Field;
use rand::{Rng, SeedableRng};
use zkr_evm::U256;

use crate::harness::{edgy, to_f, word, YulContract};

type E = QuadraticExtension<F>;

fn dispatcher() -> String {
    format!(
        "{}
let op := calldataload(0)
let a0 := calldataload(32) let a1 := calldataload(64) let b0 := calldataload(96) let b1 := calldataload(128)
let r0 := 0 let r1 := 0
switch op
case 0 {{ r0 := gadd(a0, b0) }}
case 1 {{ r0 := gsub(a0, b0) }}
case 2 {{ r0 := gmul(a0, b0) }}
case 3 {{ r0 := gneg(a0) }}
case 4 {{ r0 := ginv(a0) }}
case 5 {{ r0 := gpow(a0, b0) }}
case 6 {{ r0, r1 := eadd(a0, a1, b0, b1) }}
case 7 {{ r0, r1 := esub(a0, a1, b0, b1) }}
case 8 {{ r0, r1 := emul(a0, a1, b0, b1) }}
case 9 {{ r0, r1 := escalar(a0, a1, b0) }}
case 10 {{ r0, r1 := einv(a0, a1) }}
case 11 {{ r0, r1 := esquare(a0, a1) }}
default {{ revert(0, 0) }}
mstore(0, r0) mstore(32, r1) return(0, 64)",
        zkr_yul::field::yul_functions()
    )
}

fn arr(e: E) -> [F; 2] {
    FieldExtension::<2>::to_basefield_array(&e)
}

fn ext(a0: F, a1: F) -> E {
    E::from_basefield_array([a0, a1])
}

fn run(c: &mut YulContract, op: u64, args: [F; 4]) -> [F; 2] {
    let mut words = vec![U256::from(op)];
    words.extend(args.iter().map(|&x| word(x)));
    let (out, _) = c.call_words(&words);
    [to_f(out[0]), to_f(out[1])]
}

fn check_all(c: &mut YulContract, seed: u64, cases: usize) {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    for _ in 0..cases {
        let [a0, a1, b0, b1] = [edgy(&mut rng), edgy(&mut rng), edgy(&mut rng), edgy(&mut rng)];
        let args = [a0, a1, b0, b1];
        assert_eq!(run(c, 0, args)[0], a0 + b0, "gadd {a0} {b0}");
        assert_eq!(run(c, 1, args)[0], a0 - b0, "gsub {a0} {b0}");
        assert_eq!(run(c, 2, args)[0], a0 * b0, "gmul {a0} {b0}");
        assert_eq!(run(c, 3, args)[0], -a0, "gneg {a0}");
        if a0 != F::ZERO {
            assert_eq!(run(c, 4, args)[0], a0.inverse(), "ginv {a0}");
        }
        let e: u64 = if rng.gen_bool(0.2) { rng.gen_range(0..4) } else { rng.gen() };
        let (out, _) = c.call_words(&[U256::from(5), word(a0), U256::ZERO, U256::from(e), U256::ZERO]);
        assert_eq!(to_f(out[0]), a0.exp_u64(e), "gpow {a0} {e}");

        let (x, y) = (ext(a0, a1), ext(b0, b1));
        assert_eq!(run(c, 6, args), arr(x + y), "eadd");
        assert_eq!(run(c, 7, args), arr(x - y), "esub");
        assert_eq!(run(c, 8, args), arr(x * y), "emul");
        assert_eq!(run(c, 9, args), arr(x * ext(b0, F::ZERO)), "escalar");
        if x != E::ZERO {
            assert_eq!(run(c, 10, args), arr(x.inverse()), "einv");
        }
        assert_eq!(run(c, 11, args), arr(x.square()), "esquare");
    }
}

#[test]
fn field_functions_match_plonky2() {
    for optimize in [false, true] {
        let mut c = YulContract::deploy(&dispatcher(), optimize);
        check_all(&mut c, 7 + optimize as u64, 150);
    }
}

#[test]
fn inverse_of_zero_reverts() {
    let mut c = YulContract::deploy(&dispatcher(), true);
    let z = U256::ZERO;
    assert!(c.reverts(&[U256::from(4), z, z, z, z]));
    assert!(c.reverts(&[U256::from(10), z, z, z, z]));
    // and a non-zero inverse does not
    assert!(!c.reverts(&[U256::from(10), z, U256::from(3), z, z]));
}
