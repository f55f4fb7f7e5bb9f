//! Process limits the daemon needs to keep its promises.
//!
//! systemd and most shells start a process with a soft limit of 1,024 open
//! files. Every HTTP client, MQTT client, Modbus line and database holds
//! descriptors, so a burst of connections to the API port could use them
//! all, and then nothing can be opened, the alarm path included (a webhook
//! socket, an SMTP connection, a database page). The hard limit is what an
//! administrator allows; the daemon takes all of it at start.

use tracing::{info, warn};

/// The open-files limits after [`raise_open_files_limit`]: (soft, hard).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenFiles {
    /// The limit in force now.
    pub soft: u64,
    /// The most it could be raised to.
    pub hard: u64,
}

/// Raises the soft open-files limit to the hard limit, and says so. A
/// failure is logged and the daemon runs with what it has.
pub fn raise_open_files_limit() -> Option<OpenFiles> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `getrlimit` writes into the struct we own and pass by pointer.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        warn!(error = %std::io::Error::last_os_error(), "cannot read the open-files limit");
        return None;
    }
    let before = limit.rlim_cur;
    if limit.rlim_cur < limit.rlim_max {
        limit.rlim_cur = limit.rlim_max;
        // SAFETY: `setrlimit` reads the struct we own; raising the soft
        // limit up to the hard one needs no privilege.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) } != 0 {
            warn!(error = %std::io::Error::last_os_error(), soft = before,
                  "cannot raise the open-files limit; a burst of connections may exhaust it");
            limit.rlim_cur = before;
        } else {
            info!(
                from = before,
                to = limit.rlim_cur,
                "open-files limit raised to the hard limit"
            );
        }
    }
    Some(OpenFiles {
        soft: limit.rlim_cur,
        hard: limit.rlim_max,
    })
}

/// Gives the heap's free pages back to the system. After a burst (a storm
/// of large MQTT payloads, a long API answer) glibc keeps the freed memory
/// in its arenas; trimming brings the daemon back to its working size.
pub fn trim_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks the allocator's own free lists.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Gives back the pages of the daemon's own binary that are resident but
/// not in use: code and read-only data touched once at start-up (config
/// parsing, checks, the CLI) stay mapped otherwise. Start-up runs code
/// from all over a 13 MB text segment and the kernel maps 64 KiB around
/// every page a fault asks for, so each phase of start-up leaves most of
/// the binary resident: 22 MB in all at 200 devices if nothing is given
/// back. `MADV_PAGEOUT` (Linux 5.4+) drops those pages; the ones the
/// running stages use fault straight back in, so what remains resident is
/// the working set. Called at the end of each start-up phase (the
/// configuration loaded, the stages started, the first polls done), which
/// keeps the peak down too; best effort: without `/proc` or on an older
/// kernel nothing happens. Returns the bytes of the mappings advised.
pub fn release_startup_pages() -> usize {
    #[cfg(target_os = "linux")]
    {
        let Ok(exe) = std::fs::read_link("/proc/self/exe") else {
            return 0;
        };
        let Ok(maps) = std::fs::read_to_string("/proc/self/maps") else {
            return 0;
        };
        maps.lines()
            .filter_map(|line| own_read_only_mapping(line, &exe))
            .map(|(start, len)| {
                // SAFETY: the range is a whole mapping of our own binary,
                // read-only (code or constants): paging it out changes no
                // content, it is read back from the file on the next access.
                let advised =
                    unsafe { libc::madvise(start as *mut libc::c_void, len, libc::MADV_PAGEOUT) };
                if advised == 0 { len } else { 0 }
            })
            .sum()
    }
    #[cfg(not(target_os = "linux"))]
    0
}

/// `(start, length)` of a `/proc/self/maps` line that maps `exe` without
/// write permission.
#[cfg(target_os = "linux")]
fn own_read_only_mapping(line: &str, exe: &std::path::Path) -> Option<(usize, usize)> {
    let mut fields = line.split_whitespace();
    let range = fields.next()?;
    let perms = fields.next()?;
    let path = fields.nth(3)?;
    if perms.as_bytes().get(1) == Some(&b'w') || std::path::Path::new(path) != exe {
        return None;
    }
    let (start, end) = range.split_once('-')?;
    let start = usize::from_str_radix(start, 16).ok()?;
    let end = usize::from_str_radix(end, 16).ok()?;
    Some((start, end.checked_sub(start)?))
}

#[cfg(all(test, target_os = "linux"))]
mod page_tests {
    use super::*;

    #[test]
    fn only_read_only_mappings_of_the_binary_are_released() {
        let exe = std::path::Path::new("/usr/bin/sitewarden");
        assert_eq!(
            own_read_only_mapping("55d0-55f0 r-xp 00001000 fd:01 123 /usr/bin/sitewarden", exe),
            Some((0x55d0, 0x20))
        );
        assert_eq!(
            own_read_only_mapping("55f0-5600 rw-p 00003000 fd:01 123 /usr/bin/sitewarden", exe),
            None
        );
        assert_eq!(
            own_read_only_mapping("7f00-7f10 r-xp 00000000 fd:01 9 /usr/lib/libc.so.6", exe),
            None
        );
        assert_eq!(
            own_read_only_mapping("7f00-7f10 rw-p 00000000 00:00 0", exe),
            None
        );
        // The test binary itself: some of its read-only pages are advised.
        assert!(release_startup_pages() > 0);
    }
}
