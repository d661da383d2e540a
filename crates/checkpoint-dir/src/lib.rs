//! `CheckpointDir`: the engine's checkpoint storage in a real directory, as files a user can `ls`:
//! atomic writes (a hidden temp file, fsync, rename), no path that leaves the folder or goes through a
//! symlink, and one folder per bridge namespace.

use engine::storage::Storage;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

const MAX_PATH: usize = 1024;

pub struct CheckpointDir {
    root: PathBuf,
}

impl CheckpointDir {
    /// Storage under `root` (created on the first write).
    pub fn new(root: impl Into<PathBuf>) -> CheckpointDir {
        CheckpointDir { root: root.into() }
    }

    /// The folder of a namespace under the bridge's checkpoint root (`lab-0123456789ab-` → `lab-0123456789ab`).
    pub fn for_namespace(checkpoint_root: &Path, prefix: &str) -> CheckpointDir {
        let name = prefix.trim_end_matches('-');
        CheckpointDir::new(if name.is_empty() { checkpoint_root.to_path_buf() } else { checkpoint_root.join(name) })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Maps a `/`-separated relative path into the root. Refuses empty, `.`/`..` and hidden components
    /// (our temp files are hidden), backslashes, NUL, absolute paths, and symlinks on the way.
    fn path(&self, p: &str) -> Result<PathBuf, String> {
        if p.is_empty() || p.len() > MAX_PATH || p.starts_with('/') {
            return Err(format!("invalid storage path `{p}`"));
        }
        let mut out = self.root.clone();
        for c in p.split('/') {
            if c.is_empty() || c.starts_with('.') || c.contains('\\') || c.contains('\0') || c.len() > 255 {
                return Err(format!("invalid storage path `{p}`: component `{c}`"));
            }
            out.push(c);
            if fs::symlink_metadata(&out).map(|m| m.file_type().is_symlink()).unwrap_or(false) {
                return Err(format!("storage path `{p}` goes through a symlink"));
            }
        }
        Ok(out)
    }

    /// Every file under `dir`, subfolders included, as `/`-separated paths from the root (`dir/…`)
    /// with their sizes, sorted; hidden names (our temp files) and symlinks are left out. More than
    /// `max` files is an error naming the limit. A missing `dir` has none.
    pub fn files_under(&self, dir: &str, max: usize) -> Result<Vec<(String, u64)>, String> {
        let start = self.path(dir)?;
        let mut out = Vec::new();
        let mut todo = vec![(start, dir.trim_end_matches('/').to_string())];
        while let Some((d, rel)) = todo.pop() {
            let entries = match fs::read_dir(&d) {
                Ok(e) => e,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(io(e, &d)),
            };
            for e in entries {
                let e = e.map_err(|e| io(e, &d))?;
                let name = e.file_name().to_string_lossy().into_owned();
                let kind = e.file_type().map_err(|err| io(err, &e.path()))?;
                if name.starts_with('.') || kind.is_symlink() {
                    continue;
                }
                let path = format!("{rel}/{name}");
                if kind.is_dir() {
                    todo.push((e.path(), path));
                } else if kind.is_file() {
                    out.push((path, e.metadata().map_err(|err| io(err, &e.path()))?.len()));
                    if out.len() > max {
                        return Err(format!("more than {max} files under {dir}"));
                    }
                }
            }
        }
        out.sort();
        Ok(out)
    }
}

/// Writes a hidden sibling of `path`, flushes it to disk, then renames it over `path`: a reader (or a
/// crash) sees the old file or the new one, never half of one. `private` makes the file readable by
/// its owner only (mode 0600 on Unix), from its first byte. The parent folder must exist. This is the
/// one path by which the bridge writes files (checkpoints, and a workshop's state).
pub fn write_atomic(path: &Path, bytes: &[u8], private: bool) -> std::io::Result<()> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let parent = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "no file name"))?.to_string_lossy();
    let tmp = parent.join(format!(".{name}.{}-{}.tmp", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed)));
    let result = (|| {
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        if private {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        #[cfg(not(unix))]
        let _ = private;
        let mut f = options.open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    // Make the rename itself durable (best effort: not every filesystem allows syncing a folder).
    if let Ok(d) = fs::File::open(parent) {
        let _ = d.sync_all();
    }
    Ok(())
}

fn io(e: std::io::Error, p: &Path) -> String {
    format!("{}: {e}", p.display())
}

impl Storage for CheckpointDir {
    fn list(&self, dir: &str) -> Result<Vec<String>, String> {
        let d = self.path(dir)?;
        let entries = match fs::read_dir(&d) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(vec![]),
            Err(e) => return Err(io(e, &d)),
        };
        let mut names = Vec::new();
        for e in entries {
            let e = e.map_err(|e| io(e, &d))?;
            let name = e.file_name().to_string_lossy().into_owned();
            // Files only, like Hadoop's listStatus filtered by Spark; hidden ones are our temp files.
            if !name.starts_with('.') && e.file_type().map_err(|err| io(err, &e.path()))?.is_file() {
                names.push(name);
            }
        }
        names.sort();
        Ok(names)
    }

    fn read(&self, path: &str) -> Result<Vec<u8>, String> {
        let p = self.path(path)?;
        fs::read(&p).map_err(|e| io(e, &p))
    }

    /// Writes a hidden sibling, flushes it to disk, then renames it over the target: a reader (or a
    /// crash) sees the old file or the new one, never half of one.
    fn write(&mut self, path: &str, bytes: &[u8]) -> Result<(), String> {
        let p = self.path(path)?;
        let parent = p.parent().expect("a path under the root has a parent");
        fs::create_dir_all(parent).map_err(|e| io(e, parent))?;
        write_atomic(&p, bytes, false).map_err(|e| io(e, &p))
    }

    fn rename(&mut self, from: &str, to: &str) -> Result<(), String> {
        let (a, b) = (self.path(from)?, self.path(to)?);
        if let Some(parent) = b.parent() {
            fs::create_dir_all(parent).map_err(|e| io(e, parent))?;
        }
        fs::rename(&a, &b).map_err(|e| io(e, &a))
    }

    fn delete(&mut self, path: &str) -> Result<(), String> {
        let p = self.path(path)?;
        let r = match fs::symlink_metadata(&p) {
            Ok(m) if m.is_dir() => fs::remove_dir_all(&p),
            Ok(_) => fs::remove_file(&p),
            Err(e) => Err(e),
        };
        match r {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io(e, &p)),
            _ => Ok(()),
        }
    }

    fn exists(&self, path: &str) -> bool {
        self.path(path).map(|p| p.exists()).unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_root(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("offset-lab-storage-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn files_round_trip_on_disk() {
        let root = temp_root("roundtrip");
        let mut s = CheckpointDir::new(&root);
        assert_eq!(s.list("ckpt").unwrap(), Vec::<String>::new());
        s.write("ckpt/checkpoint-1000", b"one").unwrap();
        s.write("ckpt/checkpoint-1000", b"two").unwrap();
        s.write("ckpt/abc/rdd-3/part-00000", b"state").unwrap();
        assert_eq!(fs::read(root.join("ckpt/checkpoint-1000")).unwrap(), b"two");
        assert_eq!(s.list("ckpt").unwrap(), vec!["checkpoint-1000".to_string()], "no temp files, no folders");
        s.rename("ckpt/checkpoint-1000", "ckpt/checkpoint-1000.bk").unwrap();
        assert!(s.exists("ckpt/checkpoint-1000.bk") && !s.exists("ckpt/checkpoint-1000"));
        s.delete("ckpt/abc").unwrap();
        assert!(!root.join("ckpt/abc").exists());
        s.delete("ckpt/nothing").unwrap();
        assert!(s.read("ckpt/checkpoint-1000").unwrap_err().contains("checkpoint-1000"));
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn private_atomic_writes_are_owner_only_and_leave_no_temp_file() {
        use std::os::unix::fs::PermissionsExt;
        let root = temp_root("private");
        fs::create_dir_all(&root).unwrap();
        let p = root.join("secret");
        write_atomic(&p, b"one", true).unwrap();
        write_atomic(&p, b"two", true).unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        assert_eq!(fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(fs::read_dir(&root).unwrap().count(), 1, "no temp file left");
        assert!(write_atomic(&root.join("missing/x"), b"x", false).is_err());
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn files_under_a_folder_are_listed_with_subfolders_and_sizes_and_without_temp_files() {
        let root = temp_root("tree");
        let mut s = CheckpointDir::new(&root);
        s.write("ckpt/checkpoint-5000", b"abc").unwrap();
        s.write("ckpt/u1/rdd-3", b"hello").unwrap();
        s.write("other/x", b"x").unwrap();
        fs::write(root.join("ckpt/.checkpoint-5000.1-1.tmp"), b"half").unwrap();
        let files = s.files_under("ckpt", 10).unwrap();
        assert_eq!(files, vec![("ckpt/checkpoint-5000".to_string(), 3), ("ckpt/u1/rdd-3".to_string(), 5)]);
        assert_eq!(s.files_under("missing", 10).unwrap(), vec![]);
        assert!(s.files_under("../x", 10).is_err());
        assert!(s.files_under("ckpt", 1).unwrap_err().contains("more than 1 files under ckpt"));
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn paths_cannot_leave_the_root() {
        let root = temp_root("escape");
        let mut s = CheckpointDir::new(&root);
        for bad in ["../x", "a/../../x", "/etc/passwd", "", "a//b", ".hidden", "a/.b.tmp", "a\\b"] {
            assert!(s.write(bad, b"x").is_err(), "{bad} accepted");
            assert!(s.read(bad).is_err(), "{bad} accepted");
        }
        fs::create_dir_all(&root).unwrap();
        std::os::unix::fs::symlink("/tmp", root.join("link")).unwrap();
        assert!(s.write("link/x", b"x").unwrap_err().contains("symlink"));
        assert!(s.delete("link").is_err());
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn engine_checkpoint_writes_rotate_on_disk() {
        use engine::storage::{serve, StorageReply, StorageRequest};
        let root = temp_root("rotate");
        let mut s = CheckpointDir::for_namespace(&root, "lab-0123456789ab-");
        assert_eq!(s.root(), root.join("lab-0123456789ab"));
        let write = |t| StorageRequest::WriteCheckpoint { dir: "ckpt".into(), file_time: t, bytes: vec![1, 2, 3] };
        let first = serve(&mut s, &write(engine::time::Time(1000)));
        let second = serve(&mut s, &write(engine::time::Time(1000)));
        match (first, second) {
            (StorageReply::Written { result: Ok(a) }, StorageReply::Written { result: Ok(b) }) => {
                assert!(a.contains(&"checkpoint-1000".to_string()), "{a:?}");
                // Spark keeps the previous file of the same time as `.bk`.
                assert!(b.contains(&"checkpoint-1000.bk".to_string()), "{b:?}");
            }
            other => panic!("{other:?}"),
        }
        assert!(root.join("lab-0123456789ab/ckpt/checkpoint-1000").is_file());
        fs::remove_dir_all(&root).unwrap();
    }
}
