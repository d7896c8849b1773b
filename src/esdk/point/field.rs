//! The square-root exponentiation of [`super::decompress_p384`] on P-384's special form.
//!
//! Why by hand: the exponentiation is 383 squarings in a row, and fiat-crypto's formally
//! verified field arithmetic squares by its general Montgomery multiplication (36 word products
//! for the product, 42 more to reduce it). Here a square takes 21 word products, and the
//! reduction none: p = 2^384 − d with d = 2^128 + 2^96 − 2^32 + 1, so 2^384 ≡ d (mod p) and the
//! high half H of a product folds into the low half L as L + H + H·2^96 + H·2^128 − H·2^32,
//! shifts and additions only. The decompression as a whole takes about a third of the time it
//! took on fiat's arithmetic (BENCHMARKS.md).
//!
//! Nothing here is trusted: the caller keeps a candidate root only when fiat's arithmetic says
//! that its square is the right-hand side, so a wrong result could only send a key to aws-lc's
//! slower decompression, never give a wrong point.
//!
//! Values are plain (not Montgomery) little-endian 64-bit words, below 2^384 but not always
//! below p until [`canonical`].

/// A field value: six little-endian words.
pub type Words = [u64; 6];

/// p = 2^384 − 2^128 − 2^96 + 2^32 − 1, little-endian words.
const P: Words = [
    0x0000_0000_ffff_ffff,
    0xffff_ffff_0000_0000,
    0xffff_ffff_ffff_fffe,
    u64::MAX,
    u64::MAX,
    u64::MAX,
];

/// x^((p+1)/4) mod p, below p: the square root of x when x has one (p ≡ 3 mod 4). (p+1)/4 in
/// binary is 255 ones, a zero, 32 ones, 63 zeros, a one and 30 zeros; the chain builds runs of
/// ones (x_n = x^(2^n − 1)) and shifts them into place.
pub fn sqrt_candidate(x1: &Words) -> Words {
    let x2 = mul(&square_n(x1, 1), x1);
    let x3 = mul(&square_n(&x2, 1), x1);
    let x6 = mul(&square_n(&x3, 3), &x3);
    let x12 = mul(&square_n(&x6, 6), &x6);
    let x15 = mul(&square_n(&x12, 3), &x3);
    let x30 = mul(&square_n(&x15, 15), &x15);
    let x32 = mul(&square_n(&x30, 2), &x2);
    let x60 = mul(&square_n(&x30, 30), &x30);
    let x120 = mul(&square_n(&x60, 60), &x60);
    let x240 = mul(&square_n(&x120, 120), &x120);
    let x255 = mul(&square_n(&x240, 15), &x15);
    // 255 ones, then a zero and 32 ones.
    let r = mul(&square_n(&x255, 33), &x32);
    // 63 zeros and a one.
    let r = mul(&square_n(&r, 64), x1);
    // 30 zeros.
    canonical(&square_n(&r, 30))
}

fn square_n(x: &Words, n: u32) -> Words {
    (0..n).fold(*x, |x, _| square(&x))
}

/// a·b mod p, below 2^384.
fn mul(a: &Words, b: &Words) -> Words {
    let mut t = [0u64; 12];
    for (i, &ai) in a.iter().enumerate() {
        let mut carry = 0u128;
        for (tj, &bj) in t.iter_mut().skip(i).zip(b) {
            // At most (2^64 − 1)² + 2 (2^64 − 1) = 2^128 − 1: no overflow.
            let x = u128::from(ai) * u128::from(bj) + u128::from(*tj) + carry;
            *tj = low(x);
            carry = x >> 64;
        }
        if let Some(top) = t.get_mut(i + 6) {
            *top = low(carry);
        }
    }
    reduce(&t)
}

/// a² mod p, below 2^384: the products a_i·a_j (i < j) once, doubled, plus the squares a_i².
fn square(a: &Words) -> Words {
    let mut t = [0u64; 12];
    for (i, &ai) in a.iter().enumerate() {
        let mut carry = 0u128;
        for (tj, &aj) in t.iter_mut().skip(2 * i + 1).zip(a.iter().skip(i + 1)) {
            let x = u128::from(ai) * u128::from(aj) + u128::from(*tj) + carry;
            *tj = low(x);
            carry = x >> 64;
        }
        if let Some(top) = t.get_mut(i + 6) {
            *top = low(carry);
        }
    }
    let mut carry = 0u128;
    let mut shifted_out = 0u64;
    for (pair, &ai) in t.chunks_exact_mut(2).zip(a) {
        if let [lo, hi] = pair {
            let square = u128::from(ai) * u128::from(ai);
            let twice_lo = (*lo << 1) | shifted_out;
            let twice_hi = (*hi << 1) | (*lo >> 63);
            shifted_out = *hi >> 63;
            let x = u128::from(twice_lo) + u128::from(low(square)) + carry;
            *lo = low(x);
            let y = u128::from(twice_hi) + (square >> 64) + (x >> 64);
            *hi = low(y);
            carry = y >> 64;
        }
    }
    reduce(&t)
}

/// A 768-bit product mod p, below 2^384.
fn reduce(t: &[u64; 12]) -> Words {
    let [l0, l1, l2, l3, l4, l5, h0, h1, h2, h3, h4, h5] = *t;
    // u = L + H·d < 2^384 + 2^513.
    let [u0, u1, u2, u3, u4, u5, u6, u7, u8] = fold(&[l0, l1, l2, l3, l4, l5], &[h0, h1, h2, h3, h4, h5]);
    // Its high part is below 2^130: v < 2^384 + 2^259.
    let [v0, v1, v2, v3, v4, v5, v6, ..] = fold(&[u0, u1, u2, u3, u4, u5], &[u6, u7, u8, 0, 0, 0]);
    // v6 is 0 or 1; when 1, the low part is below 2^259 and adding d cannot carry out.
    let [w0, w1, w2, w3, w4, w5, ..] = fold(&[v0, v1, v2, v3, v4, v5], &[v6, 0, 0, 0, 0, 0]);
    [w0, w1, w2, w3, w4, w5]
}

/// L + H·d = L + H + H·2^96 + H·2^128 − H·2^32, column by column in nine words (never
/// negative: H·2^128 ≥ H·2^32).
fn fold(l: &Words, h: &Words) -> [u64; 9] {
    let [l0, l1, l2, l3, l4, l5] = *l;
    let [h0, h1, h2, h3, h4, h5] = *h;
    // Each column: a word of L, of H, of H·2^96, of H·2^128, minus a word of H·2^32.
    let columns: [[u64; 5]; 9] = [
        [l0, h0, 0, 0, h0 << 32],
        [l1, h1, h0 << 32, 0, (h1 << 32) | (h0 >> 32)],
        [l2, h2, (h1 << 32) | (h0 >> 32), h0, (h2 << 32) | (h1 >> 32)],
        [l3, h3, (h2 << 32) | (h1 >> 32), h1, (h3 << 32) | (h2 >> 32)],
        [l4, h4, (h3 << 32) | (h2 >> 32), h2, (h4 << 32) | (h3 >> 32)],
        [l5, h5, (h4 << 32) | (h3 >> 32), h3, (h5 << 32) | (h4 >> 32)],
        [0, 0, (h5 << 32) | (h4 >> 32), h4, h5 >> 32],
        [0, 0, h5 >> 32, h5, 0],
        [0; 5],
    ];
    let mut out = [0u64; 9];
    let mut carry = 0i128;
    for (word, [l, h, h96, h128, h32]) in out.iter_mut().zip(columns) {
        carry += i128::from(l) + i128::from(h) + i128::from(h96) + i128::from(h128) - i128::from(h32);
        *word = low_signed(carry);
        // An arithmetic shift: the borrow of a negative column moves on as −1.
        carry >>= 64;
    }
    out
}

/// x mod p, for x below 2^384 (< 2p): x − p when that does not borrow, else x.
fn canonical(x: &Words) -> Words {
    let mut less_p = [0u64; 6];
    let mut borrow = 0i128;
    for ((word, &xi), &pi) in less_p.iter_mut().zip(x).zip(&P) {
        borrow += i128::from(xi) - i128::from(pi);
        *word = low_signed(borrow);
        borrow >>= 64;
    }
    if borrow < 0 { *x } else { less_p }
}

/// The low word of a wide value.
#[expect(clippy::cast_possible_truncation, reason = "the low 64 bits are the point")]
const fn low(x: u128) -> u64 {
    x as u64
}

/// The low word of a signed wide value, in two's complement.
#[expect(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "the low 64 bits are the point"
)]
const fn low_signed(x: i128) -> u64 {
    x as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use fiat_crypto::p384_64::{
        fiat_p384_from_montgomery, fiat_p384_montgomery_domain_field_element as Fe, fiat_p384_mul,
        fiat_p384_non_montgomery_domain_field_element as Plain, fiat_p384_square, fiat_p384_to_montgomery,
    };

    /// fiat-crypto's product of a and b, both below p.
    fn fiat_mul(a: &Words, b: &Words) -> Words {
        let (mut am, mut bm, mut product, mut plain) = (Fe([0; 6]), Fe([0; 6]), Fe([0; 6]), Plain([0; 6]));
        fiat_p384_to_montgomery(&mut am, &Plain(*a));
        fiat_p384_to_montgomery(&mut bm, &Plain(*b));
        if a == b {
            fiat_p384_square(&mut product, &am);
        } else {
            fiat_p384_mul(&mut product, &am, &bm);
        }
        fiat_p384_from_montgomery(&mut plain, &product);
        plain.0
    }

    /// Values that stress the carries: the edges of the field and of 2^384, words of all ones
    /// and zeros, and pseudo-random words (xorshift, fixed seed).
    fn values() -> Vec<Words> {
        let mut p_less_1 = P;
        p_less_1[0] -= 1;
        let mut p_plus_1 = P;
        p_plus_1[0] += 1;
        let mut values = vec![
            [0; 6],
            [1, 0, 0, 0, 0, 0],
            [u64::MAX; 6],
            P,
            p_less_1,
            p_plus_1,
            [0, 0, 0, 0, 0, 1 << 63],
        ];
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for i in 0..600 {
            let mut value = [0u64; 6];
            for word in &mut value {
                *word = match (i % 3, next() % 3) {
                    (0, 0) => 0,
                    (0, 1) => u64::MAX,
                    _ => next(),
                };
            }
            values.push(value);
        }
        values
    }

    #[test]
    fn multiplies_and_squares_as_fiat_crypto_does() {
        let values = values();
        for (i, a) in values.iter().enumerate() {
            let want = fiat_mul(&canonical(a), &canonical(a));
            assert_eq!(canonical(&square(a)), want, "{a:x?} squared");
            assert_eq!(canonical(&mul(a, a)), want, "{a:x?} times itself");
            // Each value against a spread of others: about 26,000 pairs.
            for b in values.iter().skip(i % 23).step_by(23) {
                let want = fiat_mul(&canonical(a), &canonical(b));
                assert_eq!(canonical(&mul(a, b)), want, "{a:x?} × {b:x?}");
            }
        }
    }

    #[test]
    fn reduces_below_p_only_what_is_not() {
        let mut p_less_1 = P;
        p_less_1[0] -= 1;
        assert_eq!(canonical(&p_less_1), p_less_1);
        assert_eq!(canonical(&P), [0; 6]);
        assert_eq!(
            canonical(&[u64::MAX; 6]),
            [0xffff_ffff_0000_0000, 0xffff_ffff, 1, 0, 0, 0]
        );
    }

    #[test]
    fn takes_square_roots_of_squares() {
        let mut p_less_1 = P;
        p_less_1[0] -= 1;
        for x in values().iter().map(canonical).filter(|x| *x != [0; 6]).take(200) {
            let square = fiat_mul(&x, &x);
            let root = sqrt_candidate(&square);
            // −x, as fiat-crypto makes it: x · (p − 1).
            let negated = fiat_mul(&x, &p_less_1);
            assert!(root == x || root == negated, "root of {x:x?}² is {root:x?}");
        }
    }
}
