//! A tiny deterministic PRNG for the workload's choices (xorshift64*): no dependency,
//! reproducible per writer.

/// xorshift64*, seeded per writer.
#[derive(Debug, Clone)]
pub(crate) struct XorShift(u64);

impl XorShift {
    pub(crate) fn seeded(seed: u64) -> Self {
        // Mixed so that small seeds do not give correlated sequences.
        let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03;
        if x == 0 {
            x = 1;
        }
        Self(x)
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform-enough in `0..n` (n > 0).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_choice_covers_every_node() {
        let mut r = XorShift::seeded(1);
        let mut seen = [0u32; 3];
        for _ in 0..3000 {
            seen[r.below(3)] += 1;
        }
        assert!(seen.iter().all(|n| *n > 800), "{seen:?}");
        let (mut a, mut b) = (XorShift::seeded(1), XorShift::seeded(2));
        assert_ne!(
            (0..8).map(|_| a.below(3)).collect::<Vec<_>>(),
            (0..8).map(|_| b.below(3)).collect::<Vec<_>>()
        );
    }
}
