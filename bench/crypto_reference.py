#!/usr/bin/env python3
"""The Python reference's crypto library on the inputs of `cargo bench --bench crypto`: how much
of a signed record's cost is the signature check alone, on either side.

    .venv/bin/python bench/crypto_reference.py

The reference (bench/reference.py) decrypts through the official aws-encryption-sdk, which
checks signatures and opens frames with `cryptography` (OpenSSL). This times those calls alone,
in process, on benches/crypto.rs's inputs: the signed 0x0378 message made by the official
Python ESDK (tests/fixtures/esdk/s0378-f4096-ctx.esdk; its public key decompressed, and
checked once with the key as it arrives) and a 256 KiB AES-256-GCM frame. Prints the same
lines as the Rust bench, medians of 7 rounds; compare the two within one session.
"""

from __future__ import annotations

import base64
import statistics
import time
from pathlib import Path

from cryptography.hazmat.backends.openssl.backend import backend
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests/fixtures/esdk/s0378-f4096-ctx.esdk"
PUBLIC_KEY_CONTEXT_KEY = b"aws-crypto-public-key"


def signed_parts(message: bytes) -> tuple[bytes, bytes, bytes]:
    """(compressed public key, signed bytes, DER signature) of a signed ESDK message: the key
    from its encryption context (a 2-byte length, then base64), the footer from its end (a
    2-byte length, then the signature)."""
    at = message.index(PUBLIC_KEY_CONTEXT_KEY) + len(PUBLIC_KEY_CONTEXT_KEY)
    length = int.from_bytes(message[at:at + 2], "big")
    public_key = base64.b64decode(message[at + 2:at + 2 + length], validate=True)
    for sig_len in range(96, 112):  # a DER P-384 signature is 102 to 104 bytes
        footer = message[-(sig_len + 2):]
        if int.from_bytes(footer[:2], "big") == sig_len and footer[2] == 0x30:
            return public_key, message[:-(sig_len + 2)], footer[2:]
    raise SystemExit(f"{FIXTURE}: no signature footer")


def measure(f, iterations: int) -> float:
    """Median seconds per call over 7 rounds."""
    rounds = []
    for _ in range(7):
        start = time.perf_counter()
        for _ in range(iterations):
            f()
        rounds.append((time.perf_counter() - start) / iterations)
    return statistics.median(rounds)


def main() -> None:
    compressed, signed, signature = signed_parts(FIXTURE.read_bytes())
    curve, algorithm = ec.SECP384R1(), ec.ECDSA(hashes.SHA384())
    key = ec.EllipticCurvePublicKey.from_encoded_point(curve, compressed)
    uncompressed = key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)

    def verify_with(point: bytes) -> None:
        # As the ESDK does: a key object from the encoded point, then the check (which raises
        # InvalidSignature on a bad one).
        ec.EllipticCurvePublicKey.from_encoded_point(curve, point).verify(signature, signed, algorithm)

    verify_with(compressed)
    uncompressed_s = measure(lambda: verify_with(uncompressed), 50)
    compressed_s = measure(lambda: verify_with(compressed), 50)
    decompress_s = measure(lambda: ec.EllipticCurvePublicKey.from_encoded_point(curve, compressed), 200)
    print(f"{backend.openssl_version_text()}")
    print(f"ECDSA P-384 verify (9 KB)    OpenSSL {uncompressed_s * 1e6:8.1f} µs")
    print(f"P-384 verify: compressed key {compressed_s * 1e6:.1f} µs, "
          f"uncompressed key {uncompressed_s * 1e6:.1f} µs")
    print(f"P-384 decompression alone: OpenSSL {decompress_s * 1e6:.1f} µs")

    aead_key, nonce, aad = bytes([7] * 32), bytes([1] * 12), b"message id and frame aad"
    frame = bytes([0x5A] * 256 * 1024)
    cipher = AESGCM(aead_key)
    sealed = cipher.encrypt(nonce, frame, aad)
    assert cipher.decrypt(nonce, sealed, aad) == frame
    open_s = measure(lambda: cipher.decrypt(nonce, sealed, aad), 40)
    print(f"AES-256-GCM open (256 KiB)   OpenSSL {len(frame) / open_s / 1e9:8.2f} GB/s")


if __name__ == "__main__":
    main()
