//! Where does each kind of memory live? This program puts something in every
//! region of the address-space figure, then reads its own `/proc/self/maps`
//! to find out which region each address landed in.
//!
//! `cargo run --example where_is_it`
use allocators::os::{Mapping, page_size, program_break, sbrk};
use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};

/// One line of `/proc/self/maps`: an address range, its permissions and
/// what backs it (a file path, `[heap]`, `[stack]`, or nothing).
struct Region {
    start: usize,
    end: usize,
    perms: String,
    name: String,
}

/// This process's memory map, and the path of its own executable.
struct Maps {
    regions: Vec<Region>,
    exe: String,
}

impl Maps {
    /// Parses `/proc/self/maps`: `start-end perms offset dev inode [name]`.
    fn read() -> io::Result<Maps> {
        let text = std::fs::read_to_string("/proc/self/maps")?;
        let bad = |line: &str| io::Error::other(format!("unexpected maps line: {line}"));
        let mut regions = Vec::new();
        for line in text.lines() {
            let mut fields = line.split_whitespace();
            let range = fields.next().ok_or_else(|| bad(line))?;
            let perms = fields.next().ok_or_else(|| bad(line))?.to_string();
            // Skip offset, device and inode; the rest (if any) is the name.
            let name = fields.skip(3).collect::<Vec<_>>().join(" ");
            let (start, end) = range.split_once('-').ok_or_else(|| bad(line))?;
            let hex = |s: &str| usize::from_str_radix(s, 16).map_err(|_| bad(line));
            regions.push(Region {
                start: hex(start)?,
                end: hex(end)?,
                perms,
                name,
            });
        }
        let exe = std::fs::read_link("/proc/self/exe")?;
        let exe = exe.to_string_lossy().into_owned();
        Ok(Maps { regions, exe })
    }

    /// The region that holds `addr`.
    fn find(&self, addr: usize) -> io::Result<&Region> {
        self.regions
            .iter()
            .find(|r| r.start <= addr && addr < r.end)
            .ok_or_else(|| io::Error::other(format!("{addr:#x} is in no mapping")))
    }

    /// Whether `addr` is in a region mapped from this program's own file.
    fn in_binary(&self, addr: usize) -> io::Result<bool> {
        Ok(self.find(addr)?.name == self.exe)
    }

    /// A short description of what backs `region`.
    fn describe<'a>(&'a self, region: &'a Region) -> &'a str {
        match region.name.as_str() {
            "" => "(anonymous mapping)",
            name if name == self.exe => "(this program's binary)",
            name => name,
        }
    }
}

// ANCHOR: places
/// Starts at 42, so its initial value is stored in the binary: `.data`.
static DATA: AtomicUsize = AtomicUsize::new(42);
/// Starts at zero, so the binary only records its size: `.bss`.
static BSS: AtomicUsize = AtomicUsize::new(0);

fn main() -> io::Result<()> {
    let boxed = Box::new(7u64); // small: malloc's main arena
    let big = vec![1u8; 1 << 20]; // 1 MiB: above glibc's mmap threshold
    let local = 7u64; // a local variable: the stack
    let literal = "hello"; // a string literal: read-only data in the binary
    let mapping = Mapping::new(1)?; // our own anonymous mmap

    // SAFETY: this process has one thread, and the page is never given back,
    // so glibc's malloc (which notices the moved break) can never reuse it.
    let chunk = unsafe { sbrk(page_size() as isize) }?;

    let places = [
        ("text", "fn main", main as fn() -> io::Result<()> as usize),
        ("rodata", "\"hello\"", literal.as_ptr() as usize),
        ("data", "static DATA = 42", &DATA as *const _ as usize),
        ("bss", "static BSS = 0", &BSS as *const _ as usize),
        ("heap", "Box::new(7u64)", &*boxed as *const u64 as usize),
        ("heap", "sbrk(page_size())", chunk as usize),
        ("mmap", "vec![1u8; 1 << 20]", big.as_ptr() as usize),
        ("mmap", "Mapping::new(1)", mapping.as_ptr() as usize),
        ("stack", "let local = 7u64", &local as *const u64 as usize),
    ];
    // ANCHOR_END: places

    // Read the map only now, when every region above exists.
    let brk = program_break() as usize;
    let maps = Maps::read()?;
    for (kind, what, addr) in places {
        let region = maps.find(addr)?;
        let (perms, name) = (&region.perms, maps.describe(region));
        println!("{kind:<6} {what:<19} {addr:#014x}  {perms} {name}");
    }
    let [
        text,
        rodata,
        data,
        bss,
        small,
        brk_chunk,
        big_vec,
        mapped,
        stack,
    ] = places.map(|p| p.2);
    let heap = maps.find(brk_chunk)?;
    let (start, end) = (heap.start, heap.end);
    println!("[heap] is {start:#x}..{end:#x}; the program break is {brk:#x}");

    // Code and initialised statics come from the program's own file.
    assert!(maps.in_binary(text)? && maps.find(text)?.perms.contains('x'));
    assert!(maps.in_binary(data)? && maps.find(data)?.perms.starts_with("rw"));
    // Read-only data comes from the file too, and cannot be written.
    assert!(maps.in_binary(rodata)? && !maps.find(rodata)?.perms.contains('w'));
    // The file holds no bytes for the bss, only its size. Its first bytes
    // share the page where the data ends (mapped from the file, the rest of
    // the page zeroed); whatever does not fit there is an anonymous mapping
    // that starts right where the binary's last mapping ends.
    let bss_region = maps.find(bss)?;
    assert!(
        maps.in_binary(bss)?
            || (bss_region.name.is_empty() && maps.in_binary(bss_region.start - 1)?)
    );
    // The heap starts above the program's data and bss...
    assert!(text < data && data < bss && bss < heap.start);
    // ...the memory sbrk adds is the [heap], and the break is its end.
    assert_eq!(heap.name, "[heap]");
    assert!(brk_chunk + page_size() <= brk && brk <= heap.end);
    // Anonymous mappings have no name, and the stack local is on [stack].
    assert_eq!(maps.find(mapped)?.name, "");
    assert_eq!(maps.find(stack)?.name, "[stack]");
    assert!(mapped < stack && big_vec < stack);
    if cfg!(target_env = "gnu") {
        // glibc: small requests from the brk heap, large ones from mmap. A
        // chunk mapped on its own starts at the front of its mapping, and the
        // block follows the chunk header's two words, prev_size and size.
        assert_eq!(maps.find(small)?.name, "[heap]");
        assert_eq!(maps.find(big_vec)?.name, "");
        assert_eq!(big_vec % page_size(), 2 * std::mem::size_of::<usize>());
    }
    // A second mapping of the same size, made right after the first: the
    // usual, top-down layout puts it below, the legacy layout above.
    let next = Mapping::new(1)?;
    let below = (next.as_ptr() as usize) < mapped;
    let (way, layout) = if below {
        ("below", "top-down")
    } else {
        ("above", "bottom-up")
    };
    println!("a second Mapping::new(1) went {way} the first: the {layout} layout");
    assert_eq!(below, !legacy_layout()?);
    if !legacy_layout()? && !huge_stack_limit()? {
        // Top-down, from just below the stack: the mappings sit between the
        // heap and the stack.
        assert!(heap.end <= mapped && heap.end <= big_vec);
    }
    DATA.fetch_add(1, Ordering::Relaxed); // use the statics, so they stay
    BSS.fetch_add(1, Ordering::Relaxed);
    Ok(())
}

/// Whether the kernel uses the legacy, bottom-up mmap layout, in which each
/// new mapping goes above the last one. Every Linux architecture picks it for
/// the `ADDR_COMPAT_LAYOUT` personality and when `vm.legacy_va_layout` is
/// nonzero. Most (arm64, riscv and others, in `mmap_is_legacy` in
/// mm/util.c) pick it for an unlimited stack too; x86 has not since Linux
/// 4.6 (`mmap_is_legacy` in arch/x86/mm/mmap.c).
fn legacy_layout() -> io::Result<bool> {
    // SAFETY: 0xffffffff only queries the personality; it changes nothing.
    let persona = unsafe { libc::personality(0xffff_ffff) };
    let sysctl = std::fs::read_to_string("/proc/sys/vm/legacy_va_layout").unwrap_or_default();
    let x86 = cfg!(any(target_arch = "x86_64", target_arch = "x86"));
    Ok((persona != -1 && persona & libc::ADDR_COMPAT_LAYOUT != 0)
        || sysctl.trim().parse::<u32>().is_ok_and(|v| v != 0)
        || (!x86 && stack_limit()? == libc::RLIM_INFINITY))
}

/// Whether the stack limit is unlimited, or so large (1 TiB or more) that
/// the kernel may start the mappings below the program: it leaves room for
/// the whole stack limit under the stack (up to five sixths of the address
/// space; `mmap_base` in arch/x86/mm/mmap.c).
fn huge_stack_limit() -> io::Result<bool> {
    let limit = stack_limit()?;
    Ok(limit == libc::RLIM_INFINITY || limit >= 1 << 40)
}

/// The soft limit on the stack's size, as `ulimit -s` sets it.
fn stack_limit() -> io::Result<libc::rlim_t> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one rlimit into the struct we own.
    if unsafe { libc::getrlimit(libc::RLIMIT_STACK, &mut limit) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(limit.rlim_cur)
}
