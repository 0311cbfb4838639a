//! The process allocator: mimalloc, for Rust's heap.
//!
//! The request path allocates many small short-lived buffers, which glibc malloc served at ~14%
//! of a loaded server's CPU (docs/performance.md, change 5).
//!
//! Its `no_thp` feature keeps mimalloc from advising the kernel to back its arenas with
//! transparent huge pages (`madvise(MADV_HUGEPAGE)`, which Debian's default THP mode,
//! `madvise`, honours): in 2 MiB pages, memory the heap had touched once stayed resident, and
//! the server's peak RSS under load was 65 MB instead of 48 MB (docs/performance.md, change
//! 14). On a host whose THP mode is `always`, `MIMALLOC_ALLOW_THP=0` in the environment turns
//! huge pages off for the process (docs/configuration.md).
//!
//! The C code linked in (SQLite, AWS-LC) still calls glibc's `malloc`, which gives each thread
//! that allocates an arena of its own (sqlx runs each SQLite connection on its own thread).
//! mimalloc's `override` feature would route that to mimalloc too, but its static override
//! crashed (SIGSEGV in `mi_free`, called from glibc's `dlerror` cleanup) in any process started
//! with an `LD_PRELOAD` library whose constructor looks up a missing symbol, libfaketime among
//! them; it is not used.

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[cfg(all(test, target_os = "linux"))]
mod tests {
    /// The mappings in `/proc/PID/smaps` text advised for transparent huge pages (`hg`).
    fn advised_huge(smaps: &str) -> Vec<String> {
        let mut mapping = "";
        let mut advised = Vec::new();
        for line in smaps.lines() {
            if let Some(flags) = line.strip_prefix("VmFlags:") {
                if flags.split_whitespace().any(|f| f == "hg") {
                    advised.push(mapping.to_string());
                }
            } else if let Some(range) = line.split_whitespace().next() {
                // A mapping's header starts with its range; its fields start with `Name:`.
                if !range.ends_with(':') {
                    mapping = range;
                }
            }
        }
        advised
    }

    #[test]
    fn finds_huge_page_advice_in_an_smaps_listing() {
        // Abridged from a server built without `no_thp`, under load.
        let smaps = "\
20000000000-20040000000 rw-p 00000000 00:00 0 
Size:            1048576 kB
AnonHugePages:     26624 kB
THPeligible:           1
VmFlags: rd wr mr mw me nr hg 
7f4990000000-7f4990021000 rw-p 00000000 00:00 0 
Size:                132 kB
THPeligible:           0
VmFlags: rd wr mr mw me nr 
7f49a0000000-7f49a0001000 rw-p 00000000 00:00 0 
VmFlags: rd wr mr mw me nr hgx 
";
        assert_eq!(advised_huge(smaps), ["20000000000-20040000000"]);
    }

    /// After the heap has grown by 64 MiB, no mapping of the process is advised for huge pages.
    #[test]
    fn the_heap_asks_for_no_huge_pages() {
        let blocks: Vec<Vec<u8>> = (0..64u8).map(|i| vec![i; 1 << 20]).collect();
        let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
        assert_eq!(
            blocks.iter().map(|b| usize::from(b[0])).sum::<usize>(),
            2016
        );
        let advised = advised_huge(&smaps);
        assert!(advised.is_empty(), "advised for huge pages: {advised:?}");
    }
}
