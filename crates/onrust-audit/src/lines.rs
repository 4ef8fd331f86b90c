//! Finding lines in the log from its end, and their numbers.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};

/// How much is read at a time from the end; a record is a few KiB at most.
pub(crate) const CHUNK: u64 = 64 * 1024;

/// The last line of a file: where it starts, its bytes (without the newline)
/// and whether the newline is there.
#[derive(Debug)]
pub(crate) struct LastLine {
    pub start: u64,
    pub bytes: Vec<u8>,
    pub terminated: bool,
}

/// The last line of `file`, or `None` for an empty file. Bytes, not a
/// string: a read may start inside a multi-byte character of an earlier line.
pub(crate) fn last_line(file: &mut File) -> std::io::Result<Option<LastLine>> {
    let len = file.seek(SeekFrom::End(0))?;
    if len == 0 {
        return Ok(None);
    }
    let mut tail: Vec<u8> = Vec::new();
    let mut start = len;
    // Read back chunk by chunk until the newline before the last line is in view.
    loop {
        let from = start.saturating_sub(CHUNK);
        let mut chunk = vec![0u8; usize::try_from(start - from).unwrap_or(0)];
        file.seek(SeekFrom::Start(from))?;
        file.read_exact(&mut chunk)?;
        chunk.extend_from_slice(&tail);
        tail = chunk;
        start = from;
        let terminated = tail.last() == Some(&b'\n');
        let body_end = if terminated { tail.len() - 1 } else { tail.len() };
        if let Some(newline) = tail[..body_end].iter().rposition(|&b| b == b'\n') {
            let bytes = tail[newline + 1..body_end].to_vec();
            return Ok(Some(LastLine { start: start + newline as u64 + 1, bytes, terminated }));
        }
        if start == 0 {
            let bytes = tail[..body_end].to_vec();
            return Ok(Some(LastLine { start: 0, bytes, terminated }));
        }
    }
}

/// The number of the line that starts at byte `offset` (1 for the first):
/// one more than the newlines before it. Reads the file up to there, so it
/// is for error messages and repairs, not for every append.
pub(crate) fn line_number_at(file: &mut File, offset: u64) -> std::io::Result<u64> {
    file.seek(SeekFrom::Start(0))?;
    let mut remaining = offset;
    let mut newlines = 0u64;
    let mut buffer = vec![0u8; CHUNK as usize];
    while remaining > 0 {
        let want = usize::try_from(remaining.min(CHUNK)).unwrap_or(buffer.len());
        let read = file.read(&mut buffer[..want])?;
        if read == 0 {
            break;
        }
        newlines += buffer[..read].iter().filter(|&&b| b == b'\n').count() as u64;
        remaining -= read as u64;
    }
    Ok(newlines + 1)
}
