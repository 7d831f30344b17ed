//! Distances counted in memory bounded by their range, not their number:
//! buckets exact below 2,048 bytes and 1/1,024 of their size wide above
//! (as HdrHistogram's), and, for the sizes asked for, one bin between each
//! two, so that misses there are exact.

/// The significant bits a bucket keeps above 2,048.
const BITS: u32 = 11;
const EXACT_BELOW: u64 = 1 << BITS;
const PER_DOUBLING: u64 = 1 << (BITS - 1);

/// The bucket of a distance `d` in (lower edge, upper edge]: exact below
/// 2,048; above, the upper edges are the numbers of 11 significant bits.
fn bucket(d: u64) -> usize {
    let below = d.saturating_sub(1);
    if below < EXACT_BELOW {
        return below as usize;
    }
    let exponent = 63 - below.leading_zeros();
    let shift = exponent + 1 - BITS;
    let mantissa = below >> shift;
    (EXACT_BELOW + u64::from(exponent - BITS) * PER_DOUBLING + (mantissa - PER_DOUBLING)) as usize
}

/// The largest distance in bucket `index`: its upper edge.
fn upper_edge(index: usize) -> u64 {
    let index = index as u64;
    if index < EXACT_BELOW {
        return index + 1;
    }
    let past = index - EXACT_BELOW;
    let exponent = (past / PER_DOUBLING) as u32 + BITS;
    let mantissa = past % PER_DOUBLING + PER_DOUBLING;
    let shift = exponent + 1 - BITS;
    (u128::from(mantissa + 1) << shift).min(u128::from(u64::MAX)) as u64
}

/// `size` rounded down to a bucket's upper edge: a size the histogram
/// answers exactly.
pub fn representable(size: u64) -> u64 {
    if size == 0 {
        return 0;
    }
    let index = bucket(size);
    if upper_edge(index) == size {
        size
    } else if index == 0 {
        1
    } else {
        upper_edge(index - 1)
    }
}

/// The smallest size at or above `size` that the histogram answers
/// exactly.
pub fn representable_above(size: u64) -> u64 {
    if size == 0 {
        0
    } else {
        upper_edge(bucket(size))
    }
}

/// The smallest size the histogram answers exactly (a bucket's upper
/// edge) at which `meets` holds, searching up to `top` (itself an edge);
/// `None` when it fails at `top`. `meets` must hold at every size above
/// one where it holds, as misses do when a cache grows.
pub fn smallest_meeting(top: u64, meets: impl Fn(u64) -> bool) -> Option<u64> {
    let top = representable_above(top.max(1));
    if !meets(top) {
        return None;
    }
    // Bucket indices are ordered as their edges.
    let (mut low, mut high) = (0usize, bucket(top));
    while low < high {
        let middle = low + (high - low) / 2;
        if meets(upper_edge(middle)) {
            high = middle;
        } else {
            low = middle + 1;
        }
    }
    Some(upper_edge(low))
}

/// The size the histogram answers exactly just below `size`, an edge; 0
/// below the first.
pub fn edge_below(size: u64) -> u64 {
    match bucket(size.max(1)) {
        0 => 0,
        index => upper_edge(index - 1),
    }
}

/// Weighted distances: (requests, bytes) per bucket, and per bin between
/// the sizes asked for.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Distances {
    buckets: Vec<(f64, f64)>,
    /// The sizes asked for, sorted.
    sizes: Vec<u64>,
    /// Bin `j` holds the distances in (sizes[j-1], sizes[j]]; the last,
    /// those above every size.
    bins: Vec<(f64, f64)>,
    /// Sums from each bucket, and each bin, to the end.
    bucket_tails: Vec<(f64, f64)>,
    bin_tails: Vec<(f64, f64)>,
}

impl Distances {
    /// Distances, exact at `sizes` (sorted, distinct) too.
    pub fn new(sizes: &[u64]) -> Distances {
        Distances {
            sizes: sizes.to_vec(),
            bins: vec![(0.0, 0.0); sizes.len() + 1],
            ..Distances::default()
        }
    }

    /// Counts a request of distance `distance` standing for `weight`
    /// requests of `bytes` bytes in all.
    #[inline]
    pub fn add(&mut self, distance: u64, weight: f64, bytes: f64) {
        let index = bucket(distance.max(1));
        if index >= self.buckets.len() {
            self.buckets.resize(index + 1, (0.0, 0.0));
        }
        let slot = &mut self.buckets[index];
        slot.0 += weight;
        slot.1 += bytes;
        if !self.sizes.is_empty() {
            let bin = self.sizes.partition_point(|&size| size < distance);
            let slot = &mut self.bins[bin];
            slot.0 += weight;
            slot.1 += bytes;
        }
    }

    /// Sums the tails; call once, after the last `add`.
    pub fn finish(&mut self) {
        let tails = |counts: &[(f64, f64)]| {
            let mut sum = (0.0, 0.0);
            let mut tails: Vec<(f64, f64)> = counts
                .iter()
                .rev()
                .map(|&(weight, bytes)| {
                    sum = (sum.0 + weight, sum.1 + bytes);
                    sum
                })
                .collect();
            tails.reverse();
            tails
        };
        self.bucket_tails = tails(&self.buckets);
        self.bin_tails = tails(&self.bins);
    }

    /// The weight and bytes of the distances above `size`: exact at the
    /// sizes asked for and at buckets' edges ([`representable`]); between
    /// edges, the bucket that holds `size` counts in proportion.
    pub fn above(&self, size: u64) -> (f64, f64) {
        if let Ok(at) = self.sizes.binary_search(&size) {
            return self.bin_tails.get(at + 1).copied().unwrap_or((0.0, 0.0));
        }
        let index = bucket(size.max(1));
        let past = self
            .bucket_tails
            .get(index + 1)
            .copied()
            .unwrap_or((0.0, 0.0));
        let edge = upper_edge(index);
        if edge == size {
            return past;
        }
        // Part of the bucket lies above `size`.
        let lower = if index == 0 { 0 } else { upper_edge(index - 1) };
        let share = (edge - size) as f64 / (edge - lower) as f64;
        let (weight, bytes) = self.buckets.get(index).copied().unwrap_or((0.0, 0.0));
        (past.0 + weight * share, past.1 + bytes * share)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_exact_below_2048_and_edges_have_11_significant_bits() {
        for d in 1..=2048u64 {
            assert_eq!(upper_edge(bucket(d)), d);
        }
        let mut previous = 0;
        for index in 0..40_000usize {
            let edge = upper_edge(index);
            assert!(edge > previous, "{index}");
            assert_eq!(bucket(edge), index, "{edge}");
            assert_eq!(bucket(edge + 1), index + 1, "{edge}");
            // Buckets no wider than a 1,024th of what they hold.
            assert!((edge - previous) * 1024 <= edge.max(2048), "{index}");
            previous = edge;
        }
        assert_eq!(representable(1 << 20), 1 << 20);
        assert_eq!(representable(1_482_910), 1_482_752);
        assert_eq!(representable(1_500_000), 1_499_136);
    }

    #[test]
    fn counts_above_a_size_are_exact_at_edges_and_asked_sizes() {
        let sizes = [1000, 1_000_003];
        let mut distances = Distances::new(&sizes);
        for d in [5u64, 1000, 1001, 5000, 1_000_003, 1_000_004, 9_999_999] {
            distances.add(d, 1.0, d as f64);
        }
        distances.finish();
        assert_eq!(distances.above(1000).0, 5.0);
        assert_eq!(distances.above(1_000_003).0, 2.0);
        assert_eq!(distances.above(4).0, 7.0);
        assert_eq!(distances.above(5).0, 6.0);
        assert_eq!(representable(5000), 5000);
        assert_eq!(distances.above(5000).0, 3.0);
        assert_eq!(distances.above(1 << 24), (0.0, 0.0));
    }

    #[test]
    fn the_smallest_size_meeting_a_goal_is_the_first_edge_past_its_threshold() {
        // Exact below 2,048: the threshold itself.
        assert_eq!(smallest_meeting(1 << 20, |size| size >= 1500), Some(1500));
        assert_eq!(edge_below(1500), 1499);
        // Above, the first edge at or past it, with the edge before short.
        let found = smallest_meeting(1 << 30, |size| size >= 1_482_910).unwrap();
        assert_eq!(found, 1_483_776);
        assert!(edge_below(found) < 1_482_910);
        assert_eq!(smallest_meeting(1 << 30, |_| true), Some(1));
        assert_eq!(edge_below(1), 0);
        assert_eq!(smallest_meeting(1 << 20, |size| size > 1 << 20), None);
    }
}
