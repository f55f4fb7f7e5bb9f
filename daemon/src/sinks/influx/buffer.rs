//! Store-and-forward: batches that could not be written wait on disk.
//!
//! Each batch is one gzip file `<seq>-<lines>.lp.gz`, written to a temporary
//! name, synced and renamed, so a crash leaves either the whole batch or
//! none of it. Files are replayed oldest first. The directory is bounded by
//! a byte budget; only when it is exhausted are the oldest batches dropped,
//! and every dropped line is counted.

use std::collections::VecDeque;
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// One buffered batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    seq: u64,
    /// Lines in it.
    pub lines: u64,
    bytes: u64,
    path: PathBuf,
}

#[derive(Debug, Default)]
struct Index {
    segments: VecDeque<Segment>,
    bytes: u64,
    lines: u64,
    next_seq: u64,
}

/// The buffer directory.
#[derive(Debug)]
pub struct DiskBuffer {
    dir: PathBuf,
    budget: u64,
    index: Mutex<Index>,
}

/// What a push did to older data.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pushed {
    /// Lines of older batches deleted to stay within the budget.
    pub dropped_lines: u64,
}

fn parse_name(name: &str) -> Option<(u64, u64)> {
    let stem = name.strip_suffix(".lp.gz")?;
    let (seq, lines) = stem.split_once('-')?;
    Some((seq.parse().ok()?, lines.parse().ok()?))
}

impl DiskBuffer {
    /// Opens the directory, removing half-written files and indexing the rest
    /// in order, so replay resumes after a restart.
    pub fn open(dir: &Path, budget: u64) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let mut segments = Vec::new();
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.ends_with(".tmp") {
                let _ = std::fs::remove_file(entry.path());
                continue;
            }
            if let Some((seq, lines)) = parse_name(&name) {
                let bytes = entry.metadata()?.len();
                segments.push(Segment {
                    seq,
                    lines,
                    bytes,
                    path: entry.path(),
                });
            }
        }
        segments.sort_by_key(|s| s.seq);
        let index = Index {
            bytes: segments.iter().map(|s| s.bytes).sum(),
            lines: segments.iter().map(|s| s.lines).sum(),
            next_seq: segments.last().map_or(0, |s| s.seq + 1),
            segments: segments.into(),
        };
        Ok(Self {
            dir: dir.to_path_buf(),
            budget,
            index: Mutex::new(index),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Index> {
        self.index
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Stores a batch durably, dropping the oldest batches if the budget requires.
    pub fn push(&self, body: &[u8], lines: u64) -> std::io::Result<Pushed> {
        let mut encoder = flate2::write::GzEncoder::new(
            Vec::with_capacity(body.len() / 8),
            flate2::Compression::fast(),
        );
        encoder.write_all(body)?;
        let compressed = encoder.finish()?;
        let seq = {
            let mut index = self.lock();
            index.next_seq += 1;
            index.next_seq - 1
        };
        let name = format!("{seq:020}-{lines}.lp.gz");
        let path = self.dir.join(&name);
        let tmp = self.dir.join(format!("{name}.tmp"));
        {
            let mut file = std::fs::File::create(&tmp)?;
            file.write_all(&compressed)?;
            file.sync_all()?;
        }
        std::fs::rename(&tmp, &path)?;
        let bytes = compressed.len() as u64;
        let mut index = self.lock();
        let mut pushed = Pushed::default();
        // Make room: oldest first, never the batch just written unless it alone is too big.
        while index.bytes + bytes > self.budget {
            let Some(oldest) = index.segments.pop_front() else {
                break;
            };
            let _ = std::fs::remove_file(&oldest.path);
            index.bytes -= oldest.bytes;
            index.lines -= oldest.lines;
            pushed.dropped_lines += oldest.lines;
        }
        if bytes > self.budget {
            let _ = std::fs::remove_file(&path);
            pushed.dropped_lines += lines;
            return Ok(pushed);
        }
        let pos = index.segments.partition_point(|s| s.seq < seq);
        index.segments.insert(
            pos,
            Segment {
                seq,
                lines,
                bytes,
                path,
            },
        );
        index.bytes += bytes;
        index.lines += lines;
        Ok(pushed)
    }

    /// The oldest batch, if any.
    pub fn oldest(&self) -> Option<Segment> {
        self.lock().segments.front().cloned()
    }

    /// Reads a batch's line protocol.
    pub fn read(&self, segment: &Segment) -> std::io::Result<Vec<u8>> {
        let file = std::fs::File::open(&segment.path)?;
        let mut body = Vec::new();
        flate2::read::GzDecoder::new(file).read_to_end(&mut body)?;
        Ok(body)
    }

    /// Deletes a batch once the database has it.
    pub fn remove(&self, segment: &Segment) {
        let mut index = self.lock();
        if let Some(pos) = index.segments.iter().position(|s| s.seq == segment.seq) {
            let s = index.segments.remove(pos);
            if let Some(s) = s {
                index.bytes -= s.bytes;
                index.lines -= s.lines;
            }
        }
        let _ = std::fs::remove_file(&segment.path);
    }

    /// Lines waiting.
    pub fn lines(&self) -> u64 {
        self.lock().lines
    }

    /// Bytes used on disk.
    pub fn bytes(&self) -> u64 {
        self.lock().bytes
    }

    /// True when nothing waits.
    pub fn is_empty(&self) -> bool {
        self.lock().segments.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_come_back_in_order_after_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let buffer = DiskBuffer::open(dir.path(), 1 << 20).unwrap();
        for i in 0..3 {
            buffer.push(format!("m v={i} {i}\n").as_bytes(), 1).unwrap();
        }
        std::fs::write(dir.path().join("00000000000000000009-1.lp.gz.tmp"), b"half").unwrap();
        drop(buffer);
        let buffer = DiskBuffer::open(dir.path(), 1 << 20).unwrap();
        assert_eq!(buffer.lines(), 3);
        for i in 0..3 {
            let oldest = buffer.oldest().unwrap();
            assert_eq!(
                buffer.read(&oldest).unwrap(),
                format!("m v={i} {i}\n").as_bytes()
            );
            buffer.remove(&oldest);
        }
        assert!(buffer.is_empty());
        assert!(!dir.path().join("00000000000000000009-1.lp.gz.tmp").exists());
    }

    #[test]
    fn the_budget_drops_the_oldest_and_counts_every_line() {
        let dir = tempfile::tempdir().unwrap();
        // Each batch compresses to a few dozen bytes; allow about three.
        let probe = DiskBuffer::open(&dir.path().join("probe"), u64::MAX).unwrap();
        probe.push(b"m v=0 0\n", 1).unwrap();
        let one = probe.bytes();
        let buffer = DiskBuffer::open(&dir.path().join("b"), one * 3 + one / 2).unwrap();
        let mut dropped = 0;
        for i in 0..10u64 {
            dropped += buffer
                .push(format!("m v={} {i}\n", i % 10).as_bytes(), 7)
                .unwrap()
                .dropped_lines;
        }
        assert_eq!(buffer.lines() + dropped, 70);
        assert_eq!(dropped, 49, "seven batches of seven lines dropped");
        let oldest = buffer.oldest().unwrap();
        assert_eq!(buffer.read(&oldest).unwrap(), b"m v=7 7\n");
    }
}
