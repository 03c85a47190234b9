//! The gradient noise of the batched engine: one generator per trajectory, drawn for all live
//! lanes of a block at once. [`PerLane`] keeps one `rand` generator object per lane (ChaCha8 or
//! Philox) and draws lane by lane with `rand_distr::StandardNormal`. [`XoshiroLanes`] keeps the
//! xoshiro256++ states of the lanes as four arrays and draws a normal for every lane in one loop the
//! compiler vectorizes: the word, the next state and the ziggurat's fast path (one table lookup, a
//! multiply and a comparison, taken by about 98 % of draws) for all lanes, then, for the few lanes
//! the fast path rejects, the lane's generator is rewound to before that word and
//! `StandardNormal` draws the value. The fast path uses `StandardNormal`'s own table, read off the
//! sampler once ([`ZigTable`]), and its exact arithmetic, so each lane's normals are bitwise those
//! of `StandardNormal` on that lane's [`Xoshiro`] stream — what the single runner draws.
//! [`Shared`] serves a block whose lanes share one stream (a family of step sizes run from the same
//! start with the same noise): it draws each normal once and writes it into every lane.

use std::sync::LazyLock;

use rand::RngCore;
use rand_distr::{Distribution, StandardNormal};

use super::{Isa, LaneRng};
use crate::rng::Xoshiro;

/// The generators of a block's lanes.
pub(crate) trait NoiseLanes: Send {
    /// No lanes, room for `width`, drawing with instruction set `isa`.
    fn with_width(width: usize, isa: Isa) -> Self;
    /// Remove every lane.
    fn clear(&mut self);
    /// Append the generator of stream `index` under `seed`, after `init` has drawn from it.
    fn push(&mut self, seed: u64, index: u64, init: &mut dyn FnMut(&mut dyn RngCore));
    /// Exchange the generators of lanes `a` and `b`.
    fn swap(&mut self, a: usize, b: usize);
    /// Add N(0, s²) to the first `live` entries of each of the `dim` rows of `buf` (row j starts
    /// at j·width), each lane drawing its coordinates in the order 0, 1, … .
    fn add_noise(&mut self, buf: &mut [f64], dim: usize, width: usize, live: usize, s: f64);
    /// Write standard normals into the first `live` entries of each of the `rows` rows of `out`
    /// (row r starts at r·width), each lane drawing its rows in the order 0, 1, … .
    fn fill(&mut self, out: &mut [f64], rows: usize, width: usize, live: usize);
}

/// One `rand` generator object per lane.
pub(crate) struct PerLane<R>(Vec<R>);

impl<R: LaneRng> NoiseLanes for PerLane<R> {
    fn with_width(width: usize, _: Isa) -> Self {
        PerLane(Vec::with_capacity(width))
    }
    fn clear(&mut self) {
        self.0.clear();
    }
    fn push(&mut self, seed: u64, index: u64, init: &mut dyn FnMut(&mut dyn RngCore)) {
        let mut rng = R::lane(seed, index);
        init(&mut rng);
        self.0.push(rng);
    }
    fn swap(&mut self, a: usize, b: usize) {
        self.0.swap(a, b);
    }
    #[inline(always)]
    fn add_noise(&mut self, buf: &mut [f64], dim: usize, width: usize, live: usize, s: f64) {
        for j in 0..dim {
            let row = &mut buf[j * width..j * width + live];
            for (b, rng) in row.iter_mut().zip(self.0[..live].iter_mut()) {
                let z: f64 = StandardNormal.sample(rng);
                *b += s * z;
            }
        }
    }
    #[inline(always)]
    fn fill(&mut self, out: &mut [f64], rows: usize, width: usize, live: usize) {
        for r in 0..rows {
            let row = &mut out[r * width..r * width + live];
            for (o, rng) in row.iter_mut().zip(self.0[..live].iter_mut()) {
                *o = StandardNormal.sample(rng);
            }
        }
    }
}

/// One generator for every lane of a block: the lanes of a family run from the same stream (the
/// same start, the same normals), so a row of normals is drawn once and written into every lane.
/// Each lane's draws are still those of the single runner on that stream, because every member of
/// a family draws the same number of normals per step.
pub(crate) struct Shared<R>(Option<R>);

impl<R: LaneRng> NoiseLanes for Shared<R> {
    fn with_width(_: usize, _: Isa) -> Self {
        Shared(None)
    }
    fn clear(&mut self) {
        self.0 = None;
    }
    /// Every lane of a block pushes the same stream; each push draws its start afresh from it.
    fn push(&mut self, seed: u64, index: u64, init: &mut dyn FnMut(&mut dyn RngCore)) {
        let mut rng = R::lane(seed, index);
        init(&mut rng);
        self.0 = Some(rng);
    }
    fn swap(&mut self, _: usize, _: usize) {}
    #[inline(always)]
    fn add_noise(&mut self, buf: &mut [f64], dim: usize, width: usize, live: usize, s: f64) {
        let rng = self.0.as_mut().expect("a lane was pushed");
        for j in 0..dim {
            let z: f64 = StandardNormal.sample(rng);
            let sz = s * z;
            buf[j * width..j * width + live]
                .iter_mut()
                .for_each(|b| *b += sz);
        }
    }
    #[inline(always)]
    fn fill(&mut self, out: &mut [f64], rows: usize, width: usize, live: usize) {
        let rng = self.0.as_mut().expect("a lane was pushed");
        for r in 0..rows {
            let z: f64 = StandardNormal.sample(rng);
            out[r * width..r * width + live].fill(z);
        }
    }
}

/// The fast path of `StandardNormal`'s 256-layer ziggurat: a word w gives layer i = w mod 256 and
/// u = [2 + (w >> 12)·2⁻⁵¹] − 3 ∈ [−1, 1); x = u·xᵢ is returned when |x| < xᵢ₊₁. `x[i]` is xᵢ and
/// `bound[i]` is xᵢ₊₁, or −1 (never taken) for the layers whose xᵢ₊₁ could not be read off
/// (the top two: xᵢ₊₁ of the last layer is 0 and the one below it is never returned by the fast
/// path); those words go to the full sampler.
pub(crate) struct ZigTable {
    x: [f64; 256],
    bound: [f64; 256],
}

/// u = −2⁻⁴⁰: its word's high 52 bits are 2⁵¹ − 2¹¹.
const PROBE_MANTISSA: u64 = (1 << 51) - (1 << 11);

/// A generator that returns `first`, then the words of an ordinary stream, counting its draws.
struct Probe {
    first: u64,
    draws: usize,
    rest: Xoshiro,
}

impl RngCore for Probe {
    fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }
    fn next_u64(&mut self) -> u64 {
        self.draws += 1;
        if self.draws == 1 {
            self.first
        } else {
            self.rest.next_u64()
        }
    }
    fn fill_bytes(&mut self, dst: &mut [u8]) {
        for chunk in dst.chunks_mut(8) {
            let w = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&w[..chunk.len()]);
        }
    }
}

impl ZigTable {
    /// Read xᵢ off `StandardNormal`: the word of layer i with u = −2⁻⁴⁰ is accepted by the fast
    /// path (|u|·xᵢ < xᵢ₊₁) and returns −2⁻⁴⁰·xᵢ exactly, after one draw; a layer where that does
    /// not happen is left unknown.
    fn read() -> Self {
        let mut layer = [None; 256];
        for (i, slot) in layer.iter_mut().enumerate() {
            let mut probe = Probe {
                first: (PROBE_MANTISSA << 12) | i as u64,
                draws: 0,
                rest: Xoshiro::new(0, i as u64),
            };
            let v: f64 = StandardNormal.sample(&mut probe);
            let xi = -v * 2f64.powi(40);
            if probe.draws == 1 && xi.is_finite() && xi > 0.0 {
                *slot = Some(xi);
            }
        }
        let mut t = ZigTable {
            x: [0.0; 256],
            bound: [-1.0; 256],
        };
        for i in 0..255 {
            if let (Some(xi), Some(next)) = (layer[i], layer[i + 1]) {
                t.x[i] = xi;
                t.bound[i] = next;
            }
        }
        t
    }

    /// Layers whose fast path is used (the rest always go to the full sampler).
    #[cfg(test)]
    fn fast_layers(&self) -> usize {
        self.bound.iter().filter(|b| **b >= 0.0).count()
    }
}

/// The table, read once per process.
pub(crate) static ZIGGURAT: LazyLock<ZigTable> = LazyLock::new(ZigTable::read);

/// xoshiro256++ states of the lanes as arrays (`states[c][k][l]` is word k of lane l's state in
/// copy c), drawn for all lanes per call: copy `cur` holds the states, the draw writes the
/// advanced ones into the other copy, which then becomes `cur`.
pub(crate) struct XoshiroLanes {
    states: [[Vec<u64>; 4]; 2],
    cur: usize,
    /// The normals of one row in `add_noise`.
    z: Vec<f64>,
    /// Bit l % 8 of byte l / 8: lane l's last draw was rejected by the fast path.
    reject: Vec<u8>,
    /// |x| − bound per lane (the AVX-512 path's acceptance test: negative when accepted).
    margin: Vec<f64>,
    /// Lanes pushed since the last `clear`.
    len: usize,
    /// Draw with the AVX-512 kernel.
    avx512: bool,
}

impl XoshiroLanes {
    fn lane_state(&self, l: usize) -> [u64; 4] {
        let c = &self.states[self.cur];
        [c[0][l], c[1][l], c[2][l], c[3][l]]
    }

    /// The current and the next copy of `states` (`cur` is the current one's index).
    fn copies(states: &mut [[Vec<u64>; 4]; 2], cur: usize) -> (&[Vec<u64>; 4], &mut [Vec<u64>; 4]) {
        let (a, b) = states.split_at_mut(1);
        if cur == 0 {
            (&a[0], &mut b[0])
        } else {
            (&b[0], &mut a[0])
        }
    }

    /// Write state `s` as lane `l` of `copy`.
    fn set_state(copy: &mut [Vec<u64>; 4], l: usize, s: [u64; 4]) {
        for (c, w) in copy.iter_mut().zip(s) {
            c[l] = w;
        }
    }

    /// The fast path for lanes `from..live`, one lane at a time.
    #[inline(always)]
    fn fast_path_scalar(&mut self, z: &mut [f64], from: usize, live: usize) {
        let tab: &ZigTable = &ZIGGURAT;
        for (l, zl) in z.iter_mut().enumerate().take(live).skip(from) {
            let (w, s) = Xoshiro::advance(self.lane_state(l));
            Self::set_state(Self::copies(&mut self.states, self.cur).1, l, s);
            let i = (w & 0xff) as usize;
            let u = f64::from_bits(0x4000_0000_0000_0000 | (w >> 12)) - 3.0;
            let x = u * tab.x[i];
            *zl = x;
            if x.abs() >= tab.bound[i] {
                self.reject[l / 8] |= 1 << (l % 8);
            }
        }
    }

    /// The fast path for the first ⌊live/8⌋·8 lanes, eight at a time: the same operations as
    /// [`XoshiroLanes::fast_path_scalar`] on 64-bit lanes (the table read by a gather). Returns
    /// the number of lanes done.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f")]
    #[inline]
    fn fast_path_avx512(&mut self, z: &mut [f64], live: usize) -> usize {
        use std::arch::x86_64::*;
        let tab: &ZigTable = &ZIGGURAT;
        let chunks = live / 8;
        let (cur, next) = Self::copies(&mut self.states, self.cur);
        let [c0, c1, c2, c3] = cur;
        let [n0, n1, n2, n3] = next;
        let (mask, three) = (_mm512_set1_epi64(0xff), _mm512_set1_pd(3.0));
        let exponent = _mm512_set1_epi64(0x4000_0000_0000_0000);
        for c in 0..chunks {
            let r = c * 8..c * 8 + 8;
            // SAFETY: every slice below has 8 entries (r is within `live` <= width).
            unsafe {
                let load = |v: &[u64]| _mm512_loadu_epi64(v[r.clone()].as_ptr().cast());
                let (s0, s1, s2, s3) = (load(c0), load(c1), load(c2), load(c3));
                let w = _mm512_add_epi64(_mm512_rol_epi64::<23>(_mm512_add_epi64(s0, s3)), s0);
                let t = _mm512_slli_epi64::<17>(s1);
                let s2 = _mm512_xor_si512(s2, s0);
                let s3 = _mm512_xor_si512(s3, s1);
                let s1 = _mm512_xor_si512(s1, s2);
                let s0 = _mm512_xor_si512(s0, s3);
                let s2 = _mm512_xor_si512(s2, t);
                let s3 = _mm512_rol_epi64::<45>(s3);
                _mm512_storeu_epi64(n0[r.clone()].as_mut_ptr().cast(), s0);
                _mm512_storeu_epi64(n1[r.clone()].as_mut_ptr().cast(), s1);
                _mm512_storeu_epi64(n2[r.clone()].as_mut_ptr().cast(), s2);
                _mm512_storeu_epi64(n3[r.clone()].as_mut_ptr().cast(), s3);
                let i = _mm512_and_si512(w, mask);
                let bits = _mm512_or_si512(_mm512_srli_epi64::<12>(w), exponent);
                let u = _mm512_sub_pd(_mm512_castsi512_pd(bits), three);
                let x = _mm512_mul_pd(u, _mm512_i64gather_pd::<8>(i, tab.x.as_ptr()));
                let bound = _mm512_i64gather_pd::<8>(i, tab.bound.as_ptr());
                _mm512_storeu_pd(z[r.clone()].as_mut_ptr(), x);
                _mm512_storeu_pd(
                    self.margin[r].as_mut_ptr(),
                    _mm512_sub_pd(_mm512_abs_pd(x), bound),
                );
            }
        }
        // |x| < bound exactly when |x| − bound < 0 (a difference of distinct doubles is never
        // zero). Comparing in a second loop keeps the mask registers the comparisons write away
        // from the gathers' masks, which would otherwise chain one chunk's gathers to the last's.
        let zero = _mm512_setzero_pd();
        for c in 0..chunks {
            // SAFETY: as above.
            let m = unsafe { _mm512_loadu_pd(self.margin[c * 8..c * 8 + 8].as_ptr()) };
            self.reject[c] = !_mm512_cmp_pd_mask::<_CMP_LT_OQ>(m, zero);
        }
        chunks * 8
    }

    /// One standard normal per lane `0..live` into `z`.
    #[inline(always)]
    fn normals(&mut self, z: &mut [f64], live: usize) {
        let bytes = live.div_ceil(8);
        let mut done = 0;
        #[cfg(target_arch = "x86_64")]
        if self.avx512 {
            // SAFETY: `avx512` is set only when the CPU has AVX-512F.
            done = unsafe { self.fast_path_avx512(z, live) };
        }
        // The bytes of the lanes the scalar path draws start clear.
        for b in &mut self.reject[done / 8..bytes] {
            *b = 0;
        }
        self.fast_path_scalar(z, done, live);
        for byte in 0..bytes {
            let mut bits = self.reject[byte];
            while bits != 0 {
                let l = byte * 8 + bits.trailing_zeros() as usize;
                bits &= bits - 1;
                let mut rng = Xoshiro::from_state(self.lane_state(l));
                z[l] = StandardNormal.sample(&mut rng);
                Self::set_state(Self::copies(&mut self.states, self.cur).1, l, rng.state());
            }
        }
        self.cur ^= 1;
    }
}

impl NoiseLanes for XoshiroLanes {
    fn with_width(width: usize, isa: Isa) -> Self {
        let v = || vec![0u64; width];
        XoshiroLanes {
            states: [[v(), v(), v(), v()], [v(), v(), v(), v()]],
            cur: 0,
            z: vec![0.0; width],
            reject: vec![0; width.div_ceil(8)],
            margin: vec![0.0; width],
            len: 0,
            avx512: isa == Isa::Auto && Isa::detected() == "avx512",
        }
    }
    fn clear(&mut self) {
        self.len = 0;
    }
    fn push(&mut self, seed: u64, index: u64, init: &mut dyn FnMut(&mut dyn RngCore)) {
        let mut rng = Xoshiro::new(seed, index);
        init(&mut rng);
        Self::set_state(&mut self.states[self.cur], self.len, rng.state());
        self.len += 1;
    }
    fn swap(&mut self, a: usize, b: usize) {
        for c in &mut self.states[self.cur] {
            c.swap(a, b);
        }
    }
    #[inline(always)]
    fn add_noise(&mut self, buf: &mut [f64], dim: usize, width: usize, live: usize, s: f64) {
        let mut z = std::mem::take(&mut self.z);
        for j in 0..dim {
            self.normals(&mut z, live);
            let row = &mut buf[j * width..j * width + live];
            for (b, z) in row.iter_mut().zip(&z[..live]) {
                *b += s * z;
            }
        }
        self.z = z;
    }
    #[inline(always)]
    fn fill(&mut self, out: &mut [f64], rows: usize, width: usize, live: usize) {
        for r in 0..rows {
            self.normals(&mut out[r * width..(r + 1) * width], live);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The table was read for every layer but the top two.
    #[test]
    fn table_covers_all_but_the_top_two_layers() {
        assert_eq!(ZIGGURAT.fast_layers(), 254);
        assert!(ZIGGURAT.bound[253] > 0.0 && ZIGGURAT.bound[254] < 0.0);
        // Layer 1 starts at the ziggurat's R ≈ 3.654 and the widths decrease.
        assert!((ZIGGURAT.bound[0] - 3.654_152_885).abs() < 1e-8);
        assert!(ZIGGURAT.x.windows(2).take(253).all(|w| w[0] > w[1]));
    }

    /// Every lane's normals are bitwise `StandardNormal` on that lane's stream, including the
    /// draws the fast path rejects (counted: they must occur), for block sizes 1 to 29 (whole AVX-512 chunks and remainders).
    #[test]
    fn lanes_draw_what_standard_normal_draws() {
        let mut rejected = 0;
        for (live, isa) in [1, 2, 7, 13, 16, 29]
            .into_iter()
            .zip([Isa::Auto, Isa::Baseline].into_iter().cycle())
        {
            let mut lanes = XoshiroLanes::with_width(32, isa);
            let mut scalar = Vec::new();
            for l in 0..live {
                lanes.push(5, l as u64, &mut |rng| {
                    rng.next_u64();
                });
                let mut r = Xoshiro::new(5, l as u64);
                r.next_u64();
                scalar.push(r);
            }
            for _ in 0..20_000 {
                let mut z = vec![0.0; 32];
                lanes.normals(&mut z, live);
                rejected += lanes
                    .reject
                    .iter()
                    .map(|b| b.count_ones() as usize)
                    .sum::<usize>();
                for (l, r) in scalar.iter_mut().enumerate() {
                    let want: f64 = StandardNormal.sample(r);
                    assert_eq!(z[l].to_bits(), want.to_bits(), "lane {l} of {live}");
                }
            }
            for (l, r) in scalar.iter().enumerate() {
                assert_eq!(lanes.lane_state(l), r.state());
            }
        }
        // About 1.4 % of the 1,760,000 draws take the slow path.
        assert!((15_000..70_000).contains(&rejected), "{rejected} rejected");
    }
}
