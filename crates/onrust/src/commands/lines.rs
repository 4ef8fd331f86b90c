//! JSON-lines input of the commands that read it (`classify`, `eval`,
//! `replay`): one reader, one cap, one numbering.
//!
//! A line is never held beyond [`MAX_LINE_BYTES`]: one that grows past it is
//! reported by its number as soon as it does, and the rest of it is skipped
//! on the next read without being kept, so a 400 MB line or an endless one
//! (`/dev/zero`) costs the cap in memory and no more. A UTF-8 byte order mark
//! at the very start of the input is not part of line 1 (editors on Windows
//! write one).

use std::io::{BufRead, ErrorKind};

/// Longest input line read; a longer one is refused and skipped.
pub const MAX_LINE_BYTES: usize = 2 * 1024 * 1024;

/// The UTF-8 encoding of U+FEFF, the byte order mark.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Reads numbered lines of at most [`MAX_LINE_BYTES`] from `reader`.
#[derive(Debug)]
pub struct Lines<R> {
    reader: R,
    buf: Vec<u8>,
    /// The number of the line read last (1-based).
    number: usize,
    /// The line reported last was too long and its end has not been read yet.
    skipping: bool,
}

/// What went wrong with one line; the reader goes on with the next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineError {
    /// Longer than [`MAX_LINE_BYTES`]; nothing of it is kept.
    TooLong,
    /// Not UTF-8; the position of the first bad byte.
    NotUtf8 { at_byte: usize },
}

impl std::fmt::Display for LineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::TooLong => write!(f, "line is longer than {MAX_LINE_BYTES} bytes"),
            Self::NotUtf8 { at_byte } => write!(f, "line is not valid UTF-8 (at byte {at_byte})"),
        }
    }
}

impl<R: BufRead> Lines<R> {
    pub fn new(reader: R) -> Self {
        Self { reader, buf: Vec::new(), number: 0, skipping: false }
    }

    /// The number of the line read last; 0 before the first.
    pub fn line_number(&self) -> usize {
        self.number
    }

    /// The next line, without its line end (`\n` or `\r\n`), and its number;
    /// `Ok(None)` at the end of the input. A failing reader is an `Err`.
    pub fn next_line(&mut self) -> std::io::Result<Option<(usize, Result<String, LineError>)>> {
        if self.skipping {
            self.skipping = false;
            // What is left of an over-long line: read and dropped.
            loop {
                let available = fill(&mut self.reader)?;
                if available.is_empty() {
                    return Ok(None);
                }
                match available.iter().position(|&b| b == b'\n') {
                    Some(at) => {
                        self.reader.consume(at + 1);
                        break;
                    }
                    None => {
                        let all = available.len();
                        self.reader.consume(all);
                    }
                }
            }
        }
        self.buf.clear();
        let mut read_any = false;
        loop {
            let available = fill(&mut self.reader)?;
            if available.is_empty() {
                if !read_any {
                    return Ok(None);
                }
                break;
            }
            read_any = true;
            let (used, newline) = match available.iter().position(|&b| b == b'\n') {
                Some(at) => (at, true),
                None => (available.len(), false),
            };
            if self.buf.len() + used > MAX_LINE_BYTES {
                // Reported now, not when the line ends: an endless line would never end.
                self.reader.consume(used + usize::from(newline));
                self.skipping = !newline;
                self.buf.clear();
                self.number += 1;
                return Ok(Some((self.number, Err(LineError::TooLong))));
            }
            self.buf.extend_from_slice(&available[..used]);
            self.reader.consume(used + usize::from(newline));
            if newline {
                break;
            }
        }
        self.number += 1;
        let mut line: &[u8] = &self.buf;
        if self.number == 1 {
            line = line.strip_prefix(BOM).unwrap_or(line);
        }
        if let Some(without_cr) = line.strip_suffix(b"\r") {
            line = without_cr;
        }
        let line =
            std::str::from_utf8(line).map(str::to_owned).map_err(|e| LineError::NotUtf8 { at_byte: e.valid_up_to() });
        Ok(Some((self.number, line)))
    }
}

/// The reader's buffered bytes, refilled when empty; interrupted reads are retried.
fn fill(reader: &mut impl BufRead) -> std::io::Result<&[u8]> {
    loop {
        match reader.fill_buf() {
            // Re-borrowed so the loop can retry: the borrow checker cannot see that the Err arm ends it.
            Ok(_) => return reader.fill_buf(),
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::{BufReader, Read};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn lines(input: &[u8]) -> Vec<(usize, Result<String, LineError>)> {
        let mut reader = Lines::new(BufReader::with_capacity(16, input));
        std::iter::from_fn(|| reader.next_line().expect("in-memory reads do not fail")).collect()
    }

    #[test]
    fn lines_are_numbered_and_split_and_bad_utf8_is_one_error() {
        let got = lines(b"a\r\n\xff\xfe\nccc");
        assert_eq!(got.len(), 3);
        assert_eq!(got[0], (1, Ok("a".to_owned())), "CRLF line ends are removed");
        assert_eq!(got[1], (2, Err(LineError::NotUtf8 { at_byte: 0 })));
        assert_eq!(got[2], (3, Ok("ccc".to_owned())));
        assert!(lines(b"").is_empty());
        assert_eq!(lines(b"\n\n"), [(1, Ok(String::new())), (2, Ok(String::new()))]);
    }

    #[test]
    fn an_overlong_line_is_refused_by_number_and_the_next_one_read() {
        let mut input = b"first\n".to_vec();
        input.extend(vec![b'x'; MAX_LINE_BYTES + 10]);
        input.extend_from_slice(b"\nnext\n");
        let got = lines(&input);
        assert_eq!(got, [(1, Ok("first".to_owned())), (2, Err(LineError::TooLong)), (3, Ok("next".to_owned()))]);
        assert_eq!(got[1].1.clone().unwrap_err().to_string(), "line is longer than 2097152 bytes");
        // Exactly at the cap a line is still read.
        let mut input = vec![b'y'; MAX_LINE_BYTES];
        input.extend_from_slice(b"\n");
        assert_eq!(lines(&input)[0].1.as_ref().map(String::len), Ok(MAX_LINE_BYTES));
        // An over-long last line without a line end is reported once.
        assert_eq!(lines(&vec![b'z'; MAX_LINE_BYTES + 1]), [(1, Err(LineError::TooLong))]);
    }

    /// Counts what is read from the inner reader.
    struct Counted<R> {
        inner: R,
        read: Arc<AtomicUsize>,
    }

    impl<R: Read> Read for Counted<R> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.inner.read(buf)?;
            self.read.fetch_add(n, Ordering::Relaxed);
            Ok(n)
        }
    }

    /// `onrust replay /dev/zero`: a line that never ends is reported as soon
    /// as it passes the cap, having read (and held) no more than the cap and
    /// one buffer, and skipping it holds nothing.
    #[test]
    fn an_endless_line_is_reported_without_being_buffered() {
        let read = Arc::new(AtomicUsize::new(0));
        let endless = Counted { inner: std::io::repeat(0), read: Arc::clone(&read) };
        let mut lines = Lines::new(BufReader::with_capacity(64 * 1024, endless));
        assert_eq!(lines.next_line().expect("reads"), Some((1, Err(LineError::TooLong))));
        assert!(read.load(Ordering::Relaxed) <= MAX_LINE_BYTES + 64 * 1024, "read {read:?}");
        assert!(lines.buf.capacity() <= MAX_LINE_BYTES, "held {} bytes", lines.buf.capacity());

        // 64 MiB more of the same line, then a good one: skipped in constant memory.
        let rest = std::io::repeat(0).take(64 * 1024 * 1024).chain(&b"\n{\"ok\": 1}\n"[..]);
        let mut lines = Lines { skipping: true, number: 1, ..Lines::new(BufReader::with_capacity(64 * 1024, rest)) };
        assert_eq!(lines.next_line().expect("reads"), Some((2, Ok("{\"ok\": 1}".to_owned()))));
        assert!(lines.buf.capacity() < 1024, "the skipped bytes were not kept: {}", lines.buf.capacity());
    }

    #[test]
    fn a_byte_order_mark_at_the_start_is_not_part_of_line_one() {
        let got = lines(b"\xEF\xBB\xBF{\"id\": 1}\r\n\xEF\xBB\xBFx\n");
        assert_eq!(got[0], (1, Ok("{\"id\": 1}".to_owned())));
        assert_eq!(got[1], (2, Ok("\u{feff}x".to_owned())), "only at the start of the input");
        assert_eq!(lines(b"\xEF\xBB\xBF"), [(1, Ok(String::new()))]);
    }

    #[test]
    fn a_failing_reader_is_an_error_not_a_line() {
        struct Broken;
        impl Read for Broken {
            fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
                Err(std::io::Error::other("disk gone"))
            }
        }
        let mut lines = Lines::new(BufReader::new(Broken));
        assert!(lines.next_line().is_err_and(|e| e.to_string() == "disk gone"));
    }
}
