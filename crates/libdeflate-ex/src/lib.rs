//! libdeflate's raw DEFLATE decompression, saying how many input bytes the stream took.
//!
//! The libdeflater crate binds `libdeflate_deflate_decompress` and the gzip and zlib wrappers,
//! but not `libdeflate_deflate_decompress_ex`, the only entry point that reports where a
//! stream ended; a gzip reader needs that to find the member's trailer and whatever follows
//! it. This crate is that one call and the decompressor's life; with p384-check, it holds
//! das-partitioner's `unsafe` code: the product crate forbids `unsafe`.

use libdeflate_sys as sys;
use std::ptr::NonNull;

/// Output room libdeflate's fast loop needs past the bytes it writes: it decodes in that loop only
/// while this much room is left, symbol by symbol after that. Its `FASTLOOP_MAX_BYTES_WRITTEN`
/// on 64-bit targets (two literals, a 258-byte match and five words of copy overrun, less one),
/// which is more than on 32-bit ones.
pub const FAST_LOOP_ROOM: usize = 299;

/// Why a stream did not inflate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InflateError {
    /// The stream is invalid, or ended before its last block did.
    BadData,
    /// The output did not fit in the room given.
    InsufficientSpace,
}

/// What one successful call took and gave.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Inflated {
    /// Bytes of input the stream took: the rest of the input follows the stream.
    pub consumed: usize,
    /// Bytes appended to the output.
    pub produced: usize,
}

/// A libdeflate decompressor (its decode tables, about 10 KB). Neither `Send` nor `Sync` (it
/// holds a raw pointer): each thread makes its own.
pub struct Inflater {
    raw: NonNull<sys::libdeflate_decompressor>,
}

impl Inflater {
    /// A new decompressor; aborts as `Vec` does if the allocation fails.
    pub fn new() -> Self {
        // SAFETY: no arguments; the result is checked for null.
        let raw = unsafe { sys::libdeflate_alloc_decompressor() };
        match NonNull::new(raw) {
            Some(raw) => Inflater { raw },
            None => std::alloc::handle_alloc_error(std::alloc::Layout::new::<[u8; 1 << 14]>()),
        }
    }

    /// Inflates the raw DEFLATE stream at the start of `input` (bytes after its last block are
    /// left alone) onto the end of `out`, in `out`'s spare capacity at most: `out` is not grown.
    /// On failure `out` is as it was.
    pub fn inflate(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<Inflated, InflateError> {
        let spare = out.spare_capacity_mut();
        let room = spare.len();
        let mut consumed = 0usize;
        let mut produced = 0usize;
        // SAFETY: `self.raw` is a live decompressor used by this thread alone (`&mut self`);
        // libdeflate reads at most `input.len()` bytes from `input` and writes at most `room`
        // bytes to `spare`, which `out` owns and nothing else borrows during the call; both
        // out-parameters point to locals.
        let result = unsafe {
            sys::libdeflate_deflate_decompress_ex(
                self.raw.as_ptr(),
                input.as_ptr().cast(),
                input.len(),
                spare.as_mut_ptr().cast(),
                room,
                &mut consumed,
                &mut produced,
            )
        };
        match result {
            sys::libdeflate_result_LIBDEFLATE_SUCCESS if produced <= room && consumed <= input.len() => {
                // SAFETY: on success libdeflate wrote `produced` bytes, no more than `room`, at
                // the start of the spare capacity: they are initialised.
                unsafe { out.set_len(out.len() + produced) };
                Ok(Inflated { consumed, produced })
            }
            sys::libdeflate_result_LIBDEFLATE_INSUFFICIENT_SPACE => Err(InflateError::InsufficientSpace),
            _ => Err(InflateError::BadData),
        }
    }
}

impl Default for Inflater {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for Inflater {
    fn drop(&mut self) {
        // SAFETY: `self.raw` came from `libdeflate_alloc_decompressor` and is freed once, here.
        unsafe { sys::libdeflate_free_decompressor(self.raw.as_ptr()) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::{Compression, write::DeflateEncoder};
    use std::io::Write;

    fn deflate(data: &[u8]) -> Vec<u8> {
        let mut e = DeflateEncoder::new(Vec::new(), Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn text() -> Vec<u8> {
        (0..4000u32)
            .flat_map(|i| format!("{},", i % 97).into_bytes())
            .collect()
    }

    #[test]
    fn says_where_the_stream_ends_and_leaves_what_follows() {
        let text = text();
        let stream = deflate(&text);
        let mut input = stream.clone();
        input.extend_from_slice(b"trailer");
        let mut out = Vec::with_capacity(text.len());
        let inflated = Inflater::new().inflate(&input, &mut out).unwrap();
        assert_eq!(
            inflated,
            Inflated {
                consumed: stream.len(),
                produced: text.len()
            }
        );
        assert_eq!(out, text);
    }

    #[test]
    fn appends_to_what_out_holds() {
        let mut out = Vec::with_capacity(100);
        out.extend_from_slice(b"first ");
        let mut inflater = Inflater::new();
        inflater.inflate(&deflate(b"second"), &mut out).unwrap();
        inflater.inflate(&deflate(b" third"), &mut out).unwrap();
        assert_eq!(out, b"first second third");
    }

    #[test]
    fn leaves_out_as_it_was_when_the_output_does_not_fit() {
        let text = text();
        let mut out = Vec::with_capacity(text.len() - 1);
        out.push(b'x');
        let result = Inflater::new().inflate(&deflate(&text), &mut out);
        assert_eq!(result, Err(InflateError::InsufficientSpace));
        assert_eq!(out, b"x");
    }

    #[test]
    fn rejects_a_truncated_or_invalid_stream_and_reads_the_next_one() {
        let stream = deflate(&text());
        let mut inflater = Inflater::new();
        let mut out = Vec::with_capacity(1 << 16);
        let cut = inflater.inflate(&stream[..stream.len() - 1], &mut out);
        assert_eq!(cut, Err(InflateError::BadData));
        // Block type 3 is reserved.
        assert_eq!(inflater.inflate(&[0b111], &mut out), Err(InflateError::BadData));
        assert!(out.is_empty());
        inflater.inflate(&stream, &mut out).unwrap();
        assert_eq!(out, text());
    }
}
