//! A borrowing reader for big-endian binary formats.
//!
//! Every read names the field it reads, so a short input fails with the name of the field that
//! was cut off. Length prefixes become sub-readers; leftover bytes are the caller's to reject.
//! No read allocates: sender-controlled lengths are only ever compared with what is present.

/// Why a read failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Truncated(pub &'static str);

/// A cursor over a byte slice.
#[derive(Clone, Debug)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    /// Bytes consumed so far.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Bytes not yet consumed.
    pub fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    /// The unconsumed bytes, without consuming them.
    pub fn rest(&self) -> &'a [u8] {
        self.buf.get(self.pos..).unwrap_or_default()
    }

    /// The bytes consumed so far.
    pub fn consumed(&self) -> &'a [u8] {
        self.buf.get(..self.pos).unwrap_or_default()
    }

    /// Takes the next `n` bytes.
    pub fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], Truncated> {
        let end = self.pos.checked_add(n).ok_or(Truncated(field))?;
        let bytes = self.buf.get(self.pos..end).ok_or(Truncated(field))?;
        self.pos = end;
        Ok(bytes)
    }

    /// Takes the next `N` bytes as an array.
    pub fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], Truncated> {
        let bytes = self.take(N, field)?;
        <[u8; N]>::try_from(bytes).map_err(|_| Truncated(field))
    }

    pub fn u8(&mut self, field: &'static str) -> Result<u8, Truncated> {
        Ok(u8::from_be_bytes(self.array(field)?))
    }

    pub fn u16(&mut self, field: &'static str) -> Result<u16, Truncated> {
        Ok(u16::from_be_bytes(self.array(field)?))
    }

    pub fn u32(&mut self, field: &'static str) -> Result<u32, Truncated> {
        Ok(u32::from_be_bytes(self.array(field)?))
    }

    pub fn u64(&mut self, field: &'static str) -> Result<u64, Truncated> {
        Ok(u64::from_be_bytes(self.array(field)?))
    }

    /// Reads a u16 length prefix and takes that many bytes.
    pub fn u16_prefixed(&mut self, field: &'static str) -> Result<&'a [u8], Truncated> {
        let len = self.u16(field)?;
        self.take(usize::from(len), field)
    }

    /// Takes the next `n` bytes as a reader of their own.
    pub fn sub(&mut self, n: usize, field: &'static str) -> Result<Reader<'a>, Truncated> {
        Ok(Reader::new(self.take(n, field)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_big_endian_integers_in_order() {
        let mut r = Reader::new(&[1, 0, 2, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 4]);
        assert_eq!(r.u8("a"), Ok(1));
        assert_eq!(r.u16("b"), Ok(2));
        assert_eq!(r.u32("c"), Ok(3));
        assert_eq!(r.u64("d"), Ok(4));
        assert!(r.is_empty());
    }

    #[test]
    fn names_the_field_that_was_cut_off() {
        let mut r = Reader::new(&[0, 5, 1, 2]);
        assert_eq!(r.u16_prefixed("provider id"), Err(Truncated("provider id")));
    }

    #[test]
    fn rejects_length_that_overflows() {
        let mut r = Reader::new(&[1, 2, 3]);
        r.take(1, "x").unwrap();
        assert_eq!(r.take(usize::MAX, "huge"), Err(Truncated("huge")));
        assert_eq!(r.remaining(), 2);
    }

    #[test]
    fn sub_reader_is_bounded_by_its_prefix() {
        let mut r = Reader::new(&[9, 8, 7, 6]);
        let mut sub = r.sub(2, "pair").unwrap();
        assert_eq!(sub.u16("both"), Ok(0x0908));
        assert_eq!(sub.u8("more"), Err(Truncated("more")));
        assert_eq!(r.rest(), &[7, 6]);
        assert_eq!(r.consumed(), &[9, 8]);
    }
}
