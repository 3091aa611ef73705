//! A seeded random source for generated data and tests: SplitMix64 (Steele,
//! Lea and Flood, 2014), small and the same stream on every platform,
//! native or wasm32. Shared by the demo generator and the tests so that one
//! seed replays one run everywhere.
//!
//! Nothing here reads entropy or a clock: the caller chooses the seed, so
//! sync-core still draws no randomness of its own, and its merges never
//! use this.

/// SplitMix64: a 64-bit state advanced by a constant and mixed on output.
/// Not for secrets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator whose state starts at `seed`.
    pub const fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// `next_u64() % n` (a slight bias toward small values, which scripts
    /// do not mind); `n` of 0 counts as 1.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// Uniform in `[0, 1)`, from the top 53 bits.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stream_is_the_published_one() {
        // The first outputs of SplitMix64 seeded with 1234567 (the reference
        // implementation's test vector).
        let mut r = SplitMix64::new(1_234_567);
        assert_eq!(
            [r.next_u64(), r.next_u64(), r.next_u64()],
            [
                6_457_827_717_110_365_317,
                3_203_168_211_198_807_973,
                9_817_491_932_198_370_423
            ]
        );
        let mut r = SplitMix64::new(7);
        for _ in 0..1000 {
            assert!(r.below(6) < 6);
            assert!((0.0..1.0).contains(&r.unit()));
        }
        assert_eq!(SplitMix64::new(0).below(0), 0);
    }
}
