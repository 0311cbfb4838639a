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
//! The C code linked in calls glibc's `malloc`, which gives each thread that allocates an arena
//! of its own. sqlx runs each SQLite connection on its own thread, and in a long soak those
//! arenas (nine of them: eight pool connections and the writer) kept growing around a SQLite
//! heap that did not (docs/performance.md, change 15). So SQLite is configured to allocate
//! from mimalloc as well ([`route_sqlite_heap`], `SQLITE_CONFIG_MALLOC`), which any store
//! calls before it opens its first SQLite connection.
//!
//! mimalloc's `override` feature, which would route every C `malloc` to mimalloc, is not used:
//! its static override crashed (SIGSEGV in `mi_free`, called from glibc's `dlerror` cleanup)
//! in any process started with an `LD_PRELOAD` library whose constructor looks up a missing
//! symbol, libfaketime among them. SQLite's configuration involves no symbol interposition.

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Makes SQLite allocate from mimalloc. Only the first call does anything; it must come before
/// SQLite is first used in the process (`sqlite3_config` refuses once SQLite has initialized,
/// and SQLite then keeps glibc's `malloc`, which works, just with the growth described above).
/// Returns whether SQLite allocates from mimalloc.
pub(crate) fn route_sqlite_heap() -> bool {
    static ROUTED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ROUTED.get_or_init(|| {
        let rc = sqlite_heap::configure();
        if rc != 0 {
            tracing::warn!(
                sqlite_rc = rc,
                "SQLite had initialized before its allocator was configured; it keeps glibc malloc"
            );
        }
        rc == 0
    })
}

/// SQLite's `sqlite3_mem_methods` over mimalloc: the only unsafe code in the crate.
#[allow(unsafe_code)]
mod sqlite_heap {
    use std::ffi::{c_int, c_void};

    use libmimalloc_sys as mi;
    use libsqlite3_sys as sqlite;

    /// SQLite asks for sizes as `int`; a negative one (which SQLite never passes) is taken as 0.
    fn size(n: c_int) -> usize {
        usize::try_from(n).unwrap_or(0)
    }

    /// mimalloc reports sizes as `usize`; SQLite's allocations are all below 2 GiB.
    fn int(n: usize) -> c_int {
        c_int::try_from(n).unwrap_or(c_int::MAX)
    }

    unsafe extern "C" fn x_malloc(n: c_int) -> *mut c_void {
        // SAFETY: mi_malloc has no preconditions; it returns null when out of memory, which
        // SQLite handles (SQLITE_NOMEM).
        unsafe { mi::mi_malloc(size(n)) }
    }

    unsafe extern "C" fn x_free(p: *mut c_void) {
        // SAFETY: SQLite frees only what x_malloc / x_realloc returned (all from mimalloc).
        unsafe { mi::mi_free(p) }
    }

    unsafe extern "C" fn x_realloc(p: *mut c_void, n: c_int) -> *mut c_void {
        // SAFETY: as x_free; on failure mi_realloc returns null and leaves `p` allocated, which
        // is what SQLite expects of xRealloc.
        unsafe { mi::mi_realloc(p, size(n)) }
    }

    unsafe extern "C" fn x_size(p: *mut c_void) -> c_int {
        // SAFETY: `p` came from x_malloc / x_realloc (mi_usable_size also accepts null).
        int(unsafe { mi::mi_usable_size(p) })
    }

    unsafe extern "C" fn x_roundup(n: c_int) -> c_int {
        // SAFETY: a pure function of its argument.
        int(unsafe { mi::mi_good_size(size(n)) })
    }

    unsafe extern "C" fn x_init(_: *mut c_void) -> c_int {
        sqlite::SQLITE_OK
    }

    unsafe extern "C" fn x_shutdown(_: *mut c_void) {}

    /// Hands SQLite the methods above; returns SQLite's result code (`SQLITE_OK` is 0,
    /// `SQLITE_MISUSE` if SQLite had already initialized).
    pub(super) fn configure() -> c_int {
        let methods = sqlite::sqlite3_mem_methods {
            xMalloc: Some(x_malloc),
            xFree: Some(x_free),
            xRealloc: Some(x_realloc),
            xSize: Some(x_size),
            xRoundup: Some(x_roundup),
            xInit: Some(x_init),
            xShutdown: Some(x_shutdown),
            pAppData: std::ptr::null_mut(),
        };
        // SAFETY: SQLITE_CONFIG_MALLOC takes one pointer to a sqlite3_mem_methods, which SQLite
        // copies before returning; the functions it points to live as long as the process.
        unsafe { sqlite::sqlite3_config(sqlite::SQLITE_CONFIG_MALLOC, &methods) }
    }

    /// Whether a block SQLite allocates now comes from mimalloc's heap.
    #[cfg(test)]
    pub(super) fn sqlite_block_is_mimallocs() -> bool {
        // SAFETY: sqlite3_malloc initializes SQLite if needed and returns a block (or null,
        // tested) that sqlite3_free takes back.
        unsafe {
            let p = sqlite::sqlite3_malloc(64);
            assert!(!p.is_null());
            let ours = mi::mi_is_in_heap_region(p);
            sqlite::sqlite3_free(p);
            ours
        }
    }
}

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

    /// Once a store has opened SQLite, SQLite's blocks come from mimalloc's heap, not glibc's.
    #[tokio::test]
    async fn sqlite_allocates_from_mimalloc() {
        let store = crate::store::Store::connect("sqlite::memory:").await;
        assert!(store.is_ok());
        assert!(super::route_sqlite_heap());
        assert!(super::sqlite_heap::sqlite_block_is_mimallocs());
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
