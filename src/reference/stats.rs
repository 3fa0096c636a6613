//! Descriptive statistics of a sample, with the quantile method stated.

/// The quantile method of every quartile and median kerma reports.
///
/// For a sorted sample x₁ ≤ … ≤ xₙ and a probability p, h = (n − 1)·p; the quantile is
/// x at ⌊h⌋ plus the fraction h − ⌊h⌋ of the gap to the next value (indices from 0). This is
/// Hyndman and Fan's definition 7, the default of numpy (`method="linear"`) and R, and the
/// spreadsheet functions `PERCENTILE.INC` / `QUARTILE.INC`.
pub(crate) const QUANTILE_METHOD: &str = "linear interpolation between order statistics (Hyndman-Fan type 7; numpy 'linear', R type 7, spreadsheet PERCENTILE.INC/QUARTILE.INC)";

/// n, mean, min, quartiles and max of a non-empty sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Summary {
    pub(crate) n: usize,
    pub(crate) mean: f64,
    pub(crate) min: f64,
    pub(crate) q1: f64,
    pub(crate) median: f64,
    pub(crate) q3: f64,
    pub(crate) max: f64,
}

impl Summary {
    /// Statistics of `values` (finite numbers), or `None` for an empty sample. The order of
    /// the input does not matter: values are sorted first, and summed in sorted order.
    pub(crate) fn of(values: &[f64]) -> Option<Summary> {
        let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        let n = v.len();
        let mean = v.iter().sum::<f64>() / n as f64;
        Some(Summary {
            n,
            mean,
            min: v[0],
            q1: quantile_sorted(&v, 0.25),
            median: quantile_sorted(&v, 0.5),
            q3: quantile_sorted(&v, 0.75),
            max: v[n - 1],
        })
    }
}

/// Type 7 quantile of a sorted, non-empty slice; `p` in [0, 1].
fn quantile_sorted(v: &[f64], p: f64) -> f64 {
    let n = v.len();
    if n == 0 {
        return f64::NAN;
    }
    let h = (n - 1) as f64 * p.clamp(0.0, 1.0);
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(n - 1);
    let frac = h - lo as f64;
    let (a, b) = (v[lo], v[hi]);
    if frac == 0.0 || a == b {
        a
    } else {
        a + frac * (b - a)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * (1.0 + a.abs().max(b.abs()))
    }

    /// Expected values computed independently with Python's
    /// `statistics.quantiles(x, n=4, method="inclusive")`, which is the same definition as
    /// numpy's default and QUARTILE.INC.
    #[test]
    fn known_quartiles() {
        // [1,2,3,4]: h = 0.75, 1.5, 2.25 -> 1.75, 2.5, 3.25
        let s = Summary::of(&[4.0, 1.0, 3.0, 2.0]).unwrap();
        assert_eq!((s.q1, s.median, s.q3), (1.75, 2.5, 3.25));
        assert_eq!((s.min, s.max, s.mean, s.n), (1.0, 4.0, 2.5, 4));
        // [1..=5]: 2, 3, 4
        let s = Summary::of(&[5.0, 3.0, 1.0, 2.0, 4.0]).unwrap();
        assert_eq!((s.q1, s.median, s.q3), (2.0, 3.0, 4.0));
        // [7, 15, 36, 39, 40, 41]: h = 1.25, 2.5, 3.75 -> 20.25, 37.5, 39.75
        let s = Summary::of(&[7.0, 15.0, 36.0, 39.0, 40.0, 41.0]).unwrap();
        assert!(close(s.q1, 20.25) && close(s.median, 37.5) && close(s.q3, 39.75));
        assert!(close(s.mean, 178.0 / 6.0));
        // [10, 20, 30]: 15, 20, 25
        let s = Summary::of(&[30.0, 10.0, 20.0]).unwrap();
        assert_eq!((s.q1, s.median, s.q3), (15.0, 20.0, 25.0));
        // one value
        let s = Summary::of(&[42.0]).unwrap();
        assert_eq!(
            (s.min, s.q1, s.median, s.q3, s.max),
            (42.0, 42.0, 42.0, 42.0, 42.0)
        );
        // 2.2, 3.1, 4.0, 5.5, 6.1, 8.9, 12.0: h = 1.5, 3, 4.5 -> 3.55, 5.5, 7.5
        let s = Summary::of(&[12.0, 2.2, 8.9, 3.1, 6.1, 4.0, 5.5]).unwrap();
        assert!(
            close(s.q1, 3.55) && close(s.median, 5.5) && close(s.q3, 7.5),
            "{s:?}"
        );
        assert!(Summary::of(&[]).is_none());
    }

    proptest! {
        #[test]
        fn order_statistics_are_ordered(mut v in prop::collection::vec(0.0f64..1e6, 1..60)) {
            let s = Summary::of(&v).unwrap();
            prop_assert!(s.min <= s.q1 && s.q1 <= s.median && s.median <= s.q3 && s.q3 <= s.max);
            prop_assert!(s.min <= s.mean * (1.0 + 1e-12) && s.mean <= s.max * (1.0 + 1e-12));
            prop_assert_eq!(s.n, v.len());
            v.reverse();
            prop_assert_eq!(Summary::of(&v).unwrap(), s);
        }

        #[test]
        fn permutation_invariant(v in prop::collection::vec(0.0f64..1e4, 1..40), seed in any::<u64>()) {
            let mut w = v.clone();
            // a deterministic shuffle from the seed
            let mut x = seed | 1;
            for i in (1..w.len()).rev() {
                x ^= x << 13; x ^= x >> 7; x ^= x << 17;
                w.swap(i, (x % (i as u64 + 1)) as usize);
            }
            prop_assert_eq!(Summary::of(&v), Summary::of(&w));
        }
    }
}
