//! Native and circuit agree on random valid batches.

use proptest::prelude::*;

use crate::common::{circuit, random_batch};

proptest! {
    // Each case proves a batch (seconds each): a few cases, fresh seeds every run.
    #![proptest_config(ProptestConfig { cases: 8, failure_persistence: None, ..ProptestConfig::default() })]
    #[test]
    fn circuit_new_root_equals_native_and_proof_verifies(seed in any::<u64>()) {
        let (state, batch) = random_batch(seed);
        let c = circuit();
        let proof = c.prove(&batch).expect("a valid batch proves");
        let public = c.verify(&proof).expect("plonky2's verifier accepts");
        prop_assert_eq!(public.new_root, state.root());
        prop_assert_eq!(public, batch.public_inputs());
    }
}
