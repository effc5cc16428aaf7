//! Test vectors for the TypeScript wallet SDK (`sdk/ts`): Poseidon, GF(p^5), EcGFp5 keys and Schnorr signatures,
//! every transaction kind (bytes, layout, signed message, id), decoding refusals, account leaves and Merkle proofs,
//! and spend checks, all computed here by the Rust code the SDK must match byte for byte.
//!
//! The vectors are deterministic (fixed ChaCha seeds). This test compares them with the committed
//! `sdk/ts/test/vectors.json`; with `ZKR_UPDATE_VECTORS=1` it rewrites that file instead. The SDK's tests
//! (`npm test --prefix sdk/ts`) check every entry. When `sdk/ts/test/ts-signatures.json` exists (signatures made by
//! the SDK with random keys), each of its signatures must verify here too.

use std::path::PathBuf;

use plonky2::field::extension::quintic::QuinticExtension;
use plonky2::field::ops::Square;
use plonky2::field::types::{Field, PrimeField64};
use plonky2::hash::hash_types::HashOut;
use plonky2::hash::poseidon::{Poseidon, PoseidonHash};
use plonky2::plonk::config::Hasher;
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use serde_json::{json, Value};
use zkr_circuits::config::{hash, hash_pair, Digest, F, ZERO_DIGEST};
use zkr_circuits::smt::{empty_hashes, MerkleProof, SparseMerkleTree, DEPTH};
use zkr_circuits::state::{leaf_of, Account, State};
use zkr_circuits::tx::{
    l1_address_limbs, Deposit, Domain, ForcedExit, SignedTx, Transfer, Tx, Withdraw, MAX_AMOUNT, MAX_PRIORITY_ID,
};
use zkr_ecgfp5::curve::{Gfp5, Point};
use zkr_ecgfp5::field::{gfp5_legendre, gfp5_sqrt, P};
use zkr_ecgfp5::scalar::Scalar;
use zkr_ecgfp5::schnorr::{PublicKey, SecretKey, Signature};

const REGENERATE: &str = "ZKR_UPDATE_VECTORS=1 cargo test --workspace --test wallet_vectors";

fn sdk_test_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../sdk/ts/test")
}

// ---------------------------------------------------------------- JSON forms

fn fe(v: F) -> Value {
    Value::String(v.to_canonical_u64().to_string())
}

fn fes(v: &[F]) -> Value {
    Value::Array(v.iter().map(|x| fe(*x)).collect())
}

fn digest(d: &Digest) -> Value {
    fes(&d.elements)
}

fn gfp5(v: &Gfp5) -> Value {
    fes(&v.0)
}

fn u64s(v: u64) -> Value {
    Value::String(v.to_string())
}

fn hexs(b: &[u8]) -> Value {
    Value::String(hex::encode(b))
}

fn domain_json(d: &Domain) -> Value {
    json!({ "chain_id": u64s(d.chain_id), "rollup_id": u64s(d.rollup_id) })
}

fn tx_json(tx: &Tx) -> Value {
    match tx {
        Tx::Transfer(t) => json!({
            "kind": "transfer", "from": t.from, "to": t.to, "amount": u64s(t.amount), "fee": u64s(t.fee),
            "nonce": t.nonce,
        }),
        Tx::Withdraw(w) => json!({
            "kind": "withdraw", "from": w.from, "l1_address": hexs(&w.l1_address), "amount": u64s(w.amount),
            "fee": u64s(w.fee), "nonce": w.nonce,
        }),
        Tx::Deposit(d) => json!({
            "kind": "deposit", "priority_id": u64s(d.priority_id), "to": d.to, "pubkey": hexs(&d.pubkey.to_bytes()),
            "amount": u64s(d.amount),
        }),
        Tx::ForcedExit(f) => json!({
            "kind": "forced_exit", "priority_id": u64s(f.priority_id), "account": f.account,
            "l1_address": hexs(&f.l1_address),
        }),
    }
}

fn account_json(a: &Option<Account>) -> Value {
    match a {
        None => Value::Null,
        Some(a) => json!({ "pubkey": hexs(&a.pubkey.to_bytes()), "balance": u64s(a.balance), "nonce": a.nonce }),
    }
}

fn proof_json(p: &MerkleProof) -> Value {
    json!({ "index": p.index, "siblings": p.siblings.iter().map(digest).collect::<Vec<_>>() })
}

/// The wire form of a digest (4 × u64 little-endian), as the wallet API carries roots and siblings.
fn digest_bytes(d: &Digest) -> Vec<u8> {
    d.elements.iter().flat_map(|e| e.to_canonical_u64().to_le_bytes()).collect()
}

// ---------------------------------------------------------------- helpers

fn rand_fe(rng: &mut ChaCha20Rng) -> F {
    F::from_canonical_u64(rng.next_u64() % P)
}

fn rand_digest(rng: &mut ChaCha20Rng) -> Digest {
    HashOut { elements: [rand_fe(rng), rand_fe(rng), rand_fe(rng), rand_fe(rng)] }
}

fn rand_gfp5(rng: &mut ChaCha20Rng) -> Gfp5 {
    QuinticExtension([rand_fe(rng), rand_fe(rng), rand_fe(rng), rand_fe(rng), rand_fe(rng)])
}

fn n_bytes() -> Vec<u8> {
    let mut b = Scalar::modulus().to_bytes_le();
    b.resize(40, 0);
    b
}

/// A canonical w that decodes to no group element.
fn off_curve_key(rng: &mut ChaCha20Rng) -> PublicKey {
    loop {
        let w = rand_gfp5(rng);
        if Point::decode(w).is_none() {
            return PublicKey(w);
        }
    }
}

// ---------------------------------------------------------------- sections

fn poseidon_vectors(rng: &mut ChaCha20Rng) -> Value {
    let edge = [F::ZERO, F::ONE, F::NEG_ONE, F::from_canonical_u64(P - 2), F::from_canonical_u64(1 << 32)];
    let mut perms = Vec::new();
    let inputs: Vec<[F; 12]> = vec![
        [F::ZERO; 12],
        std::array::from_fn(|i| F::from_canonical_u64(i as u64)),
        [F::NEG_ONE; 12],
        std::array::from_fn(|_| rand_fe(rng)),
        std::array::from_fn(|_| rand_fe(rng)),
    ];
    for input in inputs {
        perms.push(json!({ "input": fes(&input), "output": fes(&F::poseidon(input)) }));
    }
    let mut no_pad = Vec::new();
    for len in [0usize, 1, 3, 4, 5, 7, 8, 9, 12, 14, 16, 17, 20, 24, 31] {
        let input: Vec<F> = (0..len).map(|i| if i < edge.len() && len == 5 { edge[i] } else { rand_fe(rng) }).collect();
        let out = PoseidonHash::hash_no_pad(&input);
        assert_eq!(out, hash(&input), "config::hash is hash_no_pad");
        no_pad.push(json!({ "input": fes(&input), "output": digest(&out) }));
    }
    let mut pairs = Vec::new();
    for i in 0..5 {
        let (l, r) = if i == 0 { (ZERO_DIGEST, ZERO_DIGEST) } else { (rand_digest(rng), rand_digest(rng)) };
        let out = PoseidonHash::two_to_one(l, r);
        assert_eq!(out, hash_pair(l, r));
        pairs.push(json!({ "left": digest(&l), "right": digest(&r), "output": digest(&out) }));
    }
    let mut noop = Vec::new();
    for len in [0usize, 1, 4, 5, 9] {
        let input: Vec<F> = (0..len).map(|_| rand_fe(rng)).collect();
        noop.push(json!({ "input": fes(&input), "output": digest(&PoseidonHash::hash_or_noop(&input)) }));
    }
    json!({ "permutation": perms, "hash_no_pad": no_pad, "two_to_one": pairs, "hash_or_noop": noop })
}

fn gfp5_vectors(rng: &mut ChaCha20Rng) -> Value {
    let mut out = Vec::new();
    for i in 0..8 {
        let a = match i {
            0 => Gfp5::ZERO,
            1 => Gfp5::from_canonical_u64(7),
            _ => rand_gfp5(rng),
        };
        // every third a square, so both square-root outcomes appear
        let a = if i % 3 == 2 { a.square() } else { a };
        let b = rand_gfp5(rng);
        out.push(json!({
            "a": gfp5(&a),
            "b": gfp5(&b),
            "add": gfp5(&(a + b)),
            "sub": gfp5(&(a - b)),
            "mul": gfp5(&(a * b)),
            "square": gfp5(&a.square()),
            "inverse": a.try_inverse().map_or(Value::Null, |v| gfp5(&v)),
            "legendre": gfp5_legendre(&a),
            "has_sqrt": gfp5_sqrt(&a).is_some(),
        }));
    }
    Value::Array(out)
}

fn curve_vectors(rng: &mut ChaCha20Rng) -> Value {
    let mut mulgen = Vec::new();
    let n_minus_1 = -Scalar::ONE;
    let mut scalars = vec![Scalar::ZERO, Scalar::ONE, Scalar::from_u64(2), Scalar::from_u64(17), n_minus_1];
    for _ in 0..5 {
        scalars.push(Scalar::random(rng));
    }
    for s in scalars {
        mulgen.push(json!({ "scalar": s.to_biguint().to_string(), "w": gfp5(&Point::mulgen(&s).encode()) }));
    }
    // Random points P, Q and scalars: P + Q, 2P, k·P.
    let mut ops = Vec::new();
    for _ in 0..4 {
        let p = Point::mulgen(&Scalar::random(rng));
        let q = Point::mulgen(&Scalar::random(rng));
        let k = Scalar::random(rng);
        ops.push(json!({
            "p": gfp5(&p.encode()),
            "q": gfp5(&q.encode()),
            "sum": gfp5(&(p + q).encode()),
            "double": gfp5(&p.double().encode()),
            "k": k.to_biguint().to_string(),
            "k_p": gfp5(&(p * k).encode()),
        }));
    }
    let mut decode = Vec::new();
    for _ in 0..12 {
        let w = rand_gfp5(rng);
        decode.push(json!({ "w": gfp5(&w), "ok": Point::decode(w).is_some() }));
    }
    json!({ "mulgen": mulgen, "ops": ops, "decode": decode })
}

fn key_vectors(rng: &mut ChaCha20Rng) -> (Value, Vec<SecretKey>) {
    let mut keys = vec![
        SecretKey::from_scalar(Scalar::ONE).unwrap(),
        SecretKey::from_scalar(-Scalar::ONE).unwrap(),
        SecretKey::from_scalar(Scalar::from_u64(0xdead_beef)).unwrap(),
    ];
    for _ in 0..5 {
        keys.push(SecretKey::random(rng));
    }
    let out = keys
        .iter()
        .map(|sk| {
            let pk = sk.public_key();
            json!({
                "secret_key": hexs(&sk.to_bytes()),
                "scalar": sk.scalar().to_biguint().to_string(),
                "public_key": hexs(&pk.to_bytes()),
                "public_key_fields": fes(&pk.to_fields()),
            })
        })
        .collect();
    (Value::Array(out), keys)
}

fn signature_vectors(rng: &mut ChaCha20Rng, keys: &[SecretKey]) -> (Value, Value) {
    let mut sigs = Vec::new();
    let mut verify = Vec::new();
    for (i, sk) in keys.iter().enumerate() {
        let pk = sk.public_key();
        let msgs = if i == 0 {
            vec![ZERO_DIGEST, HashOut { elements: [F::NEG_ONE; 4] }, rand_digest(rng)]
        } else {
            vec![rand_digest(rng), rand_digest(rng)]
        };
        for msg in msgs {
            let sig = sk.sign(&msg);
            assert_eq!(pk.verify(&msg, &sig), Ok(()));
            sigs.push(json!({
                "secret_key": hexs(&sk.to_bytes()),
                "public_key": hexs(&pk.to_bytes()),
                "message": digest(&msg),
                "signature": hexs(&sig.to_bytes()),
            }));
        }
    }
    // Verification outcomes: a valid one and the ways one fails.
    let sk = &keys[3];
    let pk = sk.public_key();
    let msg = rand_digest(rng);
    let sig = sk.sign(&msg);
    let other_msg = rand_digest(rng);
    let other_pk = keys[4].public_key();
    let mut flipped_e = sig;
    flipped_e.e[2] += F::ONE;
    let mut other_s = sig;
    other_s.s += Scalar::ONE;
    let max_s = Signature { s: -Scalar::ONE, ..sig };
    let neutral = PublicKey(Gfp5::ZERO);
    let off_curve = off_curve_key(rng);
    let cases: Vec<(&PublicKey, &Digest, &Signature)> = vec![
        (&pk, &msg, &sig),
        (&pk, &other_msg, &sig),
        (&other_pk, &msg, &sig),
        (&pk, &msg, &flipped_e),
        (&pk, &msg, &other_s),
        (&pk, &msg, &max_s),
        (&neutral, &msg, &sig),
        (&off_curve, &msg, &sig),
    ];
    for (k, m, s) in cases {
        verify.push(json!({
            "public_key": hexs(&k.to_bytes()),
            "message": digest(m),
            "signature": hexs(&s.to_bytes()),
            "error": k.verify(m, s).err().map(|e| e.to_string()),
        }));
    }
    (Value::Array(sigs), Value::Array(verify))
}

fn key_refusals(rng: &mut ChaCha20Rng, keys: &[SecretKey]) -> Value {
    let mut out = Vec::new();
    let mut push = |what: &str, bytes: Vec<u8>| {
        let error = match what {
            "public_key" => PublicKey::from_bytes(&bytes).err(),
            "public_key_canonical" => PublicKey::from_canonical_bytes(&bytes).err(),
            "secret_key" => SecretKey::from_bytes(&bytes).err(),
            "signature" => Signature::from_bytes(&bytes).err(),
            _ => unreachable!(),
        }
        .map(|e| e.to_string());
        out.push(json!({ "what": what, "bytes": hexs(&bytes), "error": error }));
    };
    let pk = keys[2].public_key().to_bytes();
    let sig = keys[2].sign(&rand_digest(rng)).to_bytes();
    for len in [0, 39, 41] {
        push("public_key", vec![1; len]);
        push("public_key_canonical", vec![1; len]);
        push("secret_key", vec![1; len]);
    }
    for len in [0, 71, 73] {
        push("signature", vec![0; len]);
    }
    for i in [0, 4] {
        let mut b = pk;
        b[8 * i..8 * i + 8].copy_from_slice(&P.to_le_bytes());
        push("public_key", b.to_vec());
        push("public_key_canonical", b.to_vec());
        let mut b = pk;
        b[8 * i..8 * i + 8].copy_from_slice(&u64::MAX.to_le_bytes());
        push("public_key", b.to_vec());
    }
    push("public_key", vec![0; 40]);
    push("public_key_canonical", vec![0; 40]);
    push("public_key", off_curve_key(rng).to_bytes().to_vec());
    push("public_key_canonical", off_curve_key(rng).to_bytes().to_vec());
    push("public_key", pk.to_vec());
    push("secret_key", vec![0; 40]);
    push("secret_key", n_bytes());
    push("secret_key", vec![0xff; 40]);
    let mut nm1 = n_bytes();
    nm1[0] -= 1;
    push("secret_key", nm1.clone());
    push("secret_key", keys[5].to_bytes().to_vec());
    for i in [0, 3] {
        let mut b = sig;
        b[8 * i..8 * i + 8].copy_from_slice(&(P + 5).to_le_bytes());
        push("signature", b.to_vec());
    }
    let mut b = sig;
    b[32..].copy_from_slice(&n_bytes());
    push("signature", b.to_vec());
    b[32..].copy_from_slice(&nm1);
    push("signature", b.to_vec());
    push("signature", sig.to_vec());
    Value::Array(out)
}

struct TxCase {
    tx: Tx,
    domain: Domain,
    signer: Option<SecretKey>,
}

fn tx_cases(rng: &mut ChaCha20Rng, keys: &[SecretKey]) -> Vec<TxCase> {
    let big = Domain { chain_id: u64::MAX, rollup_id: (1 << 32) | 5 };
    let chain1 = Domain { chain_id: 1, rollup_id: 2 };
    let mut addr = [0u8; 20];
    rng.fill_bytes(&mut addr);
    let mut addr_edge = [0u8; 20];
    addr_edge[0] = 1;
    addr_edge[19] = 0xff;
    let case = |tx: Tx, domain: Domain, signer: Option<&SecretKey>| TxCase { tx, domain, signer: signer.cloned() };
    vec![
        case(Tx::Transfer(Transfer { from: 1, to: 2, amount: 500, fee: 7, nonce: 3 }), Domain::DEVNET, Some(&keys[3])),
        case(
            Tx::Transfer(Transfer { from: u32::MAX, to: 0, amount: MAX_AMOUNT, fee: 0, nonce: u32::MAX }),
            big,
            Some(&keys[4]),
        ),
        case(Tx::Transfer(Transfer { from: 1, to: 2, amount: 500, fee: 7, nonce: 3 }), chain1, Some(&keys[3])),
        case(
            Tx::Withdraw(Withdraw { from: 9, l1_address: addr, amount: 123_456_789, fee: 1_000, nonce: 0 }),
            Domain::DEVNET,
            Some(&keys[5]),
        ),
        case(
            Tx::Withdraw(Withdraw {
                from: 77,
                l1_address: addr_edge,
                amount: MAX_AMOUNT,
                fee: MAX_AMOUNT,
                nonce: 0x1234_5678,
            }),
            big,
            Some(&keys[6]),
        ),
        case(
            Tx::Deposit(Deposit { priority_id: 77, to: u32::MAX, pubkey: keys[3].public_key(), amount: 1 }),
            Domain::DEVNET,
            None,
        ),
        case(
            Tx::Deposit(Deposit {
                priority_id: MAX_PRIORITY_ID,
                to: 5,
                pubkey: off_curve_key(rng),
                amount: MAX_AMOUNT,
            }),
            Domain::DEVNET,
            None,
        ),
        case(
            Tx::Deposit(Deposit { priority_id: 0, to: 6, pubkey: PublicKey(Gfp5::ZERO), amount: 10 }),
            Domain::DEVNET,
            None,
        ),
        case(Tx::ForcedExit(ForcedExit { priority_id: 5, account: 7, l1_address: addr }), Domain::DEVNET, None),
        case(
            Tx::ForcedExit(ForcedExit { priority_id: MAX_PRIORITY_ID, account: u32::MAX, l1_address: addr_edge }),
            chain1,
            None,
        ),
    ]
}

fn transaction_vectors(cases: &[TxCase]) -> Value {
    let mut out = Vec::new();
    for c in cases {
        let stx = match &c.signer {
            Some(sk) => c.tx.sign(sk, &c.domain),
            None => SignedTx { tx: c.tx, signature: None },
        };
        let signed = stx.to_bytes();
        assert_eq!(SignedTx::from_bytes(&signed).unwrap(), stx);
        if let (Some(sk), Some(sig)) = (&c.signer, &stx.signature) {
            assert_eq!(sk.public_key().verify(&c.tx.message(&c.domain), sig), Ok(()));
        }
        let refund = matches!(c.tx, Tx::Deposit(d) if !d.key_is_usable());
        out.push(json!({
            "tx": tx_json(&c.tx),
            "domain": domain_json(&c.domain),
            "domain_fields": fes(&c.domain.to_fields()),
            "secret_key": c.signer.as_ref().map(|sk| hexs(&sk.to_bytes())),
            "body": hexs(&c.tx.to_bytes()),
            "signed": hexs(&signed),
            "fields": fes(&c.tx.to_fields()),
            "message": digest(&c.tx.message(&c.domain)),
            "id": digest(&c.tx.id()),
            "id_bytes": hexs(&digest_bytes(&c.tx.id())),
            "refund": refund,
        }));
    }
    Value::Array(out)
}

fn tx_refusals(cases: &[TxCase]) -> Value {
    let mut out = Vec::new();
    let mut push = |decoder: &str, bytes: &[u8]| {
        let error = match decoder {
            "tx" => Tx::from_bytes(bytes).err(),
            "signed_tx" => SignedTx::from_bytes(bytes).err(),
            _ => unreachable!(),
        }
        .map(|e| e.to_string());
        out.push(json!({ "decoder": decoder, "bytes": hexs(bytes), "error": error }));
    };
    for decoder in ["tx", "signed_tx"] {
        push(decoder, &[]);
        for tag in [0u8, 5, 9, 0xff] {
            push(decoder, &[tag, 1, 2, 3]);
        }
    }
    // the first case of each kind: truncations, one extra byte, the body alone, bounds
    for idx in [0usize, 3, 5, 8] {
        let c = &cases[idx];
        let stx = match &c.signer {
            Some(sk) => c.tx.sign(sk, &c.domain),
            None => SignedTx { tx: c.tx, signature: None },
        };
        let body = c.tx.to_bytes();
        let signed = stx.to_bytes();
        for cut in [1, body.len() / 2, body.len() - 1] {
            push("tx", &body[..cut]);
            push("signed_tx", &signed[..cut]);
        }
        push("signed_tx", &signed[..signed.len() - 1]);
        let mut longer = signed.clone();
        longer.push(0);
        push("signed_tx", &longer);
        let mut longer = body.clone();
        longer.push(0);
        push("tx", &longer);
        push("tx", &signed);
        push("signed_tx", &body);
    }
    let transfer = cases[0].tx.to_bytes();
    let withdraw = cases[3].tx.to_bytes();
    let deposit = cases[5].tx.to_bytes();
    let forced = cases[8].tx.to_bytes();
    let with = |b: &[u8], at: usize, v: &[u8]| {
        let mut b = b.to_vec();
        b[at..at + v.len()].copy_from_slice(v);
        b
    };
    let over = (MAX_AMOUNT + 1).to_le_bytes();
    let max = u64::MAX.to_le_bytes();
    let edge = MAX_AMOUNT.to_le_bytes();
    for b in [
        with(&transfer, 9, &over),
        with(&transfer, 9, &max),
        with(&transfer, 9, &edge),
        with(&transfer, 17, &over),
        with(&transfer, 17, &edge),
        with(&with(&transfer, 9, &over), 17, &over),
        with(&withdraw, 25, &over),
        with(&withdraw, 33, &max),
        with(&deposit, 1, &over),
        with(&deposit, 1, &edge),
        with(&deposit, 53, &over),
        with(&deposit, 13, &max),
        with(&deposit, 13 + 32, &P.to_le_bytes()),
        with(&deposit, 13, &[0; 40]),
        with(&forced, 1, &over),
        with(&forced, 1, &max),
    ] {
        push("tx", &b);
    }
    let signed_transfer = cases[0].tx.sign(cases[0].signer.as_ref().unwrap(), &cases[0].domain).to_bytes();
    let sig_at = Tx::TRANSFER_LEN;
    for b in [
        with(&signed_transfer, sig_at, &max),
        with(&signed_transfer, sig_at + 24, &P.to_le_bytes()),
        with(&signed_transfer, sig_at + 32, &n_bytes()),
        with(&signed_transfer, sig_at + 32, &[0xff; 40]),
        with(&signed_transfer, 9, &over),
        with(&with(&signed_transfer, 9, &over), sig_at, &max),
        with(&signed_transfer, sig_at, &[0; 72]),
    ] {
        push("signed_tx", &b);
    }
    Value::Array(out)
}

fn l1_limb_vectors(rng: &mut ChaCha20Rng) -> Value {
    let mut addrs = vec![[0u8; 20], [0xff; 20]];
    let mut a = [0u8; 20];
    a[0] = 1;
    a[19] = 0xff;
    addrs.push(a);
    let mut r = [0u8; 20];
    rng.fill_bytes(&mut r);
    addrs.push(r);
    Value::Array(addrs.iter().map(|a| json!({ "address": hexs(a), "limbs": fes(&l1_address_limbs(a)) })).collect())
}

fn merkle_vectors(rng: &mut ChaCha20Rng, keys: &[SecretKey]) -> Value {
    let empty: Vec<Value> = empty_hashes().iter().map(digest).collect();
    // A sparse tree of accounts at scattered ids.
    let ids = [0u32, 1, 7, 8, 1 << 20, u32::MAX - 1, u32::MAX];
    let mut tree = SparseMerkleTree::new();
    let mut accounts = Vec::new();
    for (i, &id) in ids.iter().enumerate() {
        let balance = match i {
            0 => 0,
            1 => MAX_AMOUNT,
            _ => rng.gen_range(0..=MAX_AMOUNT),
        };
        let nonce = if i == 2 { u32::MAX } else { rng.gen::<u32>() };
        let a = Account { pubkey: keys[i % keys.len()].public_key(), balance, nonce };
        tree.set(id, a.leaf());
        accounts.push((id, a));
    }
    let root = tree.root();
    let mut proofs = Vec::new();
    let mut leaves = Vec::new();
    for (id, a) in &accounts {
        let p = tree.prove(*id);
        assert!(p.verify(root, a.leaf()));
        leaves.push(
            json!({ "account": account_json(&Some(*a)), "fields": fes(&a.leaf_fields()), "leaf": digest(&a.leaf()) }),
        );
        proofs.push(json!({ "proof": proof_json(&p), "account": account_json(&Some(*a)), "leaf": digest(&a.leaf()), "valid": true }));
    }
    for id in [2u32, 9, 1 << 31] {
        let p = tree.prove(id);
        assert!(p.verify(root, ZERO_DIGEST));
        proofs.push(
            json!({ "proof": proof_json(&p), "account": Value::Null, "leaf": digest(&ZERO_DIGEST), "valid": true }),
        );
    }
    // Proofs that must fail: a wrong leaf, a wrong sibling, another index, a short path.
    let (id, a) = accounts[2];
    let good = tree.prove(id);
    let wrong_leaf = Account { balance: a.balance + 1, ..a };
    let mut bad_sibling = good.clone();
    bad_sibling.siblings[5] = rand_digest(rng);
    let moved = MerkleProof { index: id ^ (1 << 4), siblings: good.siblings.clone() };
    let short = MerkleProof { index: id, siblings: good.siblings[..DEPTH - 1].to_vec() };
    for (p, leaf, acct) in [
        (&good, wrong_leaf.leaf(), Some(wrong_leaf)),
        (&bad_sibling, a.leaf(), Some(a)),
        (&moved, a.leaf(), Some(a)),
        (&short, a.leaf(), Some(a)),
        (&good, ZERO_DIGEST, None),
    ] {
        assert!(!p.verify(root, leaf));
        proofs.push(json!({
            "proof": proof_json(p), "account": account_json(&acct), "leaf": digest(&leaf), "valid": false,
            "root_for": digest(&p.root_for(leaf)),
        }));
    }
    // One answer in the wallet API's GetAccount form (bytes).
    let (id, a) = accounts[4];
    let p = tree.prove(id);
    let api = json!({
        "account": id,
        "exists": true,
        "balance": u64s(a.balance),
        "nonce": a.nonce,
        "pubkey": hexs(&a.pubkey.to_bytes()),
        "root": hexs(&digest_bytes(&root)),
        "siblings": p.siblings.iter().map(|s| hexs(&digest_bytes(s))).collect::<Vec<_>>(),
    });
    let p_empty = tree.prove(3);
    let api_empty = json!({
        "account": 3,
        "exists": false,
        "balance": "0",
        "nonce": 0,
        "pubkey": "",
        "root": hexs(&digest_bytes(&root)),
        "siblings": p_empty.siblings.iter().map(|s| hexs(&digest_bytes(s))).collect::<Vec<_>>(),
    });
    json!({
        "empty_hashes": empty,
        "root": digest(&root),
        "root_hex": zkr_circuits::artifact::digest_hex(&root),
        "leaves": leaves,
        "proofs": proofs,
        "api_responses": [api, api_empty],
    })
}

/// Transfers and withdrawals applied to a fresh state (fee account 0, sender 1, recipient 2): the refusals the
/// state transition gives for amount + fee against the balances, and for accepted ones the state's root and
/// the sender's proof afterwards.
fn spend_vectors(keys: &[SecretKey]) -> Value {
    let (fee_sk, sender_sk, recipient_sk) = (&keys[2], &keys[3], &keys[4]);
    let mut out = Vec::new();
    let mut addr = [0u8; 20];
    addr[3] = 9;
    let cases: Vec<(u64, u64, Tx)> = vec![
        (1_000, 0, Tx::Transfer(Transfer { from: 1, to: 2, amount: 990, fee: 10, nonce: 0 })),
        (1_000, 0, Tx::Transfer(Transfer { from: 1, to: 2, amount: 990, fee: 11, nonce: 0 })),
        (1_000, 0, Tx::Transfer(Transfer { from: 1, to: 2, amount: 1_001, fee: 0, nonce: 0 })),
        (1_000, 0, Tx::Transfer(Transfer { from: 1, to: 2, amount: 0, fee: 1, nonce: 0 })),
        (1_000, 0, Tx::Transfer(Transfer { from: 1, to: 1, amount: 5, fee: 1, nonce: 0 })),
        (MAX_AMOUNT, 0, Tx::Transfer(Transfer { from: 1, to: 2, amount: MAX_AMOUNT, fee: MAX_AMOUNT, nonce: 0 })),
        (MAX_AMOUNT, 0, Tx::Transfer(Transfer { from: 1, to: 2, amount: MAX_AMOUNT, fee: 0, nonce: 0 })),
        (10, MAX_AMOUNT - 3, Tx::Transfer(Transfer { from: 1, to: 2, amount: 4, fee: 1, nonce: 0 })),
        (10, MAX_AMOUNT - 3, Tx::Transfer(Transfer { from: 1, to: 2, amount: 3, fee: 1, nonce: 0 })),
        (1_000, 0, Tx::Withdraw(Withdraw { from: 1, l1_address: addr, amount: 999, fee: 1, nonce: 0 })),
        (1_000, 0, Tx::Withdraw(Withdraw { from: 1, l1_address: addr, amount: 999, fee: 2, nonce: 0 })),
        (1_000, 0, Tx::Withdraw(Withdraw { from: 1, l1_address: [0; 20], amount: 5, fee: 2, nonce: 0 })),
        (1_000, 0, Tx::Withdraw(Withdraw { from: 1, l1_address: addr, amount: 0, fee: 2, nonce: 0 })),
    ];
    for (sender_balance, recipient_balance, tx) in cases {
        let mut state = State::genesis(&[
            (fee_sk.public_key(), 0),
            (sender_sk.public_key(), sender_balance),
            (recipient_sk.public_key(), recipient_balance),
        ]);
        let root_before = state.root();
        let stx = tx.sign(sender_sk, &state.domain());
        let result = state.apply(&stx);
        let mut v = json!({
            "sender_balance": u64s(sender_balance),
            "recipient_balance": u64s(recipient_balance),
            "tx": tx_json(&tx),
            "signed": hexs(&stx.to_bytes()),
            "root_before": digest(&root_before),
            "error": result.as_ref().err().map(|e| e.to_string()),
        });
        if result.is_ok() {
            state.credit_fees();
            let accounts: Vec<Value> = (0..3).map(|i| account_json(&state.account(i).copied())).collect();
            let proofs: Vec<Value> = (0..3).map(|i| proof_json(&state.proof(i))).collect();
            for i in 0..3 {
                assert!(state.proof(i).verify(state.root(), leaf_of(&state.account(i).copied())));
            }
            v["after"] = json!({ "root": digest(&state.root()), "accounts": accounts, "proofs": proofs });
        }
        out.push(v);
    }
    Value::Array(out)
}

fn build_vectors() -> Value {
    let mut rng = ChaCha20Rng::seed_from_u64(0x7a6b_7200_5344_4b31); // "zkr\0SDK1"
    let poseidon = poseidon_vectors(&mut rng);
    let gfp5_ops = gfp5_vectors(&mut rng);
    let curve = curve_vectors(&mut rng);
    let (keys_json, keys) = key_vectors(&mut rng);
    let (signatures, verify) = signature_vectors(&mut rng, &keys);
    let key_refusals = key_refusals(&mut rng, &keys);
    let cases = tx_cases(&mut rng, &keys);
    let transactions = transaction_vectors(&cases);
    let tx_refusals = tx_refusals(&cases);
    let l1 = l1_limb_vectors(&mut rng);
    let merkle = merkle_vectors(&mut rng, &keys);
    let spend = spend_vectors(&keys);
    json!({
        "about": format!(
            "Generated by circuits/tests/wallet_vectors.rs; regenerate with `{REGENERATE}`. Field elements, u64 \
             values and scalars are decimal strings; byte strings are hex."
        ),
        "constants": {
            "p": u64s(P),
            "n": Scalar::modulus().to_string(),
            "max_amount": u64s(MAX_AMOUNT),
            "generator_w": gfp5(&Point::GENERATOR.encode()),
            "devnet": domain_json(&Domain::DEVNET),
        },
        "poseidon": poseidon,
        "gfp5": gfp5_ops,
        "curve": curve,
        "keys": keys_json,
        "signatures": signatures,
        "verify": verify,
        "key_refusals": key_refusals,
        "transactions": transactions,
        "tx_refusals": tx_refusals,
        "l1_address_limbs": l1,
        "merkle": merkle,
        "spend": spend,
    })
}

#[test]
fn wallet_vectors_match_the_committed_file() {
    let vectors = build_vectors();
    let text = serde_json::to_string_pretty(&vectors).unwrap() + "\n";
    let path = sdk_test_dir().join("vectors.json");
    if std::env::var("ZKR_UPDATE_VECTORS").is_ok_and(|v| v == "1") {
        std::fs::write(&path, &text).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!("cannot read {} ({e}); generate it with `{REGENERATE}`", path.display());
    });
    if committed != text {
        let line = committed.lines().zip(text.lines()).position(|(a, b)| a != b).map_or_else(
            || format!("the files differ in length ({} vs {} lines)", committed.lines().count(), text.lines().count()),
            |i| format!("first difference at line {}", i + 1),
        );
        panic!(
            "{} is out of date with the Rust code ({line}); regenerate it with `{REGENERATE}`, then run \
             `npm test --prefix sdk/ts`",
            path.display()
        );
    }
}

/// Signatures the TypeScript SDK made (with its own random keys) verify under the Rust verifier, and their
/// encodings decode strictly.
#[test]
fn signatures_made_by_the_sdk_verify_in_rust() {
    let path = sdk_test_dir().join("ts-signatures.json");
    let Ok(text) = std::fs::read_to_string(&path) else {
        return; // optional: written by `npm run ts-signatures --prefix sdk/ts`
    };
    let v: Value = serde_json::from_str(&text).unwrap();
    let entries = v["signatures"].as_array().expect("a `signatures` array");
    assert!(!entries.is_empty());
    for (i, e) in entries.iter().enumerate() {
        let bytes = |k: &str| hex::decode(e[k].as_str().unwrap()).unwrap();
        let pk = PublicKey::from_bytes(&bytes("public_key")).unwrap();
        let sig = Signature::from_bytes(&bytes("signature")).unwrap();
        let msg: Vec<F> = e["message"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| {
                let v: u64 = x.as_str().unwrap().parse().unwrap();
                assert!(v < P);
                F::from_canonical_u64(v)
            })
            .collect();
        let msg = HashOut { elements: [msg[0], msg[1], msg[2], msg[3]] };
        assert_eq!(pk.verify(&msg, &sig), Ok(()), "entry {i} of {}", path.display());
        if let Some(sk) = e.get("secret_key").and_then(Value::as_str) {
            let sk = SecretKey::from_bytes(&hex::decode(sk).unwrap()).unwrap();
            assert_eq!(sk.public_key(), pk, "entry {i}");
            assert_eq!(sk.sign(&msg), sig, "entry {i}: deterministic signing must agree");
        }
        if let Some(stx) = e.get("signed_tx").and_then(Value::as_str) {
            let stx = SignedTx::from_bytes(&hex::decode(stx).unwrap()).unwrap();
            let d = &e["domain"];
            let domain = Domain {
                chain_id: d["chain_id"].as_str().unwrap().parse().unwrap(),
                rollup_id: d["rollup_id"].as_str().unwrap().parse().unwrap(),
            };
            assert_eq!(stx.tx.message(&domain), msg, "entry {i}: the signed message of the transaction");
            assert_eq!(stx.signature, Some(sig), "entry {i}");
        }
    }
}
