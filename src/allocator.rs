//! The process allocator: mimalloc, for Rust and C alike.
//!
//! The request path allocates many small short-lived buffers, which glibc malloc served at ~14%
//! of a loaded server's CPU (docs/performance.md, change 5). mimalloc is Rust's global allocator,
//! and its `override` feature makes it the C library's `malloc`/`free` as well, for the C code
//! linked in: SQLite and AWS-LC. Without it, glibc gave every thread that called `malloc` an
//! arena of its own (sqlx runs each SQLite connection on a thread of its own: nine arenas),
//! and under a soak those arenas grew by about 3 MB every 2 minutes for as long as it ran
//! (docs/performance.md, "Soak").
//!
//! Its `no_thp` feature keeps mimalloc from advising the kernel to back its arenas with
//! transparent huge pages (`madvise(MADV_HUGEPAGE)`, which Debian's default THP mode,
//! `madvise`, honours): in 2 MiB pages, memory the heap had touched once stayed resident, and
//! the server's peak RSS under load was 83-87 MB instead of 48-49 MB. On a host whose THP mode
//! is `always`, `MIMALLOC_ALLOW_THP=0` in the environment turns huge pages off for the process
//! (docs/configuration.md).

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[cfg(all(test, target_os = "linux", target_env = "gnu"))]
mod tests {
    /// glibc's per-thread malloc heaps among the mappings of `/proc/PID/maps` text: glibc maps
    /// each as 64 MiB at a 64 MiB boundary, read-write as far as the arena has grown and
    /// inaccessible beyond (or read-write throughout once it is full).
    fn glibc_thread_heaps(maps: &str) -> Vec<String> {
        const HEAP: u64 = 64 << 20;
        let parsed: Vec<(u64, u64, &str, bool)> = maps
            .lines()
            .filter_map(|line| {
                let mut fields = line.split_whitespace();
                let (start, end) = fields.next()?.split_once('-')?;
                let perms = fields.next()?;
                let anonymous = fields.nth(3).is_none_or(str::is_empty);
                Some((
                    u64::from_str_radix(start, 16).ok()?,
                    u64::from_str_radix(end, 16).ok()?,
                    perms,
                    anonymous,
                ))
            })
            .collect();
        let mut heaps = Vec::new();
        for (i, &(start, end, perms, anonymous)) in parsed.iter().enumerate() {
            if !anonymous || perms != "rw-p" || start % HEAP != 0 {
                continue;
            }
            let whole = end - start == HEAP;
            let with_tail = parsed.get(i + 1).is_some_and(|&(s, e, p, anon)| {
                anon && p == "---p" && s == end && e - start == HEAP
            });
            if whole || with_tail {
                heaps.push(format!("{start:x}-{end:x}"));
            }
        }
        heaps
    }

    /// The mappings in `/proc/PID/smaps` text advised for transparent huge pages (`hg`).
    fn advised_huge(smaps: &str) -> Vec<String> {
        let mut mapping = "";
        let mut advised = Vec::new();
        for line in smaps.lines() {
            if let Some(flags) = line.strip_prefix("VmFlags:") {
                if flags.split_whitespace().any(|f| f == "hg") {
                    advised.push(mapping.to_string());
                }
            } else if line.split_whitespace().next().is_some_and(|f| {
                f.split_once('-').is_some_and(|(a, b)| {
                    [a, b]
                        .iter()
                        .all(|h| !h.is_empty() && h.bytes().all(|c| c.is_ascii_hexdigit()))
                })
            }) {
                mapping = line.split_whitespace().next().unwrap_or_default();
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

    #[test]
    fn finds_glibc_thread_heaps_in_a_maps_listing() {
        // Lines from a server built without the override, under load (docs/performance.md).
        let maps = "\
20000000000-20040000000 rw-p 00000000 00:00 0 
55d0c4a00000-55d0c4a21000 rw-p 00000000 00:00 0                          [heap]
7f497c000000-7f497c0c7000 rw-p 00000000 00:00 0 
7f497c0c7000-7f4980000000 ---p 00000000 00:00 0 
7f4984000000-7f4988000000 rw-p 00000000 00:00 0 
7f498c000000-7f498c0cc000 rw-p 00000000 00:00 0 
7f498c0cc000-7f4990000000 ---p 00000000 00:00 0 
7f4990000000-7f4990021000 rw-p 00000000 fe:01 1234                       /tmp/store.db-shm
7f4990021000-7f4994000000 ---p 00000000 00:00 0 
7f49a0000000-7f49a0001000 ---p 00000000 00:00 0 
7f49a0001000-7f49a0801000 rw-p 00000000 00:00 0 
";
        assert_eq!(
            glibc_thread_heaps(maps),
            [
                "7f497c000000-7f497c0c7000",
                "7f4984000000-7f4988000000",
                "7f498c000000-7f498c0cc000"
            ]
        );
    }

    /// SQLite allocates its page caches and statements on the threads sqlx runs its
    /// connections on; with mimalloc overriding `malloc`, none of them gets a glibc arena.
    #[tokio::test]
    async fn c_code_allocates_through_mimalloc() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("alloc.db").display());
        let store = crate::store::Store::connect(&url).await.unwrap();
        let tasks: Vec<_> = (0..64)
            .map(|i| {
                let store = store.clone();
                tokio::spawn(async move {
                    let nonce = format!("n-{i}");
                    store
                        .record_nonce("LTAIalloc", &nonce, 1_000, 2_000)
                        .await?;
                    store.ping().await
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap().unwrap();
        }
        let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
        let heaps = glibc_thread_heaps(&maps);
        assert!(heaps.is_empty(), "glibc malloc arenas: {heaps:?}");
        store.close().await;
    }
}
