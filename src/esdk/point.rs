//! The P-384 public key of signed suites, from the compressed point DAS sends to the
//! uncompressed point the signature check reads.
//!
//! Why by hand: aws-lc decompresses a point with its generic big-number square root (a fresh
//! Montgomery context and a windowed exponentiation on every call), about a sixth of a signed
//! record's time (BENCHMARKS.md). The square root here is the one exponentiation
//! y = (x³ − 3x + b)^((p+1)/4) (p ≡ 3 mod 4) as a fixed chain of 383 squarings and 13
//! multiplications on P-384's special form ([`field`]): about 15 µs, against 28–44 µs for
//! aws-lc's and 41 µs for the same chain on fiat-crypto's general arithmetic. The rest, and the
//! check that y² is x³ − 3x + b, is fiat-crypto's formally verified P-384 field arithmetic.
//! Nothing is trusted that aws-lc would not check: the result is a candidate that aws-lc parses
//! and validates as a point on the curve (in [`p384_check`]) before a signature is checked with
//! it, and anything this module does not decompress (another length or form, x ≥ p, no square
//! root) is handed to aws-lc as it came, which then decides as before.
//!
//! Sources: SEC 1 v2 §2.3.4 (octet string to point), FIPS 186-5 / SP 800-186 §3.2.1.4 (P-384's
//! p and b).

mod field;

use aws_lc_rs::signature::{ECDSA_P384_SHA384_ASN1, EcdsaVerificationAlgorithm};
use fiat_crypto::p384_64::{
    fiat_p384_add, fiat_p384_from_bytes, fiat_p384_from_montgomery,
    fiat_p384_montgomery_domain_field_element as Fe, fiat_p384_mul,
    fiat_p384_non_montgomery_domain_field_element as Plain, fiat_p384_opp, fiat_p384_square, fiat_p384_sub,
    fiat_p384_to_bytes, fiat_p384_to_montgomery,
};

/// Bytes of a coordinate.
const COORDINATE: usize = 48;

/// Bytes of a compressed point: 0x02 or 0x03, then x.
pub const COMPRESSED_LEN: usize = 1 + COORDINATE;

/// Bytes of an uncompressed point: 0x04, then x and y.
pub const UNCOMPRESSED_LEN: usize = 1 + 2 * COORDINATE;

/// p = 2^384 − 2^128 − 2^96 + 2^32 − 1, big-endian.
const P: [u8; COORDINATE] = [
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 0xff, 0xff,
    0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff,
];

/// The curve's b, big-endian (a = −3).
const B: [u8; COORDINATE] = [
    0xb3, 0x31, 0x2f, 0xa7, 0xe2, 0x3e, 0xe7, 0xe4, 0x98, 0x8e, 0x05, 0x6b, 0xe3, 0xf8, 0x2d, 0x19, 0x18,
    0x1d, 0x9c, 0x6e, 0xfe, 0x81, 0x41, 0x12, 0x03, 0x14, 0x08, 0x8f, 0x50, 0x13, 0x87, 0x5a, 0xc6, 0x56,
    0x39, 0x8d, 0x8a, 0x2e, 0xd1, 0x9d, 0x2a, 0x85, 0xc8, 0xed, 0xd3, 0xec, 0x2a, 0xef,
];

/// The uncompressed form (0x04 ‖ x ‖ y) of a compressed P-384 point (0x02 or 0x03 ‖ x), or
/// `None` when `compressed` is not one whose x is a field element with a square root on the
/// right-hand side. The result is a candidate: the caller's point parser still checks that it
/// lies on the curve.
pub fn decompress_p384(compressed: &[u8]) -> Option<[u8; UNCOMPRESSED_LEN]> {
    let (&prefix, x_be) = compressed.split_first()?;
    if compressed.len() != COMPRESSED_LEN || !matches!(prefix, 0x02 | 0x03) {
        return None;
    }
    let x_be: &[u8; COORDINATE] = x_be.try_into().ok()?;
    // x must be a field element: fiat's conversions require inputs below p. Big-endian arrays
    // of one length compare as the numbers do.
    if x_be >= &P {
        return None;
    }
    let x = to_field(x_be);
    // x³ − 3x + b
    let x3 = mul(&square(&x), &x);
    let three_x = add(&add(&x, &x), &x);
    let rhs = add(&sub(&x3, &three_x), &to_field(&B));
    let root = field::sqrt_candidate(&to_plain(&rhs).0);
    // Below p, as fiat's conversion requires.
    let mut y = apply(|out| fiat_p384_to_montgomery(out, &Plain(root)));
    // Field elements are kept reduced, so equal values have equal words.
    if square(&y).0 != rhs.0 {
        return None;
    }
    let want_odd = prefix == 0x03;
    if is_odd(&y) != want_odd {
        y = opp(&y);
        // y = 0 is its own negative: it has no odd form.
        if is_odd(&y) != want_odd {
            return None;
        }
    }
    let bytes = std::iter::once(0x04)
        .chain(x_be.iter().copied())
        .chain(to_be_bytes(&y));
    let mut out = [0u8; UNCOMPRESSED_LEN];
    for (slot, byte) in out.iter_mut().zip(bytes) {
        *slot = byte;
    }
    Some(out)
}

/// The uncompressed key of a P-384 `algorithm` whose `public_key` is a compressed point this
/// module decompresses (every signed DAS message's), for [`p384_check`]; `None` for any other
/// curve, form or length, which the caller leaves to aws-lc-rs to decide.
pub fn p384_key(algorithm: &EcdsaVerificationAlgorithm, public_key: &[u8]) -> Option<[u8; UNCOMPRESSED_LEN]> {
    (*algorithm == ECDSA_P384_SHA384_ASN1)
        .then(|| decompress_p384(public_key))
        .flatten()
}

fn to_field(be: &[u8; COORDINATE]) -> Fe {
    let mut le = *be;
    le.reverse();
    let mut words = [0u64; 6];
    fiat_p384_from_bytes(&mut words, &le);
    apply(|out| fiat_p384_to_montgomery(out, &Plain(words)))
}

fn to_plain(x: &Fe) -> Plain {
    let mut out = Plain([0; 6]);
    fiat_p384_from_montgomery(&mut out, x);
    out
}

fn to_be_bytes(x: &Fe) -> [u8; COORDINATE] {
    let mut out = [0u8; COORDINATE];
    fiat_p384_to_bytes(&mut out, &to_plain(x).0);
    out.reverse();
    out
}

fn is_odd(x: &Fe) -> bool {
    to_plain(x).0[0] & 1 == 1
}

/// A fresh element written by one of fiat's operations.
fn apply(op: impl FnOnce(&mut Fe)) -> Fe {
    let mut out = Fe([0; 6]);
    op(&mut out);
    out
}

fn mul(a: &Fe, b: &Fe) -> Fe {
    apply(|out| fiat_p384_mul(out, a, b))
}

fn square(a: &Fe) -> Fe {
    apply(|out| fiat_p384_square(out, a))
}

fn add(a: &Fe, b: &Fe) -> Fe {
    apply(|out| fiat_p384_add(out, a, b))
}

fn sub(a: &Fe, b: &Fe) -> Fe {
    apply(|out| fiat_p384_sub(out, a, b))
}

fn opp(a: &Fe) -> Fe {
    apply(|out| fiat_p384_opp(out, a))
}

#[cfg(test)]
mod tests {
    use super::*;
    use p384::elliptic_curve::sec1::{FromSec1Point, ToSec1Point};
    use p384::{AffinePoint, ProjectivePoint, Scalar, Sec1Point};

    /// The compressed and uncompressed encodings of k·G, by RustCrypto's p384.
    fn encodings(k: u64) -> (Vec<u8>, Vec<u8>) {
        let point = (ProjectivePoint::GENERATOR * Scalar::from(k)).to_affine();
        (
            point.to_sec1_point(true).as_bytes().to_vec(),
            point.to_sec1_point(false).as_bytes().to_vec(),
        )
    }

    #[test]
    fn decompresses_as_an_independent_implementation_does() {
        // Both parities come up among these multiples of the generator.
        let mut parities = [0usize; 2];
        for k in (1..=200u64).chain([u64::MAX, 0x1234_5678_9abc_def0]) {
            let (compressed, uncompressed) = encodings(k);
            parities[usize::from(compressed[0] & 1)] += 1;
            let ours = decompress_p384(&compressed).unwrap();
            assert_eq!(ours.as_slice(), uncompressed.as_slice(), "k = {k}");
        }
        assert!(parities[0] > 0 && parities[1] > 0, "{parities:?}");
    }

    #[test]
    fn gives_points_that_the_curve_holds() {
        let (compressed, _) = encodings(7);
        let ours = decompress_p384(&compressed).unwrap();
        let point = Sec1Point::from_bytes(ours).unwrap();
        assert!(bool::from(AffinePoint::from_sec1_point(&point).is_some()));
    }

    #[test]
    fn leaves_other_lengths_and_forms_to_the_point_parser() {
        let (compressed, uncompressed) = encodings(3);
        assert_eq!(decompress_p384(&uncompressed), None);
        assert_eq!(decompress_p384(&compressed[..COMPRESSED_LEN - 1]), None);
        assert_eq!(decompress_p384(&[compressed.as_slice(), &[0]].concat()), None);
        assert_eq!(decompress_p384(&[]), None);
        for prefix in [0x00, 0x01, 0x04, 0x05, 0xff] {
            let mut odd_form = compressed.clone();
            odd_form[0] = prefix;
            assert_eq!(decompress_p384(&odd_form), None, "prefix {prefix:#04x}");
        }
        // A compressed P-256 point is 33 bytes.
        assert_eq!(decompress_p384(&compressed[..33]), None);
    }

    #[test]
    fn decompresses_only_for_p384_signatures() {
        use aws_lc_rs::signature::ECDSA_P256_SHA256_ASN1;
        let (compressed, uncompressed) = encodings(5);
        assert_eq!(
            p384_key(&ECDSA_P384_SHA384_ASN1, &compressed).map(|key| key.to_vec()),
            Some(uncompressed.clone())
        );
        assert_eq!(p384_key(&ECDSA_P256_SHA256_ASN1, &compressed), None);
        assert_eq!(p384_key(&ECDSA_P384_SHA384_ASN1, &uncompressed), None);
    }

    /// The uncompressed form of `point` by RustCrypto's p384, if it decodes.
    fn theirs(point: &[u8]) -> Option<Vec<u8>> {
        let point = Sec1Point::from_bytes(point).ok()?;
        let affine = Option::<AffinePoint>::from(AffinePoint::from_sec1_point(&point))?;
        Some(affine.to_sec1_point(false).as_bytes().to_vec())
    }

    #[test]
    fn rejects_x_outside_the_field() {
        for x in [P, [0xff; COORDINATE]] {
            let point = [[0x02].as_slice(), &x].concat();
            assert_eq!(decompress_p384(&point), None);
        }
        // p − 1 is the largest field element: decided by the square root, as RustCrypto does.
        let mut largest = P;
        largest[COORDINATE - 1] -= 1;
        for prefix in [0x02, 0x03] {
            let point = [[prefix].as_slice(), &largest].concat();
            assert_eq!(decompress_p384(&point).map(|p| p.to_vec()), theirs(&point));
        }
    }

    #[test]
    fn rejects_x_without_a_point() {
        // About half of all x have no y.
        let mut rejected = 0;
        for last in 0..=40u8 {
            let mut x = [0u8; COORDINATE];
            x[COORDINATE - 1] = last;
            for prefix in [0x02, 0x03] {
                let point = [[prefix].as_slice(), &x].concat();
                let ours = decompress_p384(&point);
                assert_eq!(ours.map(|p| p.to_vec()), theirs(&point), "x = {last}");
                rejected += usize::from(ours.is_none());
            }
        }
        assert!(rejected > 10, "{rejected} of 82 rejected");
    }
}
