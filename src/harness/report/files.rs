//! Result files: their default names, writing them atomically and reading
//! them back (refusing other schema versions).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::schema::{Mode, RunResult, SCHEMA_VERSION};
use crate::harness::workload::Workload;
use crate::units::ByteSize;

/// Why a result could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum ResultFileError {
    /// The file system refused.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// The file is not JSON of the shape expected, or the result could
    /// not be written as JSON.
    #[error("{path}: {source}")]
    Json {
        /// The file.
        path: String,
        /// What serde found.
        source: serde_json::Error,
    },
    /// The file is a result of another schema version.
    #[error(
        "{path}: schema version {} is not {SCHEMA_VERSION}, the version this program reads",
        found.map_or("missing".to_owned(), |version| version.to_string())
    )]
    Version {
        /// The file.
        path: String,
        /// Its schema version, when it has one.
        found: Option<u64>,
    },
    /// The file is of another kind, or of a newer format, than the reader
    /// reads.
    #[error("{path}: not a {what} of format {reads} or older (kind {kind:?}, format {found})")]
    Kind {
        /// The file.
        path: String,
        /// What the reader reads ("capacity result").
        what: &'static str,
        /// The newest format the reader reads.
        reads: u32,
        /// The file's kind.
        kind: String,
        /// The file's format.
        found: u32,
    },
}

impl ResultFileError {
    /// A JSON failure to read or write `path`.
    pub fn json(path: &Path) -> impl FnOnce(serde_json::Error) -> ResultFileError + '_ {
        move |source| ResultFileError::Json {
            path: path.display().to_string(),
            source,
        }
    }
}

/// The default file name of a result:
/// `<workload>-<nodes>n-<replicas>r-<cache>-<timestamp>.json`.
pub(crate) fn default_file_name(result: &RunResult, timestamp: &str) -> String {
    let nodes = match result.mode {
        Mode::Cluster => result.workload.cluster.nodes as usize,
        Mode::Target => result.nodes.len(),
    };
    file_name_of(&result.workload, nodes, timestamp)
}

/// The default file name of a result of `workload` over `nodes` nodes.
fn file_name_of(workload: &Workload, nodes: usize, timestamp: &str) -> String {
    let cluster = &workload.cluster;
    format!(
        "{}-{}n-{}r-{}-{timestamp}.json",
        workload.name,
        nodes.max(1),
        cluster.replicas,
        ByteSize(cluster.cache_bytes.bytes())
    )
}

/// Where in `directory` a run of `workload` goes, before it has a result:
/// its default name, with `-2`, `-3` ... if a file of that name exists.
/// `target_nodes` is a target's nodes read (`--peers`), `None` for a run
/// of its own cluster.
pub fn path_for_run(
    directory: &Path,
    workload: &Workload,
    target_nodes: Option<usize>,
    timestamp: &str,
) -> PathBuf {
    let nodes = target_nodes.unwrap_or(workload.cluster.nodes as usize);
    free_path(directory, &file_name_of(workload, nodes, timestamp))
}

/// `directory`/`name`, or with `-2`, `-3` ... before `.json` if taken.
fn free_path(directory: &Path, name: &str) -> PathBuf {
    let mut path = directory.join(name);
    let stem = name.trim_end_matches(".json");
    let mut attempt = 2;
    while path.exists() {
        path = directory.join(format!("{stem}-{attempt}.json"));
        attempt += 1;
    }
    path
}

/// Writes `result` to `path` atomically: to a temporary file in the same
/// directory first, then renamed, so a reader never sees half a result.
/// Creates the directory if need be.
pub fn write_atomically(result: &RunResult, path: &Path) -> Result<(), ResultFileError> {
    let mut json = serde_json::to_vec_pretty(result).map_err(ResultFileError::json(path))?;
    json.push(b'\n');
    write_bytes_atomically(&json, path)
}

/// Writes `bytes` to `path` through a temporary file and a rename, creating
/// the directory if need be. A path that is there and is not a file (a
/// device such as `/dev/stdout`, a pipe) is written as it is, not replaced.
pub fn write_bytes_atomically(bytes: &[u8], path: &Path) -> Result<(), ResultFileError> {
    if let Some(special) = special_file(path, false).map_err(io_error(path))? {
        return special.map_err(io_error(path)).and_then(|mut file| {
            file.write_all(bytes)
                .and_then(|()| file.flush())
                .map_err(io_error(path))
        });
    }
    let temporary = beside(path, "tmp").map_err(io_error(path))?;
    let written = (|| {
        let mut file = std::fs::File::create(&temporary)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temporary, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    written.map_err(io_error(path))
}

/// The room a result is checked for before a run: a long run's result with
/// its series and histograms is a few hundred kilobytes.
pub const RESULT_ROOM: u64 = 512 * 1024;

/// Checks, before a run, that `path` can be written when the run ends:
/// that `path` is not a directory, and that `room` bytes can be written
/// and synced to a file (removed again) in its directory, or, where that
/// is still to be made, in the nearest directory above it that is there
/// (the one the missing ones will be made in), so a full disk, a read-only
/// directory or a missing permission is found before anything is
/// measured, not after. Nothing is made but the probe: two drivers that
/// check paths in one missing directory at once (shards on one volume)
/// never take it away from each other. A path that is there and is not a
/// file (a device, a pipe) is only opened.
pub fn check_writable(path: &Path, room: u64) -> Result<(), ResultFileError> {
    // Opened without waiting: a pipe with no reader is refused, not
    // waited on.
    if let Some(special) = special_file(path, true).map_err(io_error(path))? {
        return special.map(drop).map_err(io_error(path));
    }
    let directory = path
        .ancestors()
        .skip(1)
        .map(|directory| {
            if directory.as_os_str().is_empty() {
                Path::new(".")
            } else {
                directory
            }
        })
        .find(|directory| directory.exists())
        .unwrap_or(Path::new("."));
    if !directory.is_dir() {
        return Err(io_error(path)(std::io::Error::new(
            std::io::ErrorKind::NotADirectory,
            format!("{} is not a directory", directory.display()),
        )));
    }
    static PROBES: AtomicU64 = AtomicU64::new(0);
    let file_name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| "result.json".to_owned());
    let probe = directory.join(format!(
        ".{file_name}.{}.{}.probe",
        std::process::id(),
        PROBES.fetch_add(1, Ordering::Relaxed)
    ));
    let written = (|| {
        let mut file = std::fs::File::create(&probe)?;
        let block = [0u8; 64 * 1024];
        let mut left = room;
        while left > 0 {
            let now = left.min(block.len() as u64) as usize;
            file.write_all(&block[..now])?;
            left -= now as u64;
        }
        file.sync_all()
    })();
    let _ = std::fs::remove_file(&probe);
    written.map_err(|source| ResultFileError::Io {
        path: path.display().to_string(),
        source: std::io::Error::new(
            source.kind(),
            format!(
                "cannot write {} there before the run ({source})",
                ByteSize(room)
            ),
        ),
    })
}

/// Whether `path` is there and is neither a file nor a directory (a
/// device such as `/dev/stdout`, a pipe): written as it is, once, at the
/// end, never rewritten by checkpoints.
pub fn is_special(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|metadata| !metadata.is_file() && !metadata.is_dir())
}

/// The error of `path` from what the operating system said.
fn io_error(path: &Path) -> impl Fn(std::io::Error) -> ResultFileError + '_ {
    move |source| ResultFileError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// `None` for a path that is a regular file or not there; for one that is
/// something else (a device, a pipe), the file opened for writing (with
/// `nonblocking`, without waiting for a pipe's reader); an error for a
/// directory.
fn special_file(
    path: &Path,
    nonblocking: bool,
) -> std::io::Result<Option<std::io::Result<std::fs::File>>> {
    use std::os::unix::fs::OpenOptionsExt as _;
    match std::fs::metadata(path) {
        Ok(metadata) if metadata.is_dir() => Err(std::io::Error::new(
            std::io::ErrorKind::IsADirectory,
            "is a directory, not a file",
        )),
        Ok(metadata) if !metadata.is_file() => {
            let flags = if nonblocking { libc::O_NONBLOCK } else { 0 };
            Ok(Some(
                std::fs::OpenOptions::new()
                    .write(true)
                    .custom_flags(flags)
                    .open(path),
            ))
        }
        _ => Ok(None),
    }
}

/// A hidden name beside `path` ending in `suffix`, in `path`'s directory
/// (made if need be).
fn beside(path: &Path, suffix: &str) -> std::io::Result<PathBuf> {
    let directory = path
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(directory)?;
    let file_name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| "result.json".to_owned());
    Ok(directory.join(format!(".{file_name}.{}.{suffix}", std::process::id())))
}

/// Writes `result` into `directory` under its default name (with `-2`, `-3`
/// ... if a file of that name exists) and returns the path.
pub fn write_in(
    result: &RunResult,
    directory: &Path,
    timestamp: &str,
) -> Result<PathBuf, ResultFileError> {
    let path = free_path(directory, &default_file_name(result, timestamp));
    write_atomically(result, &path)?;
    Ok(path)
}

/// Reads a result file, refusing other schema versions.
pub fn read(path: &Path) -> Result<RunResult, ResultFileError> {
    let text = std::fs::read_to_string(path).map_err(|source| ResultFileError::Io {
        path: path.display().to_string(),
        source,
    })?;
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(ResultFileError::json(path))?;
    let found = value
        .get("schema_version")
        .and_then(serde_json::Value::as_u64);
    if found != Some(u64::from(SCHEMA_VERSION)) {
        return Err(ResultFileError::Version {
            path: path.display().to_string(),
            found,
        });
    }
    serde_json::from_value(value).map_err(ResultFileError::json(path))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::harness::report::schema::tests::sample;

    #[test]
    fn the_check_before_a_run_leaves_nothing_and_refuses_what_cannot_be_written() {
        let root = std::env::temp_dir().join(format!("geecache-check-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).unwrap();
        // Directories made for the check go again; the path is not made.
        let deep = root.join("new").join("deeper").join("result.json");
        check_writable(&deep, 4096).unwrap();
        assert!(!root.join("new").exists());
        assert_eq!(std::fs::read_dir(&root).unwrap().count(), 0);
        // A directory, or a path under a file, is refused and named.
        let error = check_writable(&root, 4096).unwrap_err().to_string();
        assert!(error.contains("is a directory"), "{error}");
        std::fs::write(root.join("file"), "x").unwrap();
        let under = root.join("file").join("result.json");
        let error = check_writable(&under, 4096).unwrap_err().to_string();
        assert!(error.contains("file"), "{error}");
        // A device is only opened; a pipe with no reader is refused at once.
        check_writable(Path::new("/dev/null"), 4096).unwrap();
        let fifo = root.join("fifo");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        if made.is_ok_and(|status| status.success()) {
            assert!(is_special(&fifo));
            assert!(check_writable(&fifo, 4096).is_err());
        }
        assert!(is_special(Path::new("/dev/null")));
        // Checks of paths in a missing directory make nothing to be taken
        // away: another driver's cleanup (here a thread that keeps
        // removing the directory) never breaks them, as it broke shards
        // on one volume when the check made the directory and removed it.
        let shards = root.join("shards");
        let done = std::sync::atomic::AtomicBool::new(false);
        std::thread::scope(|scope| {
            scope.spawn(|| {
                while !done.load(std::sync::atomic::Ordering::Relaxed) {
                    let _ = std::fs::remove_dir(&shards);
                }
            });
            let checkers: Vec<_> = (0..2)
                .map(|shard| {
                    let path = shards.join(format!("shard-{shard}.json"));
                    scope.spawn(move || {
                        (0..300)
                            .filter(|_| check_writable(&path, 0).is_err())
                            .count()
                    })
                })
                .collect();
            let failed: usize = checkers.into_iter().map(|c| c.join().unwrap()).sum();
            done.store(true, std::sync::atomic::Ordering::Relaxed);
            assert_eq!(failed, 0);
        });
        assert!(!shards.exists());
        assert!(!is_special(&root.join("file")) && !is_special(&root));
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn atomic_writes_leave_no_temporary_file_behind_and_fail_clearly() {
        let directory =
            std::env::temp_dir().join(format!("geecache-report-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&directory);
        let path = directory.join("nested").join("x.json");
        let result = sample();
        write_atomically(&result, &path).unwrap();
        let entries: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|entry| entry.unwrap().file_name())
            .collect();
        assert_eq!(entries, ["x.json"]);
        assert_eq!(read(&path).unwrap().client, result.client);

        // A directory where the file should go.
        let blocked = directory.join("nested");
        let error = write_atomically(&result, &blocked).unwrap_err();
        assert!(error.to_string().contains("nested"), "{error}");
        std::fs::remove_dir_all(&directory).unwrap();
    }

    #[test]
    fn other_schema_versions_are_refused() {
        let directory =
            std::env::temp_dir().join(format!("geecache-schema-{}", std::process::id()));
        std::fs::create_dir_all(&directory).unwrap();
        let path = directory.join("old.json");
        let mut value = serde_json::to_value(sample()).unwrap();
        value["schema_version"] = 99.into();
        std::fs::write(&path, value.to_string()).unwrap();
        let error = read(&path).unwrap_err();
        assert!(error.to_string().contains("schema version 99"), "{error}");
        std::fs::remove_dir_all(&directory).unwrap();
    }

    /// A series of one-second intervals with these loads, hit ratios and
    /// errors.

    #[test]
    fn file_names_say_workload_nodes_replicas_and_cache() {
        let result = sample();
        assert_eq!(
            default_file_name(&result, "20261124T231500Z"),
            "test-3n-50r-16MiB-20261124T231500Z.json"
        );
    }
}
