//! A file srt writes for its sandboxes to be shown (bound read-only), in a
//! directory only srt writes, under a name no one can guess; removed when
//! dropped.

use std::path::{Path, PathBuf};

pub struct OwnFile(PathBuf);

impl OwnFile {
    /// `dir/<stem>-<pid>-<random><ext>`, made new with `mode`, holding
    /// `bytes`; `what` names it in errors.
    pub fn write(dir: &Path, stem: &str, ext: &str, mode: u32, bytes: &[u8], what: &str) -> Result<OwnFile, String> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let name = crate::sys::random_hex(8).map_err(|e| format!("cannot read random bytes: {e}"))?;
        let path = dir.join(format!("{stem}-{}-{name}{ext}", std::process::id()));
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&path)
            .map_err(|e| format!("cannot write {what} {}: {e}", path.display()))?;
        // Owned from here: a failed write leaves no file behind.
        let own = OwnFile(path);
        file.write_all(bytes).map_err(|e| format!("cannot write {what} {}: {e}", own.0.display()))?;
        Ok(own)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for OwnFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
