//! Statistics exactly as SPEC §4 defines them: nearest-rank percentiles and plain means.
//!
//! Ranks are computed in integers (`ceil(p·n / 100)`), never through floats: `0.9 * n` in
//! floating point can land a hair above a whole number and `ceil` would then skip a rank.

/// The nearest-rank `percent`-th percentile of `sorted` (ascending): the value at rank
/// `ceil(percent/100 · n)`, 1-based, at least rank 1. `None` for no values.
///
/// The median is `nearest_rank(values, 50)`: for an even count the lower middle value, never an
/// average — so it is always a length that really occurred.
pub fn nearest_rank(sorted: &[i64], percent: u32) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let n = sorted.len() as u64;
    let rank = (u64::from(percent) * n).div_ceil(100).clamp(1, n);
    usize::try_from(rank - 1)
        .ok()
        .and_then(|i| sorted.get(i))
        .copied()
}

/// The arithmetic mean; `None` for no values.
pub fn mean(values: &[i64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let sum: i128 = values.iter().map(|&v| i128::from(v)).sum();
    Some(sum as f64 / values.len() as f64)
}

/// `part / whole` as a share in [0, 1]; `None` when `whole` is 0.
pub(crate) fn share(part: usize, whole: usize) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_on_ten_values() {
        let v = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
        // median: ceil(0.5·10) = 5 → 5; p90: ceil(0.9·10) = 9 → 9; p100 → 10; p1 → rank 1.
        assert_eq!(nearest_rank(&v, 50), Some(5));
        assert_eq!(nearest_rank(&v, 90), Some(9));
        assert_eq!(nearest_rank(&v, 100), Some(10));
        assert_eq!(nearest_rank(&v, 1), Some(1));
        assert_eq!(nearest_rank(&v, 0), Some(1));
        assert_eq!(nearest_rank(&[], 50), None);
    }

    #[test]
    fn nearest_rank_odd_and_small_counts() {
        // n = 1: every percentile is the value.
        assert_eq!(nearest_rank(&[7], 50), Some(7));
        assert_eq!(nearest_rank(&[7], 90), Some(7));
        // n = 3: median rank ceil(1.5) = 2; p90 rank ceil(2.7) = 3.
        assert_eq!(nearest_rank(&[1, 5, 9], 50), Some(5));
        assert_eq!(nearest_rank(&[1, 5, 9], 90), Some(9));
        // n = 11: p90 rank ceil(9.9) = 10; median rank ceil(5.5) = 6.
        let v: Vec<i64> = (1..=11).collect();
        assert_eq!(nearest_rank(&v, 90), Some(10));
        assert_eq!(nearest_rank(&v, 50), Some(6));
        // n = 20: p90 rank exactly 18 (a float 0.9·20 must not push it to 19).
        let v: Vec<i64> = (1..=20).collect();
        assert_eq!(nearest_rank(&v, 90), Some(18));
    }

    #[test]
    fn means_and_shares() {
        assert_eq!(mean(&[1, 2]), Some(1.5));
        assert_eq!(mean(&[]), None);
        assert_eq!(share(1, 4), Some(0.25));
        assert_eq!(share(0, 0), None);
    }
}
