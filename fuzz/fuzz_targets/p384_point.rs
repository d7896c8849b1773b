//! The crate's P-384 point decompression (`esdk::point`) against RustCrypto's p384, an
//! independent implementation of SEC 1's octet-string-to-point: on any bytes, the crate gives
//! the uncompressed point exactly when p384 reads them as a compressed point, and the same one;
//! on anything else (another length or form) it gives nothing and leaves the bytes to aws-lc.
//! Whatever it gives, aws-lc accepts as a P-384 public key.
#![no_main]

use aws_lc_rs::signature::{ECDSA_P384_SHA384_ASN1, ParsedPublicKey};
use das_partitioner::esdk::point::{COMPRESSED_LEN, decompress_p384};
use libfuzzer_sys::fuzz_target;
use p384::elliptic_curve::sec1::{FromSec1Point, ToSec1Point};
use p384::{AffinePoint, Sec1Point};

fuzz_target!(|data: &[u8]| {
    let ours = decompress_p384(data);
    let compressed = data.len() == COMPRESSED_LEN && matches!(data.first(), Some(0x02 | 0x03));
    if !compressed {
        assert_eq!(ours, None, "only a compressed point is decompressed");
        return;
    }
    let theirs = Sec1Point::from_bytes(data)
        .ok()
        .and_then(|point| Option::<AffinePoint>::from(AffinePoint::from_sec1_point(&point)))
        .map(|affine| affine.to_sec1_point(false).as_bytes().to_vec());
    assert_eq!(ours.map(|point| point.to_vec()), theirs);
    if let Some(point) = ours {
        assert!(ParsedPublicKey::new(&ECDSA_P384_SHA384_ASN1, point).is_ok());
    }
});
