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
