//! ECDSA P-384 signature checks (a SHA-384 digest, a DER signature, an uncompressed public key):
//! the check aws-lc's `ECDSA_verify` makes, without the cost of its scalar inversion.
//!
//! Why by hand: aws-lc inverts s modulo the group order with a constant-time Fermat
//! exponentiation on its generic six-word Montgomery product, about 28 µs of its 209 µs check on
//! the machine BENCHMARKS.md describes; RustCrypto's p384 inverts in about 7 µs (Bernstein–Yang,
//! in variable time, which suits a check: everything it reads is public). No maintained crate
//! offers a faster check as a whole: ring's and RustCrypto's take 3.6 and 4.0 times aws-lc's.
//!
//! The check is aws-lc's `ecdsa_do_verify_no_self_test`, step by step, with aws-lc doing all
//! but the scalar arithmetic:
//! 1. the signature is read by aws-lc's strict DER parser and must re-encode to the same bytes
//!    (`ECDSA_SIG_from_bytes`, `ECDSA_SIG_to_bytes`, as `ECDSA_verify` does); r and s must lie
//!    in [1, n − 1];
//! 2. the public key, uncompressed (0x04 ‖ x ‖ y) only, is read and checked to be on the curve
//!    by aws-lc (`EC_POINT_oct2point`);
//! 3. e is the digest as a number modulo n (a SHA-384 digest has the order's 384 bits, so
//!    nothing is truncated); w = s⁻¹, u1 = e·w and u2 = r·w modulo n, by p384;
//! 4. R = u1·G + u2·Q, and the test that R is not at infinity and x(R) mod n = r, are aws-lc's
//!    `ec_point_mul_scalar_public` and `ec_cmp_x_coordinate`: the calls `ECDSA_do_verify` makes.
//!
//! The two calls of step 4 are aws-lc internals, absent from aws-lc-sys's bindings. They are
//! declared here under the symbol prefix of the pinned aws-lc-sys (0.47.0) and with the layouts
//! of its `crypto/fipsmodule/ec/internal.h` (`EC_SCALAR`, `EC_FELEM`, `EC_JACOBIAN`,
//! `struct ec_point_st`) for 64-bit words. The tests compare every verdict with aws-lc-rs's own
//! check. With das-partitioner's libdeflate-ex, this is the workspace's `unsafe` code; the
//! product crate forbids `unsafe`.
//!
//! Sources: SEC 1 v2 §4.1.4 (verification), FIPS 186-5 §6.4.2.

use std::ffi::c_int;
use std::ptr::{NonNull, null, null_mut};

use aws_lc_sys as lc;
use p384::elliptic_curve::ff::PrimeField;
use p384::elliptic_curve::ops::Reduce;
use p384::{FieldBytes, Scalar};

/// Bytes of a SHA-384 digest, and of a P-384 scalar or coordinate.
pub const DIGEST_LEN: usize = 48;

/// Bytes of an uncompressed P-384 point: 0x04, then x and y.
pub const UNCOMPRESSED_LEN: usize = 1 + 2 * DIGEST_LEN;

/// aws-lc's `EC_MAX_WORDS`: the words of a P-521 element (66 bytes), which every scalar and field
/// element struct holds whatever its curve.
const EC_MAX_WORDS: usize = 9;

/// The words of a P-384 scalar: aws-lc reads only these, and the rest stay zero.
const P384_WORDS: usize = 6;

const _: () = assert!(
    size_of::<lc::BN_ULONG>() == 8,
    "the layouts below are aws-lc's with 64-bit words"
);

/// `EC_SCALAR`: a number fully reduced modulo the order, little-endian words.
#[repr(C)]
#[allow(dead_code, reason = "written and read by aws-lc")]
struct EcScalar {
    words: [lc::BN_ULONG; EC_MAX_WORDS],
}

/// `EC_FELEM`: a field element in the group's own representation.
#[repr(C)]
#[derive(Default)]
#[allow(dead_code, reason = "written and read by aws-lc")]
struct EcFelem {
    words: [lc::BN_ULONG; EC_MAX_WORDS],
}

/// `EC_JACOBIAN`: (X/Z², Y/Z³), or the point at infinity when Z = 0.
#[repr(C)]
#[derive(Default)]
#[allow(dead_code, reason = "written and read by aws-lc")]
struct EcJacobian {
    x: EcFelem,
    y: EcFelem,
    z: EcFelem,
}

/// `struct ec_point_st`, behind the opaque `EC_POINT`.
#[repr(C)]
#[allow(dead_code, reason = "written and read by aws-lc")]
struct EcPoint {
    group: *mut lc::EC_GROUP,
    raw: EcJacobian,
}

unsafe extern "C" {
    /// Sets `r` to g_scalar·G + p_scalar·p, in variable time; returns 1 (0 only on null inputs).
    #[link_name = "aws_lc_0_47_0_ec_point_mul_scalar_public"]
    fn ec_point_mul_scalar_public(
        group: *const lc::EC_GROUP,
        r: *mut EcJacobian,
        g_scalar: *const EcScalar,
        p: *const EcJacobian,
        p_scalar: *const EcScalar,
    ) -> c_int;

    /// 1 when `p` is not at infinity and its affine x modulo the order is `r`, else 0.
    #[link_name = "aws_lc_0_47_0_ec_cmp_x_coordinate"]
    fn ec_cmp_x_coordinate(group: *const lc::EC_GROUP, p: *const EcJacobian, r: *const EcScalar) -> c_int;
}

/// Whether `signature` (DER, as ESDK footers carry it) is a valid ECDSA signature by
/// `public_key` (an uncompressed SEC 1 point, 0x04 ‖ x ‖ y) over `digest` (a SHA-384 digest).
/// Any malformed input is simply not valid; so are the hybrid forms (0x06 or 0x07 ‖ x ‖ y),
/// which aws-lc would also read, so that one key has one accepted encoding.
pub fn verify(public_key: &[u8; UNCOMPRESSED_LEN], digest: &[u8; DIGEST_LEN], signature: &[u8]) -> bool {
    // aws-lc's CPU feature detection (which of its routines run), once per process; aws-lc-rs
    // does the same before its own calls.
    lc::init();
    let valid = check(public_key, digest, signature).is_some();
    if !valid {
        // A rejection leaves aws-lc's reasons on its per-thread error queue: nothing here reads
        // them, and nothing later should find them.
        // SAFETY: no arguments; clears this thread's queue only.
        unsafe { lc::ERR_clear_error() };
    }
    valid
}

fn check(public_key: &[u8; UNCOMPRESSED_LEN], digest: &[u8; DIGEST_LEN], signature: &[u8]) -> Option<()> {
    if public_key[0] != 0x04 {
        return None;
    }
    let (r, s) = signature_scalars(signature)?;
    let w = Option::<Scalar>::from(s.invert_vartime())?;
    let e = <Scalar as Reduce<FieldBytes>>::reduce(&FieldBytes::from(*digest));
    let u1 = ec_scalar(&(e * w));
    let u2 = ec_scalar(&(r * w));
    let r = ec_scalar(&r);
    // SAFETY: no arguments; P-384's group is a static object (never freed), checked for null.
    let group = NonNull::new(unsafe { lc::EC_group_p384() }.cast_mut())?;
    let key = Point::parse(group, public_key)?;
    let mut sum = EcJacobian::default();
    // SAFETY: `group` is P-384's; the key's point was made on it; the scalars are P-384 scalars
    // in aws-lc's layout, reduced (p384 keeps them below n); `sum` is written before it is read.
    let valid = unsafe {
        ec_point_mul_scalar_public(group.as_ptr(), &mut sum, &u1, key.jacobian(), &u2) == 1
            && ec_cmp_x_coordinate(group.as_ptr(), &sum, &r) == 1
    };
    valid.then_some(())
}

/// r and s of a strict-DER signature, each in [1, n − 1].
fn signature_scalars(der: &[u8]) -> Option<(Scalar, Scalar)> {
    // SAFETY: reads `der.len()` bytes from `der`; the result is owned (freed by `Signature`).
    let signature = Signature(NonNull::new(unsafe {
        lc::ECDSA_SIG_from_bytes(der.as_ptr(), der.len())
    })?);
    if !signature.encodes_as(der) {
        return None;
    }
    let (mut r, mut s) = (null(), null());
    // SAFETY: `signature` is live; r and s are borrowed from it, and read while it lives.
    unsafe { lc::ECDSA_SIG_get0(signature.0.as_ptr(), &mut r, &mut s) };
    Some((nonzero_scalar(r)?, nonzero_scalar(s)?))
}

/// The number behind `bn` as a scalar, if it is in [1, n − 1].
fn nonzero_scalar(bn: *const lc::BIGNUM) -> Option<Scalar> {
    if bn.is_null() {
        return None;
    }
    let mut bytes = [0u8; DIGEST_LEN];
    // SAFETY: writes exactly `bytes.len()` bytes; fails (0) when the number needs more.
    if unsafe { lc::BN_bn2bin_padded(bytes.as_mut_ptr(), bytes.len(), bn) } != 1 {
        return None;
    }
    let scalar = Option::<Scalar>::from(Scalar::from_repr(FieldBytes::from(bytes)))?;
    (!bool::from(scalar.is_zero())).then_some(scalar)
}

/// A scalar in aws-lc's layout: its big-endian bytes as little-endian words.
fn ec_scalar(scalar: &Scalar) -> EcScalar {
    let bytes = scalar.to_repr();
    let mut words = [0; EC_MAX_WORDS];
    for (word, chunk) in words.iter_mut().take(P384_WORDS).zip(bytes.rchunks_exact(8)) {
        let mut be = [0u8; 8];
        be.copy_from_slice(chunk);
        *word = u64::from_be_bytes(be);
    }
    EcScalar { words }
}

/// An owned `ECDSA_SIG`.
struct Signature(NonNull<lc::ECDSA_SIG>);

impl Signature {
    /// Whether aws-lc encodes the parsed signature as `der` exactly.
    fn encodes_as(&self, der: &[u8]) -> bool {
        let mut out: *mut u8 = null_mut();
        let mut out_len = 0usize;
        // SAFETY: `self` is live; on success `out` is an allocation of `out_len` bytes that
        // this function frees.
        unsafe {
            if lc::ECDSA_SIG_to_bytes(&mut out, &mut out_len, self.0.as_ptr()) != 1 || out.is_null() {
                return false;
            }
            let same = std::slice::from_raw_parts(out, out_len) == der;
            lc::OPENSSL_free(out.cast());
            same
        }
    }
}

impl Drop for Signature {
    fn drop(&mut self) {
        // SAFETY: owned, freed once.
        unsafe { lc::ECDSA_SIG_free(self.0.as_ptr()) }
    }
}

/// An owned `EC_POINT` on P-384.
struct Point(NonNull<lc::EC_POINT>);

impl Point {
    /// The point `bytes` encode, if they encode one on the curve.
    fn parse(group: NonNull<lc::EC_GROUP>, bytes: &[u8]) -> Option<Point> {
        // SAFETY: `group` is P-384's static group; the result is owned (freed by `Point`).
        let point = Point(NonNull::new(unsafe { lc::EC_POINT_new(group.as_ptr()) })?);
        // SAFETY: reads `bytes.len()` bytes; writes only the point; no BN_CTX is needed.
        let parsed = unsafe {
            lc::EC_POINT_oct2point(
                group.as_ptr(),
                point.0.as_ptr(),
                bytes.as_ptr(),
                bytes.len(),
                null_mut(),
            )
        };
        (parsed == 1).then_some(point)
    }

    /// The point's coordinates, for aws-lc's internal calls.
    fn jacobian(&self) -> *const EcJacobian {
        // SAFETY: an `EC_POINT` is a `struct ec_point_st` ([`EcPoint`]); only the field's
        // address is taken, nothing is read here.
        unsafe { &raw const (*self.0.as_ptr().cast::<EcPoint>()).raw }
    }
}

impl Drop for Point {
    fn drop(&mut self) {
        // SAFETY: owned, freed once.
        unsafe { lc::EC_POINT_free(self.0.as_ptr()) }
    }
}

#[cfg(test)]
mod tests {
    //! Every verdict is compared with aws-lc's own check (aws-lc-rs, digest-level), on keys and
    //! signatures aws-lc-rs makes.
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;
    use aws_lc_rs::digest::{Digest, SHA384, digest};
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{
        ECDSA_P384_SHA384_ASN1, ECDSA_P384_SHA384_ASN1_SIGNING, EcdsaKeyPair, KeyPair, UnparsedPublicKey,
    };

    /// The group order n, big-endian.
    const N: [u8; DIGEST_LEN] = [
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xc7, 0x63, 0x4d, 0x81, 0xf4, 0x37, 0x2d, 0xdf, 0x58, 0x1a,
        0x0d, 0xb2, 0x48, 0xb0, 0xa7, 0x7a, 0xec, 0xec, 0x19, 0x6a, 0xcc, 0xc5, 0x29, 0x73,
    ];

    struct Case {
        key: [u8; UNCOMPRESSED_LEN],
        digest: [u8; DIGEST_LEN],
        signature: Vec<u8>,
    }

    /// A fresh key's signature over `message`.
    fn signed(message: &[u8]) -> Case {
        let pair = EcdsaKeyPair::generate(&ECDSA_P384_SHA384_ASN1_SIGNING).unwrap();
        let signature = pair.sign(&SystemRandom::new(), message).unwrap();
        Case {
            key: pair.public_key().as_ref().try_into().unwrap(),
            digest: digest(&SHA384, message).as_ref().try_into().unwrap(),
            signature: signature.as_ref().to_vec(),
        }
    }

    /// aws-lc's verdict on the same inputs.
    fn aws_lc(key: &[u8], digest: &[u8], signature: &[u8]) -> bool {
        let digest = Digest::import_less_safe(digest, &SHA384).unwrap();
        UnparsedPublicKey::new(&ECDSA_P384_SHA384_ASN1, key)
            .verify_digest(&digest, signature)
            .is_ok()
    }

    /// Our verdict, after checking that aws-lc's is the same.
    fn agreed(key: &[u8; UNCOMPRESSED_LEN], digest: &[u8; DIGEST_LEN], signature: &[u8]) -> bool {
        let ours = verify(key, digest, signature);
        assert_eq!(ours, aws_lc(key, digest, signature), "signature {signature:02x?}");
        ours
    }

    /// A DER INTEGER of the big-endian number `n`, minimally encoded.
    fn der_integer(n: &[u8]) -> Vec<u8> {
        let start = n
            .iter()
            .position(|&b| b != 0)
            .unwrap_or(n.len().saturating_sub(1));
        let mut body = n[start..].to_vec();
        if body.is_empty() || body[0] & 0x80 != 0 {
            body.insert(0, 0);
        }
        let mut out = vec![0x02, u8::try_from(body.len()).unwrap()];
        out.extend(body);
        out
    }

    /// The DER signature of (r, s).
    fn der_signature(r: &[u8], s: &[u8]) -> Vec<u8> {
        let body: Vec<u8> = [der_integer(r), der_integer(s)].concat();
        let mut out = vec![0x30, u8::try_from(body.len()).unwrap()];
        out.extend(body);
        out
    }

    /// r and s of a DER signature made by aws-lc (short lengths), as 48-byte numbers.
    fn r_and_s(der: &[u8]) -> ([u8; DIGEST_LEN], [u8; DIGEST_LEN]) {
        let r_len = usize::from(der[3]);
        let r = &der[4..4 + r_len];
        let s = &der[6 + r_len..];
        let pad = |n: &[u8]| {
            let n = &n[n.len().saturating_sub(DIGEST_LEN)..];
            let mut out = [0u8; DIGEST_LEN];
            out[DIGEST_LEN - n.len()..].copy_from_slice(n);
            out
        };
        (pad(r), pad(s))
    }

    #[test]
    fn accepts_the_signatures_aws_lc_accepts() {
        for i in 0..48u32 {
            let case = signed(format!("message {i}").as_bytes());
            assert!(agreed(&case.key, &case.digest, &case.signature), "case {i}");
        }
    }

    #[test]
    fn agrees_with_aws_lc_on_every_changed_byte() {
        let case = signed(b"one DAS record");
        for i in 0..case.signature.len() {
            for bit in [0x01, 0x80] {
                let mut signature = case.signature.clone();
                signature[i] ^= bit;
                assert!(!agreed(&case.key, &case.digest, &signature), "signature byte {i}");
            }
        }
        for i in 0..DIGEST_LEN {
            let mut digest = case.digest;
            digest[i] ^= 0x01;
            assert!(!agreed(&case.key, &digest, &case.signature), "digest byte {i}");
        }
        for i in 0..UNCOMPRESSED_LEN {
            let mut key = case.key;
            key[i] ^= 0x01;
            assert!(!agreed(&key, &case.digest, &case.signature), "key byte {i}");
        }
    }

    #[test]
    fn rejects_another_keys_signature() {
        let one = signed(b"same message");
        let other = signed(b"same message");
        assert!(!agreed(&one.key, &one.digest, &other.signature));
    }

    #[test]
    fn accepts_s_and_its_negation_alike() {
        // ECDSA accepts (r, n − s) wherever it accepts (r, s); neither library asks for low s.
        let case = signed(b"either s");
        let (r, s) = r_and_s(&case.signature);
        let s = Option::<Scalar>::from(Scalar::from_repr(FieldBytes::from(s))).unwrap();
        let negated = der_signature(&r, &(-s).to_repr());
        assert!(agreed(&case.key, &case.digest, &der_signature(&r, &s.to_repr())));
        assert!(agreed(&case.key, &case.digest, &negated));
    }

    #[test]
    fn rejects_scalars_outside_one_to_n_minus_one() {
        let case = signed(b"scalars out of range");
        let (r, s) = r_and_s(&case.signature);
        let zero = [0u8; DIGEST_LEN];
        let all_ones = [0xffu8; DIGEST_LEN];
        let mut r_plus_n = r;
        let mut carry = 0u16;
        for (byte, n) in r_plus_n.iter_mut().zip(N).rev() {
            let sum = u16::from(*byte) + u16::from(n) + carry;
            *byte = sum.to_le_bytes()[0];
            carry = sum >> 8;
        }
        let mut r_plus_n = r_plus_n.to_vec();
        if carry == 1 {
            r_plus_n.insert(0, 1);
        }
        for (r, s) in [
            (&zero[..], &s[..]),
            (&r[..], &zero[..]),
            (&N[..], &s[..]),
            (&r[..], &N[..]),
            (&all_ones[..], &s[..]),
            (&r[..], &all_ones[..]),
            (&r_plus_n[..], &s[..]),
        ] {
            assert!(
                !agreed(&case.key, &case.digest, &der_signature(r, s)),
                "r {r:02x?} s {s:02x?}"
            );
        }
    }

    #[test]
    fn rejects_signatures_that_are_not_strict_der() {
        let case = signed(b"strict DER");
        let der = &case.signature;
        let mut padded_r = vec![0x30, der[1] + 1, 0x02, der[3] + 1, 0x00];
        padded_r.extend(&der[4..]);
        let mut long_length = vec![0x30, 0x81];
        long_length.extend(&der[1..]);
        let mut trailing = der.clone();
        trailing.push(0);
        let mut indefinite = vec![0x30, 0x80];
        indefinite.extend(&der[2..]);
        indefinite.extend([0, 0]);
        for (what, signature) in [
            ("zero-padded r", padded_r),
            ("long-form length", long_length),
            ("trailing byte", trailing),
            ("indefinite length", indefinite),
            ("empty", Vec::new()),
            ("truncated", der[..der.len() - 1].to_vec()),
        ] {
            assert!(!agreed(&case.key, &case.digest, &signature), "{what}");
        }
    }

    #[test]
    fn accepts_digests_at_and_above_n() {
        // e is the digest modulo n: digests of n and above take the one subtraction.
        let pair = EcdsaKeyPair::generate(&ECDSA_P384_SHA384_ASN1_SIGNING).unwrap();
        let key: [u8; UNCOMPRESSED_LEN] = pair.public_key().as_ref().try_into().unwrap();
        let mut n_plus_one = N;
        n_plus_one[DIGEST_LEN - 1] += 1;
        for digest in [N, n_plus_one, [0xff; DIGEST_LEN]] {
            let signature = pair
                .sign_digest(&Digest::import_less_safe(&digest, &SHA384).unwrap())
                .unwrap();
            assert!(agreed(&key, &digest, signature.as_ref()), "digest {digest:02x?}");
            // The same signature over the digest reduced: the same e.
            let mut reduced = [0u8; DIGEST_LEN];
            let mut borrow = 0i16;
            for i in (0..DIGEST_LEN).rev() {
                let difference = i16::from(digest[i]) - i16::from(N[i]) - borrow;
                reduced[i] = difference.to_le_bytes()[0];
                borrow = i16::from(difference < 0);
            }
            assert!(agreed(&key, &reduced, signature.as_ref()));
        }
    }

    #[test]
    fn refuses_the_hybrid_forms_of_a_key() {
        // 0x06 or 0x07 (y's parity) ‖ x ‖ y: aws-lc reads them, this crate takes 0x04 only.
        let case = signed(b"a hybrid key");
        let mut hybrid = case.key;
        hybrid[0] = 0x06 | (case.key[UNCOMPRESSED_LEN - 1] & 1);
        assert!(aws_lc(&hybrid, &case.digest, &case.signature));
        assert!(!verify(&hybrid, &case.digest, &case.signature));
        assert!(agreed(&case.key, &case.digest, &case.signature));
    }

    #[test]
    fn rejects_keys_off_the_curve() {
        let case = signed(b"a key off the curve");
        let mut key = case.key;
        key[UNCOMPRESSED_LEN - 1] ^= 0x02;
        assert!(!agreed(&key, &case.digest, &case.signature));
        let mut zero = [0u8; UNCOMPRESSED_LEN];
        zero[0] = 0x04;
        assert!(!agreed(&zero, &case.digest, &case.signature));
    }
}
