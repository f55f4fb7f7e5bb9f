//! The data directory's disk: how much room is left, and a reserve held
//! for the alarm path.
//!
//! SQLite, the MQTT outbox and the InfluxDB buffer all fail once the file
//! system is full, and a fire alarm that cannot be committed is not
//! notified. So the daemon holds a reserve file while there is room and
//! deletes it when free space falls below `[storage] min_free`: the space
//! it frees is what the fault alert and any alarm raised meanwhile are
//! stored in. The reserve is written (not a sparse file) so the space is
//! really held, and created again once the disk has room.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};

/// Bytes the unprivileged user may still write on the file system holding `path`.
pub fn free_bytes(path: &Path) -> std::io::Result<u64> {
    use std::os::unix::ffi::OsStrExt as _;
    let c_path = std::ffi::CString::new(path.as_os_str().as_bytes()).map_err(|_| {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, "path holds a NUL byte")
    })?;
    let mut stat: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: c_path is a valid C string and stat a valid out-pointer.
    if unsafe { libc::statvfs(c_path.as_ptr(), &mut stat) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok((stat.f_bavail as u64).saturating_mul(stat.f_frsize as u64))
}

/// The reserve file of a data directory.
#[derive(Debug)]
pub struct Reserve {
    path: PathBuf,
    size: u64,
}

impl Reserve {
    /// The reserve of `size` bytes at `<dir>/reserve` (not created yet).
    pub fn new(dir: &Path, size: u64) -> Self {
        Self {
            path: dir.join("reserve"),
            size,
        }
    }

    /// Bytes it holds when in place.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Whether the reserve file is in place at full size.
    pub fn held(&self) -> bool {
        std::fs::metadata(&self.path).is_ok_and(|m| m.len() >= self.size)
    }

    /// Writes the reserve file (zeros, so the blocks are really allocated).
    /// A half-written reserve is removed again: it would only take room.
    pub fn hold(&self) -> std::io::Result<()> {
        if self.size == 0 || self.held() {
            return Ok(());
        }
        let written = (|| {
            let mut file = std::fs::File::create(&self.path)?;
            let chunk = vec![0u8; 64 * 1024];
            let mut left = self.size;
            while left > 0 {
                let n = left.min(chunk.len() as u64) as usize;
                file.write_all(&chunk[..n])?;
                left -= n as u64;
            }
            file.sync_all()
        })();
        if written.is_err() {
            let _ = std::fs::remove_file(&self.path);
        }
        written
    }

    /// Deletes the reserve file, giving its space to the stores.
    pub fn release(&self) -> std::io::Result<()> {
        match std::fs::remove_file(&self.path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}

/// Whether the data directory's disk is full, for `/healthz` and the metrics.
#[derive(Debug, Default)]
pub struct DiskState {
    full: AtomicBool,
    free: AtomicU64,
}

impl DiskState {
    /// Whether free space is below `[storage] min_free`.
    pub fn is_full(&self) -> bool {
        self.full.load(Relaxed)
    }

    /// Free bytes at the last measurement.
    pub fn free_bytes(&self) -> u64 {
        self.free.load(Relaxed)
    }

    /// Records whether the disk is full.
    pub fn set_full(&self, full: bool) {
        self.full.store(full, Relaxed);
    }

    /// Records the free bytes measured.
    pub fn set_free(&self, free: u64) {
        self.free.store(free, Relaxed);
    }

    /// Writes `sitewarden_disk_full` and `sitewarden_disk_free_bytes`.
    pub fn render(&self, out: &mut String, site: &str) {
        crate::metrics::family(
            out,
            "sitewarden_disk_full",
            "gauge",
            "1 while the data directory's free space is below [storage] min_free.",
        );
        crate::metrics::sample(out, "sitewarden_disk_full", site, u64::from(self.is_full()));
        crate::metrics::family(
            out,
            "sitewarden_disk_free_bytes",
            "gauge",
            "Free bytes on the data directory's file system at the last check.",
        );
        crate::metrics::sample(out, "sitewarden_disk_free_bytes", site, self.free_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reserve_takes_real_space_and_gives_it_back() {
        let dir = tempfile::tempdir().unwrap();
        let reserve = Reserve::new(dir.path(), 4 << 20);
        let before = free_bytes(dir.path()).unwrap();
        reserve.hold().unwrap();
        assert!(reserve.held());
        let held = free_bytes(dir.path()).unwrap();
        assert!(before.saturating_sub(held) >= 3 << 20, "{before} → {held}");
        reserve.release().unwrap();
        assert!(!reserve.held());
        reserve.release().unwrap();
    }
}
