//! Checkpoint storage in a real directory, so `ls` shows what Spark would have written.

use engine::storage::Storage;
use std::fs;
use std::path::{Path, PathBuf};

pub struct DirStorage {
    root: PathBuf,
}

impl DirStorage {
    pub fn new(root: impl Into<PathBuf>) -> DirStorage {
        DirStorage { root: root.into() }
    }

    /// Maps a storage path into the root, refusing anything that could leave it.
    fn path(&self, p: &str) -> Result<PathBuf, String> {
        if p.split('/').any(|c| c == ".." || c.is_empty()) || p.starts_with('/') {
            return Err(format!("invalid storage path `{p}`"));
        }
        Ok(self.root.join(p))
    }
}

fn io(e: std::io::Error, p: &Path) -> String {
    format!("{}: {e}", p.display())
}

impl Storage for DirStorage {
    fn list(&self, dir: &str) -> Result<Vec<String>, String> {
        let d = self.path(dir)?;
        let entries = match fs::read_dir(&d) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io(e, &d)),
        };
        let mut names = Vec::new();
        for e in entries {
            let e = e.map_err(|e| io(e, &d))?;
            if e.file_type().map_err(|e| io(e, &d))?.is_file() {
                names.push(e.file_name().to_string_lossy().into_owned());
            }
        }
        names.sort();
        Ok(names)
    }

    fn read(&self, path: &str) -> Result<Vec<u8>, String> {
        let p = self.path(path)?;
        fs::read(&p).map_err(|e| io(e, &p))
    }

    /// Writes a sibling temp file and renames it over the target: readers never see half a file.
    fn write(&mut self, path: &str, bytes: &[u8]) -> Result<(), String> {
        let p = self.path(path)?;
        if let Some(parent) = p.parent() {
            fs::create_dir_all(parent).map_err(|e| io(e, parent))?;
        }
        let tmp = p.with_file_name(format!(".{}.tmp", p.file_name().map(|n| n.to_string_lossy()).unwrap_or_default()));
        fs::write(&tmp, bytes).map_err(|e| io(e, &tmp))?;
        fs::rename(&tmp, &p).map_err(|e| io(e, &p))
    }

    fn rename(&mut self, from: &str, to: &str) -> Result<(), String> {
        let (a, b) = (self.path(from)?, self.path(to)?);
        fs::rename(&a, &b).map_err(|e| io(e, &a))
    }

    fn delete(&mut self, path: &str) -> Result<(), String> {
        let p = self.path(path)?;
        let r = if p.is_dir() { fs::remove_dir_all(&p) } else { fs::remove_file(&p) };
        match r {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io(e, &p)),
            _ => Ok(()),
        }
    }

    fn exists(&self, path: &str) -> bool {
        self.path(path).map(|p| p.exists()).unwrap_or(false)
    }
}
