//! The conditions a measurement was taken under: machine, build profile,
//! glibc version and the malloc tunables in effect.

use std::ffi::CStr;

/// Where and how the numbers were measured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Machine {
    /// `uname -m`.
    pub arch: String,
    /// The CPU's model name from `/proc/cpuinfo`.
    pub cpu: String,
    /// Cores this process may run on.
    pub cores: usize,
    /// `gnu_get_libc_version()`.
    pub glibc: String,
    /// `release` or `debug` (whether debug assertions are on).
    pub profile: &'static str,
    /// The `GLIBC_TUNABLES` environment variable, if set.
    pub tunables: Option<String>,
}

impl Machine {
    /// Describes the machine this process runs on.
    pub fn current() -> Machine {
        Machine {
            arch: arch(),
            cpu: cpu_model(),
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            glibc: glibc_version(),
            profile: if cfg!(debug_assertions) {
                "debug"
            } else {
                "release"
            },
            tunables: std::env::var("GLIBC_TUNABLES").ok(),
        }
    }

    /// The tunables line: what glibc malloc runs with.
    pub fn tunables_line(&self) -> String {
        match &self.tunables {
            Some(t) => format!("GLIBC_TUNABLES={t}"),
            None => "GLIBC_TUNABLES unset: glibc defaults (mmap_threshold 128 KiB and trim_threshold 128 KiB, both rising dynamically)".to_string(),
        }
    }

    /// One line that names the machine.
    pub fn summary(&self) -> String {
        format!(
            "{} ({}, {} cores), glibc {}, {} build",
            self.cpu, self.arch, self.cores, self.glibc, self.profile
        )
    }
}

fn arch() -> String {
    // SAFETY: utsname is plain bytes, for which all zeroes is a valid value.
    let mut name: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: `name` is a valid, writable utsname.
    if unsafe { libc::uname(&mut name) } != 0 {
        return std::env::consts::ARCH.to_string();
    }
    // SAFETY: uname fills `machine` with a NUL-terminated string.
    unsafe { CStr::from_ptr(name.machine.as_ptr()) }
        .to_string_lossy()
        .into_owned()
}

fn cpu_model() -> String {
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    info.lines()
        .find_map(|l| {
            let (key, value) = l.split_once(':')?;
            matches!(key.trim(), "model name" | "Model" | "cpu model" | "uarch")
                .then(|| value.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".to_string())
}

fn glibc_version() -> String {
    // SAFETY: gnu_get_libc_version returns a static NUL-terminated string.
    unsafe { CStr::from_ptr(libc::gnu_get_libc_version()) }
        .to_string_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_machine_is_described() {
        let m = super::Machine::current();
        assert!(!m.arch.is_empty());
        assert!(m.glibc.starts_with('2'), "{}", m.glibc);
        assert!(m.cores >= 1);
    }
}
