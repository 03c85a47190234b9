//! Random streams. Every random number in samlab comes from a stream derived from (seed, stream
//! index) alone — ChaCha8 keyed by the seed, with the index as its stream number — so that a result
//! never depends on thread count, scheduling or batch width.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// The generator of stream `index` under `seed`.
pub fn stream(seed: u64, index: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(index);
    rng
}
