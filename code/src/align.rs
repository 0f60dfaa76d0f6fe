//! Rounding addresses and sizes to an alignment.
//!
//! Every alignment in Rust is a power of two (`Layout` guarantees it), and for
//! a power of two `align`, the multiples of `align` are exactly the numbers
//! whose low `log2(align)` bits are zero. So rounding *down* is one mask, and
//! rounding *up* is an add and a mask.
//!
//! The add is where allocators go wrong: `(addr + align - 1) & !(align - 1)`
//! wraps around near `usize::MAX` and returns a small number, and an allocator
//! that trusts it hands out memory it does not own. [`align_up`] uses checked
//! arithmetic and returns `None` instead.

// ANCHOR: align_up
/// Rounds `addr` up to the next multiple of `align`, or returns `None` if the
/// result does not fit in a `usize` or `align` is not a power of two.
///
/// ```
/// use allocators::align::align_up;
/// assert_eq!(align_up(13, 8), Some(16));
/// assert_eq!(align_up(16, 8), Some(16));
/// assert_eq!(align_up(usize::MAX, 8), None); // would wrap around to 0
/// ```
#[inline]
pub const fn align_up(addr: usize, align: usize) -> Option<usize> {
    if !align.is_power_of_two() {
        return None;
    }
    let mask = align - 1; // cannot underflow: a power of two is at least 1
    match addr.checked_add(mask) {
        Some(bumped) => Some(bumped & !mask),
        None => None,
    }
}
// ANCHOR_END: align_up

// ANCHOR: align_down
/// Rounds `addr` down to a multiple of `align`, which must be a power of two.
///
/// Rounding down cannot overflow, so this needs no `Option`: it is one mask.
/// For an `align` that is not a power of two the result is meaningless (but
/// never undefined behaviour); debug builds catch that mistake.
#[inline]
pub const fn align_down(addr: usize, align: usize) -> usize {
    // A const fn cannot format a value into its panic message.
    debug_assert!(
        align.is_power_of_two(),
        "align_down: align is not a power of two"
    );
    addr & !align.wrapping_sub(1)
}
// ANCHOR_END: align_down

/// Returns `true` if `addr` is a multiple of `align` (a power of two).
#[inline]
pub const fn is_aligned(addr: usize, align: usize) -> bool {
    // A const fn cannot format a value into its panic message.
    debug_assert!(
        align.is_power_of_two(),
        "is_aligned: align is not a power of two"
    );
    addr & align.wrapping_sub(1) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_values() {
        assert_eq!(align_up(0, 1), Some(0));
        assert_eq!(align_up(0, 4096), Some(0));
        assert_eq!(align_up(1, 1), Some(1));
        assert_eq!(align_up(1, 2), Some(2));
        assert_eq!(align_up(7, 8), Some(8));
        assert_eq!(align_up(8, 8), Some(8));
        assert_eq!(align_up(9, 8), Some(16));
        assert_eq!(align_down(9, 8), 8);
        assert_eq!(align_down(7, 8), 0);
        assert!(is_aligned(4096, 4096));
        assert!(!is_aligned(4097, 2));
    }

    #[test]
    fn every_alignment_up_to_a_page_and_beyond() {
        // 1 ..= 2^20 covers every alignment up to (and well past) any page size.
        for shift in 0..=20 {
            let align = 1usize << shift;
            for addr in [0, 1, align - 1, align, align + 1, 3 * align - 1, 12345] {
                let up = align_up(addr, align).expect("small values cannot overflow");
                assert!(is_aligned(up, align));
                assert!(
                    up >= addr && up - addr < align,
                    "{addr} -> {up} for {align}"
                );
                let down = align_down(addr, align);
                assert!(is_aligned(down, align));
                assert!(down <= addr && addr - down < align);
            }
        }
    }

    #[test]
    fn near_the_top_of_the_address_space() {
        // The largest multiple of 8 still rounds to itself.
        let top8 = usize::MAX & !7;
        assert_eq!(align_up(top8, 8), Some(top8));
        // One past it has nowhere to go.
        assert_eq!(align_up(top8 + 1, 8), None);
        assert_eq!(align_up(usize::MAX, 2), None);
        assert_eq!(align_up(usize::MAX, 1), Some(usize::MAX));
        // The largest alignment a usize can express.
        let huge = 1usize << (usize::BITS - 1);
        assert_eq!(align_up(1, huge), Some(huge));
        assert_eq!(align_up(huge, huge), Some(huge));
        assert_eq!(align_up(huge + 1, huge), None);
        for shift in 1..usize::BITS {
            let align = 1usize << shift;
            let last_multiple = usize::MAX - (align - 1);
            assert_eq!(align_up(last_multiple, align), Some(last_multiple));
            assert_eq!(align_up(last_multiple + 1, align), None);
            assert_eq!(align_down(usize::MAX, align), last_multiple);
        }
    }

    #[test]
    fn alignments_that_are_not_powers_of_two_are_refused() {
        assert_eq!(align_up(5, 0), None);
        assert_eq!(align_up(5, 3), None);
        assert_eq!(align_up(5, 24), None);
    }
}
