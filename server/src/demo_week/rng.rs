//! The demo's random source: sync-core's seeded [`SplitMix64`] (the same
//! stream on every platform, so the same seed gives the same week), one
//! stream per use of the seed, with the draws the generator needs.

use sync_core::rand::SplitMix64;
use uuid::Uuid;

#[derive(Clone, Debug)]
pub(super) struct Rng(SplitMix64);

impl Rng {
    /// The stream `stream` of `seed` (its first output skipped).
    pub(super) fn new(seed: u64, stream: u64) -> Self {
        let mut r = Rng(SplitMix64::new(
            seed ^ stream.wrapping_mul(0xA076_1D64_78BD_642F),
        ));
        r.next();
        r
    }

    pub(super) fn next(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// Uniform in `[0, 1)`.
    pub(super) fn unit(&mut self) -> f64 {
        self.0.unit()
    }

    pub(super) fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Uniform in `lo..=hi`.
    pub(super) fn range(&mut self, lo: i64, hi: i64) -> i64 {
        let span = (hi - lo + 1) as u64;
        lo + ((u128::from(self.next()) * u128::from(span)) >> 64) as i64
    }

    pub(super) fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.range(0, xs.len() as i64 - 1) as usize]
    }

    pub(super) fn weighted<'a, T>(&mut self, xs: &'a [(T, u32)]) -> &'a T {
        let total: u32 = xs.iter().map(|(_, w)| w).sum();
        let mut x = self.range(0, i64::from(total) - 1) as u32;
        for (v, w) in xs {
            if x < *w {
                return v;
            }
            x -= w;
        }
        &xs[xs.len() - 1].0
    }

    /// A Poisson count (Knuth's method; means here are small).
    pub(super) fn poisson(&mut self, mean: f64) -> u32 {
        if mean <= 0.0 {
            return 0;
        }
        if mean > 30.0 {
            // Normal approximation, for very large scales.
            let u = (self.unit() + self.unit() + self.unit() + self.unit() - 2.0) * 1.732;
            return (mean + u * mean.sqrt()).round().max(0.0) as u32;
        }
        let limit = (-mean).exp();
        let (mut k, mut p) = (0, self.unit());
        while p > limit {
            k += 1;
            p *= self.unit();
        }
        k
    }

    pub(super) fn uuid(&mut self) -> Uuid {
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&self.next().to_le_bytes());
        b[8..].copy_from_slice(&self.next().to_le_bytes());
        uuid::Builder::from_random_bytes(b).into_uuid()
    }

    /// `k` distinct items (or all when fewer).
    pub(super) fn sample<'a>(&mut self, xs: &[&'a str], k: usize) -> Vec<&'a str> {
        let mut pool: Vec<&str> = xs.to_vec();
        let mut out = Vec::new();
        while out.len() < k && !pool.is_empty() {
            let i = self.range(0, pool.len() as i64 - 1) as usize;
            out.push(pool.swap_remove(i));
        }
        out
    }
}
