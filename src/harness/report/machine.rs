//! Which program wrote a result and on which machine: what `compare`
//! lists among the differences between results.

use serde::{Deserialize, Serialize};

/// The program that wrote a result.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tool {
    /// `geecache-bench`.
    pub name: String,
    /// The crate's version.
    pub version: String,
}

impl Tool {
    /// This program.
    pub fn current() -> Tool {
        Tool {
            name: env!("CARGO_PKG_NAME").to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
        }
    }
}

/// The machine a run ran on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Machine {
    /// Cores available to the process.
    pub cores: usize,
    /// `linux`, `macos`, ...
    pub os: String,
    /// The distribution's name, when known.
    pub os_release: Option<String>,
    /// The kernel's release, when known.
    pub kernel: Option<String>,
    /// `x86_64`, `aarch64`, ...
    pub arch: String,
    /// The CPU's model name, when known.
    pub cpu: Option<String>,
    /// `release` or `debug`: a debug build's figures are not representative.
    pub profile: String,
}

impl Machine {
    /// This machine.
    pub fn current() -> Machine {
        let read = |path: &str| std::fs::read_to_string(path).ok();
        let os_release = read("/etc/os-release").and_then(|text| {
            text.lines()
                .find_map(|line| line.strip_prefix("PRETTY_NAME="))
                .map(|name| name.trim_matches('"').to_owned())
        });
        let cpu = read("/proc/cpuinfo").and_then(|text| {
            text.lines()
                .find(|line| line.starts_with("model name"))
                .and_then(|line| line.split_once(':'))
                .map(|(_, name)| name.trim().to_owned())
        });
        Machine {
            cores: std::thread::available_parallelism().map_or(1, usize::from),
            os: std::env::consts::OS.to_owned(),
            os_release,
            kernel: read("/proc/sys/kernel/osrelease").map(|text| text.trim().to_owned()),
            arch: std::env::consts::ARCH.to_owned(),
            cpu,
            profile: if cfg!(debug_assertions) {
                "debug"
            } else {
                "release"
            }
            .to_owned(),
        }
    }
}
