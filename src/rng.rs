//! Random streams. Every random number in samlab comes from a stream derived from (seed, stream
//! index) alone — ChaCha8 keyed by the seed, with the index as its stream number — so that a result
//! never depends on thread count, scheduling or batch width. [`Philox`] (Philox4x32-10, keyed the
//! same way) is the counter-based option; [`Xoshiro`] (xoshiro256++, seeded from the ChaCha8
//! stream of the same key) is the cheap per-trajectory option that the batched engine advances for
//! many trajectories at once with SIMD ([`crate::batch`]).

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// The generator of stream `index` under `seed`.
pub fn stream(seed: u64, index: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(index);
    rng
}

/// A stream index named by a label: the 64-bit FNV-1a hash of its bytes. A task keyed by its name
/// (a check id, a spec) keeps its stream when other tasks are added, removed or reordered.
pub fn label_index(label: &str) -> u64 {
    fnv1a(label.as_bytes())
}

/// The 64-bit FNV-1a hash of `bytes` (stream labels, spec texts, data files).
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Philox4x32-10 (Salmon et al., SC 2011), a counter-based generator: block `k` of stream
/// `index` under `seed` is the 10-round Philox bijection of the 128-bit counter (k, index) under
/// the 64-bit key `seed`. Every (seed, index, k) is a distinct counter, so no two streams
/// overlap, and a stream can start anywhere without drawing through the blocks before it. Each
/// block gives four 32-bit words, read as two `u64` (low word first).
///
/// It is the counter-based alternative to [`stream`]: the batched engine ([`crate::batch`]) and the
/// single runner ([`crate::optim::step`] is generic over the generator) accept either, so their
/// results can be compared bit for bit. On the default (SSE2) build it is slower than ChaCha8,
/// whose implementation computes four blocks at once with SIMD (BENCHMARKS.md).
#[derive(Clone, Debug)]
pub struct Philox {
    key: [u32; 2],
    /// Counter words 2 and 3: the stream index.
    index: [u32; 2],
    /// The next block to compute.
    block: u64,
    /// The current block's words.
    buf: [u32; 4],
    /// Words of `buf` consumed (4 = empty).
    used: usize,
}

const PHILOX_M: [u32; 2] = [0xD251_1F53, 0xCD9E_8D57];
const PHILOX_W: [u32; 2] = [0x9E37_79B9, 0xBB67_AE85];

/// The Philox4x32-10 bijection of counter `c` under key `k`.
#[inline(always)]
pub fn philox4x32_10(mut c: [u32; 4], mut k: [u32; 2]) -> [u32; 4] {
    for round in 0..10 {
        if round > 0 {
            k[0] = k[0].wrapping_add(PHILOX_W[0]);
            k[1] = k[1].wrapping_add(PHILOX_W[1]);
        }
        let p0 = u64::from(PHILOX_M[0]) * u64::from(c[0]);
        let p1 = u64::from(PHILOX_M[1]) * u64::from(c[2]);
        c = [
            (p1 >> 32) as u32 ^ c[1] ^ k[0],
            p1 as u32,
            (p0 >> 32) as u32 ^ c[3] ^ k[1],
            p0 as u32,
        ];
    }
    c
}

impl Philox {
    /// Stream `index` under `seed`, at its first block.
    pub fn new(seed: u64, index: u64) -> Self {
        Philox {
            key: [seed as u32, (seed >> 32) as u32],
            index: [index as u32, (index >> 32) as u32],
            block: 0,
            buf: [0; 4],
            used: 4,
        }
    }

    #[inline(always)]
    fn refill(&mut self) {
        let b = self.block;
        self.buf = philox4x32_10(
            [b as u32, (b >> 32) as u32, self.index[0], self.index[1]],
            self.key,
        );
        self.block = b.wrapping_add(1);
        self.used = 0;
    }
}

impl rand::RngCore for Philox {
    #[inline]
    fn next_u32(&mut self) -> u32 {
        if self.used >= 4 {
            self.refill();
        }
        let w = self.buf[self.used];
        self.used += 1;
        w
    }

    /// Two consecutive words, low first (an odd word left over is skipped, so that a block's two
    /// `u64` are always its words (0, 1) and (2, 3)).
    #[inline]
    fn next_u64(&mut self) -> u64 {
        if self.used > 2 {
            self.refill();
        } else if self.used == 1 {
            self.used = 2;
        }
        let (lo, hi) = (self.buf[self.used], self.buf[self.used + 1]);
        self.used += 2;
        u64::from(lo) | (u64::from(hi) << 32)
    }

    fn fill_bytes(&mut self, dst: &mut [u8]) {
        for chunk in dst.chunks_mut(4) {
            let w = self.next_u32().to_le_bytes();
            chunk.copy_from_slice(&w[..chunk.len()]);
        }
    }
}

/// xoshiro256++ (Blackman & Vigna 2019): 256 bits of state, period 2²⁵⁶ − 1, one 64-bit word per
/// eight integer operations. Stream `index` under `seed` starts from the first four words of the
/// ChaCha8 stream [`stream`]`(seed, index)`, so streams are keyed exactly as everywhere else in
/// samlab (and the all-zero state, which xoshiro cannot leave, occurs with probability 2⁻²⁵⁶; it is
/// replaced by state (1, 0, 0, 0)).
///
/// Each word is a function of the state alone, so many streams can be advanced in lock step as
/// arrays ([`Xoshiro::state`], [`Xoshiro::from_state`]), which is how the batched engine draws its
/// gradient noise; a stream gives the same words either way.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Xoshiro {
    s: [u64; 4],
}

impl Xoshiro {
    /// Stream `index` under `seed`.
    pub fn new(seed: u64, index: u64) -> Self {
        use rand::RngCore;
        let mut c = stream(seed, index);
        let s = [c.next_u64(), c.next_u64(), c.next_u64(), c.next_u64()];
        Self::from_state(s)
    }

    /// The generator in state `s` (the all-zero state is replaced by (1, 0, 0, 0)).
    pub fn from_state(s: [u64; 4]) -> Self {
        if s[0] | s[1] | s[2] | s[3] == 0 {
            Xoshiro { s: [1, 0, 0, 0] }
        } else {
            Xoshiro { s }
        }
    }

    /// The current state.
    pub fn state(&self) -> [u64; 4] {
        self.s
    }

    /// The word state `s` gives and the state after it: the one xoshiro256++ step, shared by the
    /// scalar generator and the engine's lane arrays so that both compute the same bits.
    #[inline(always)]
    pub fn advance(s: [u64; 4]) -> (u64, [u64; 4]) {
        let word = s[0].wrapping_add(s[3]).rotate_left(23).wrapping_add(s[0]);
        let t = s[1] << 17;
        let s2 = s[2] ^ s[0];
        let s3 = s[3] ^ s[1];
        let s1 = s[1] ^ s2;
        let s0 = s[0] ^ s3;
        (word, [s0, s1, s2 ^ t, s3.rotate_left(45)])
    }
}

impl rand::RngCore for Xoshiro {
    /// The high half of the next word.
    #[inline]
    fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    #[inline]
    fn next_u64(&mut self) -> u64 {
        let (word, s) = Self::advance(self.s);
        self.s = s;
        word
    }

    fn fill_bytes(&mut self, dst: &mut [u8]) {
        for chunk in dst.chunks_mut(8) {
            let w = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&w[..chunk.len()]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngCore;

    /// The known-answer vectors of the Random123 distribution (kat_vectors, philox4x32 10 rounds).
    #[test]
    fn philox_known_answers() {
        assert_eq!(
            philox4x32_10([0; 4], [0; 2]),
            [0x6627_e8d5, 0xe169_c58d, 0xbc57_ac4c, 0x9b00_dbd8]
        );
        assert_eq!(
            philox4x32_10([u32::MAX; 4], [u32::MAX; 2]),
            [0x408f_276d, 0x41c8_3b0e, 0xa20b_c7c6, 0x6d54_51fd]
        );
        assert_eq!(
            philox4x32_10(
                [0x243f_6a88, 0x85a3_08d3, 0x1319_8a2e, 0x0370_7344],
                [0xa409_3822, 0x299f_31d0]
            ),
            [0xd16c_fe09, 0x94fd_cceb, 0x5001_e420, 0x2412_6ea1]
        );
    }

    /// The reference output of xoshiro256++ from state (1, 2, 3, 4) (the authors' C code).
    #[test]
    fn xoshiro_known_answers() {
        let mut r = Xoshiro::from_state([1, 2, 3, 4]);
        let want = [
            41_943_041u64,
            58_720_359,
            3_588_806_011_781_223,
            3_591_011_842_654_386,
        ];
        for w in want {
            assert_eq!(r.next_u64(), w);
        }
        assert_eq!(Xoshiro::from_state([0; 4]).state(), [1, 0, 0, 0]);
        assert_ne!(Xoshiro::new(0, 1).state(), Xoshiro::new(0, 2).state());
    }

    /// Streams are the counter sequence: u64 k of a stream is half of block k / 2.
    #[test]
    fn philox_stream_layout() {
        let mut r = Philox::new(7, 3);
        for b in 0..5u64 {
            let w = philox4x32_10([b as u32, 0, 3, 0], [7, 0]);
            assert_eq!(r.next_u64(), u64::from(w[0]) | (u64::from(w[1]) << 32));
            assert_eq!(r.next_u64(), u64::from(w[2]) | (u64::from(w[3]) << 32));
        }
        let mut a = Philox::new(7, 3);
        let mut b = Philox::new(7, 4);
        assert_ne!(a.next_u64(), b.next_u64());
    }
}
