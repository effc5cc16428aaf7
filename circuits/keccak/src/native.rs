//! Keccak-f[1600] and the Keccak-256 sponge (the EVM's `KECCAK256`), natively: the reference the gadget is tested
//! against and the code that computes the digests the circuit must reproduce.

/// Bytes absorbed per permutation (1088-bit rate, 512-bit capacity).
pub const RATE_BYTES: usize = 136;
/// Lanes absorbed per permutation.
pub const RATE_LANES: usize = RATE_BYTES / 8;
/// Rounds of Keccak-f[1600].
pub const ROUNDS: usize = 24;

/// Round constants (ι), one per round.
pub const RC: [u64; ROUNDS] = [
    0x0000_0000_0000_0001,
    0x0000_0000_0000_8082,
    0x8000_0000_0000_808A,
    0x8000_0000_8000_8000,
    0x0000_0000_0000_808B,
    0x0000_0000_8000_0001,
    0x8000_0000_8000_8081,
    0x8000_0000_0000_8009,
    0x0000_0000_0000_008A,
    0x0000_0000_0000_0088,
    0x0000_0000_8000_8009,
    0x0000_0000_8000_000A,
    0x0000_0000_8000_808B,
    0x8000_0000_0000_008B,
    0x8000_0000_0000_8089,
    0x8000_0000_0000_8003,
    0x8000_0000_0000_8002,
    0x8000_0000_0000_0080,
    0x0000_0000_0000_800A,
    0x8000_0000_8000_000A,
    0x8000_0000_8000_8081,
    0x8000_0000_0000_8080,
    0x0000_0000_8000_0001,
    0x8000_0000_8000_8008,
];

/// Rotation offsets (ρ), indexed `[x][y]`.
pub const RHO: [[u32; 5]; 5] =
    [[0, 36, 3, 41, 18], [1, 44, 10, 45, 2], [62, 6, 43, 15, 61], [28, 55, 25, 21, 56], [27, 20, 39, 8, 14]];

/// Index of lane `(x, y)` in the state (the order bytes are absorbed in).
pub const fn lane(x: usize, y: usize) -> usize {
    x + 5 * y
}

/// Where ρ∘π sends lane `(x, y)`: `(y, 2x + 3y mod 5)`.
pub const fn pi_target(x: usize, y: usize) -> usize {
    lane(y, (2 * x + 3 * y) % 5)
}

/// Keccak-f[1600] on 25 little-endian lanes.
pub fn keccak_f(a: &mut [u64; 25]) {
    for rc in RC {
        let c: [u64; 5] = std::array::from_fn(|x| a[x] ^ a[x + 5] ^ a[x + 10] ^ a[x + 15] ^ a[x + 20]);
        for x in 0..5 {
            let d = c[(x + 4) % 5] ^ c[(x + 1) % 5].rotate_left(1);
            for y in 0..5 {
                a[lane(x, y)] ^= d;
            }
        }
        let mut b = [0u64; 25];
        for x in 0..5 {
            for y in 0..5 {
                b[pi_target(x, y)] = a[lane(x, y)].rotate_left(RHO[x][y]);
            }
        }
        for x in 0..5 {
            for y in 0..5 {
                a[lane(x, y)] = b[lane(x, y)] ^ (!b[lane((x + 1) % 5, y)] & b[lane((x + 2) % 5, y)]);
            }
        }
        a[0] ^= rc;
    }
}

/// The message padded with Keccak's `pad10*1` (domain byte `0x01`, last byte `| 0x80`) to whole rate blocks.
pub fn pad(data: &[u8]) -> Vec<u8> {
    let mut m = data.to_vec();
    let len = (data.len() / RATE_BYTES + 1) * RATE_BYTES;
    m.resize(len, 0);
    m[data.len()] ^= 0x01;
    m[len - 1] ^= 0x80;
    m
}

/// Number of Keccak-f permutations a Keccak-256 of `len` bytes takes.
pub const fn permutations(len: usize) -> usize {
    len / RATE_BYTES + 1
}

/// Keccak-256, as the EVM's `KECCAK256` opcode and Solidity's `keccak256` compute it.
pub fn keccak256(data: &[u8]) -> [u8; 32] {
    let mut a = [0u64; 25];
    for block in pad(data).chunks(RATE_BYTES) {
        for (i, w) in block.chunks(8).enumerate() {
            let mut le = [0u8; 8];
            le.copy_from_slice(w);
            a[i] ^= u64::from_le_bytes(le);
        }
        keccak_f(&mut a);
    }
    let mut out = [0u8; 32];
    for (i, w) in a[..4].iter().enumerate() {
        out[8 * i..8 * i + 8].copy_from_slice(&w.to_le_bytes());
    }
    out
}

/// A digest as the circuit exposes it: eight 32-bit limbs, limb `k` = bytes `4k..4k+4` read big-endian, so that
/// `uint256(digest) = Σ limb_k · 2^(32·(7−k))` in Solidity.
pub fn digest_limbs(d: &[u8; 32]) -> [u32; 8] {
    std::array::from_fn(|k| u32::from_be_bytes([d[4 * k], d[4 * k + 1], d[4 * k + 2], d[4 * k + 3]]))
}

#[cfg(test)]
mod tests {
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha20Rng;
    use tiny_keccak::{Hasher, Keccak};

    use super::*;

    fn reference(data: &[u8]) -> [u8; 32] {
        let mut k = Keccak::v256();
        k.update(data);
        let mut out = [0u8; 32];
        k.finalize(&mut out);
        out
    }

    #[test]
    fn agrees_with_tiny_keccak_across_block_boundaries() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        for len in [0, 1, 31, 32, 135, 136, 137, 271, 272, 273, 1000] {
            let data: Vec<u8> = (0..len).map(|_| rng.gen()).collect();
            assert_eq!(keccak256(&data), reference(&data), "length {len}");
            assert_eq!(pad(&data).len(), permutations(len) * RATE_BYTES);
        }
    }

    #[test]
    fn known_digest_of_the_empty_string() {
        let d = keccak256(&[]);
        assert_eq!(d[..4], [0xc5, 0xd2, 0x46, 0x01]);
        assert_eq!(digest_limbs(&d)[0], 0xc5d2_4601);
    }
}
