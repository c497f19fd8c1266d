//! Sets of numbers as unions of disjoint intervals, with the integer case, for reasoning
//! about comparisons (`x > 5 and x < 3` leaves no value).

/// One end of an interval; infinite ends are never inclusive.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Bound {
    pub value: f64,
    pub inclusive: bool,
}

/// A non-empty interval `lo..hi`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Interval {
    pub lo: Bound,
    pub hi: Bound,
}

/// Almost every set is one interval, or two around a hole (`x != 3`): kept inline.
type Intervals = smallvec::SmallVec<[Interval; 2]>;

/// A set of values: sorted, disjoint, non-empty intervals. `integral` sets hold only integers.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Set {
    intervals: Intervals,
    integral: bool,
}

const NEG_INF: Bound = Bound {
    value: f64::NEG_INFINITY,
    inclusive: false,
};
const POS_INF: Bound = Bound {
    value: f64::INFINITY,
    inclusive: false,
};

impl Set {
    /// Every value of the domain.
    pub fn full(integral: bool) -> Set {
        Set::from_interval(NEG_INF, POS_INF, integral)
    }

    pub fn empty(integral: bool) -> Set {
        Set {
            intervals: Intervals::new(),
            integral,
        }
    }

    /// `lo..hi`, normalised (empty when it holds no value of the domain).
    pub fn from_interval(lo: Bound, hi: Bound, integral: bool) -> Set {
        let mut set = Set::empty(integral);
        if let Some(iv) = normalize(Interval { lo, hi }, integral) {
            set.intervals.push(iv);
        }
        set
    }

    pub fn at_least(value: f64, inclusive: bool, integral: bool) -> Set {
        Set::from_interval(Bound { value, inclusive }, POS_INF, integral)
    }

    pub fn at_most(value: f64, inclusive: bool, integral: bool) -> Set {
        Set::from_interval(NEG_INF, Bound { value, inclusive }, integral)
    }

    pub fn point(value: f64, integral: bool) -> Set {
        let b = Bound {
            value,
            inclusive: true,
        };
        Set::from_interval(b, b, integral)
    }

    pub fn is_empty(&self) -> bool {
        self.intervals.is_empty()
    }

    #[cfg(test)]
    pub fn is_full(&self) -> bool {
        *self == Set::full(self.integral)
    }

    pub fn intersect(&self, other: &Set) -> Set {
        let integral = self.integral || other.integral;
        let mut out = Set::empty(integral);
        for a in &self.intervals {
            for b in &other.intervals {
                let lo = max_lo(a.lo, b.lo);
                let hi = min_hi(a.hi, b.hi);
                if let Some(iv) = normalize(Interval { lo, hi }, integral) {
                    out.intervals.push(iv);
                }
            }
        }
        out.canonical()
    }

    pub fn complement(&self) -> Set {
        let mut out = Set::empty(self.integral);
        let mut lo = NEG_INF;
        for iv in &self.intervals {
            let hi = Bound {
                value: iv.lo.value,
                inclusive: !iv.lo.inclusive && iv.lo.value.is_finite(),
            };
            if let Some(gap) = normalize(Interval { lo, hi }, self.integral) {
                out.intervals.push(gap);
            }
            lo = Bound {
                value: iv.hi.value,
                inclusive: !iv.hi.inclusive && iv.hi.value.is_finite(),
            };
        }
        if let Some(gap) = normalize(Interval { lo, hi: POS_INF }, self.integral) {
            out.intervals.push(gap);
        }
        out
    }

    #[cfg(test)]
    pub fn union(&self, other: &Set) -> Set {
        self.complement()
            .intersect(&other.complement())
            .complement()
    }

    /// Sorts and merges touching intervals so equal sets compare equal.
    fn canonical(mut self) -> Set {
        self.intervals.sort_by(|a, b| {
            a.lo.value
                .total_cmp(&b.lo.value)
                .then(b.lo.inclusive.cmp(&a.lo.inclusive))
        });
        let mut merged = Intervals::new();
        for iv in self.intervals {
            match merged.last_mut() {
                Some(last) if touches(last.hi, iv.lo, self.integral) => {
                    last.hi = max_hi(last.hi, iv.hi);
                }
                _ => merged.push(iv),
            }
        }
        self.intervals = merged;
        self
    }
}

/// Whether an interval ending at `hi` and one starting at `lo` leave no gap.
fn touches(hi: Bound, lo: Bound, integral: bool) -> bool {
    if integral && hi.value.is_finite() && lo.value.is_finite() {
        return lo.value <= hi.value + 1.0;
    }
    lo.value < hi.value || (lo.value == hi.value && (lo.inclusive || hi.inclusive))
}

fn max_lo(a: Bound, b: Bound) -> Bound {
    if a.value > b.value || (a.value == b.value && !a.inclusive) {
        a
    } else {
        b
    }
}

fn min_hi(a: Bound, b: Bound) -> Bound {
    if a.value < b.value || (a.value == b.value && !a.inclusive) {
        a
    } else {
        b
    }
}

fn max_hi(a: Bound, b: Bound) -> Bound {
    if a.value > b.value || (a.value == b.value && a.inclusive) {
        a
    } else {
        b
    }
}

/// Closes integer intervals on integers and drops empty ones.
fn normalize(iv: Interval, integral: bool) -> Option<Interval> {
    let Interval { mut lo, mut hi } = iv;
    if integral {
        if lo.value.is_finite() {
            let v = if lo.inclusive {
                lo.value.ceil()
            } else {
                lo.value.floor() + 1.0
            };
            lo = Bound {
                value: v,
                inclusive: true,
            };
        }
        if hi.value.is_finite() {
            let v = if hi.inclusive {
                hi.value.floor()
            } else {
                hi.value.ceil() - 1.0
            };
            hi = Bound {
                value: v,
                inclusive: true,
            };
        }
    }
    let non_empty = lo.value < hi.value || (lo.value == hi.value && lo.inclusive && hi.inclusive);
    non_empty.then_some(Interval { lo, hi })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comparisons_that_conflict_leave_nothing() {
        let gt5 = Set::at_least(5.0, false, false);
        let lt3 = Set::at_most(3.0, false, false);
        assert!(gt5.intersect(&lt3).is_empty());
        assert!(gt5.intersect(&Set::at_most(5.0, true, false)).is_empty());
        let ge5 = Set::at_least(5.0, true, false);
        assert_eq!(
            ge5.intersect(&Set::at_most(5.0, true, false)),
            Set::point(5.0, false)
        );
    }

    #[test]
    fn integers_have_no_values_between_neighbours() {
        let gt3 = Set::at_least(3.0, false, true);
        let lt4 = Set::at_most(4.0, false, true);
        assert!(gt3.intersect(&lt4).is_empty());
        let lt4_real = Set::at_most(4.0, false, false);
        assert!(
            !Set::at_least(3.0, false, false)
                .intersect(&lt4_real)
                .is_empty()
        );
    }

    #[test]
    fn complements_and_unions_cover_the_line() {
        let lt5 = Set::at_most(5.0, false, false);
        let ge3 = Set::at_least(3.0, true, false);
        assert!(lt5.union(&ge3).is_full());
        assert!(lt5.union(&lt5.complement()).is_full());
        assert!(lt5.intersect(&lt5.complement()).is_empty());
        let ne3 = Set::point(3.0, true).complement();
        let ne4 = Set::point(4.0, true).complement();
        assert!(ne3.union(&ne4).is_full());
        assert!(!ne3.intersect(&ne4).is_full());
        let le5 = Set::at_most(5.0, true, false);
        let gt5 = Set::at_least(5.0, false, false);
        assert!(le5.union(&gt5).is_full());
        assert!(!Set::at_most(5.0, false, false).union(&gt5).is_full());
    }
}
