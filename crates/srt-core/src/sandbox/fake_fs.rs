//! An in-memory filesystem for the planners' golden tests.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::paths::{DirEntry, FsView};

/// An in-memory tree: directories, files and symlinks by absolute path.
#[derive(Default)]
pub struct FakeFs {
    pub nodes: BTreeMap<PathBuf, Node>,
}

pub enum Node {
    Dir,
    File,
    Link(PathBuf),
    Unreadable,
}

impl FakeFs {
    pub fn new(dirs: &[&str], files: &[&str]) -> Self {
        let mut fs = FakeFs::default();
        for d in dirs {
            fs.add(d, Node::Dir);
        }
        for f in files {
            fs.add(f, Node::File);
        }
        fs
    }
    pub fn add(&mut self, path: &str, node: Node) {
        let path = PathBuf::from(path);
        for ancestor in path.ancestors().skip(1) {
            self.nodes.entry(ancestor.to_path_buf()).or_insert(Node::Dir);
        }
        self.nodes.insert(path, node);
    }
    fn resolve(&self, path: &Path, hops: usize) -> Option<PathBuf> {
        if hops > 16 {
            return None;
        }
        let mut out = PathBuf::from("/");
        for part in path.components().skip(1) {
            out.push(part);
            if let Node::Link(target) = self.nodes.get(&out)? {
                out = self.resolve(target, hops + 1)?;
            }
        }
        Some(out)
    }
}

impl FsView for FakeFs {
    fn real_path(&self, path: &Path) -> Option<PathBuf> {
        self.resolve(path, 0)
    }
    fn is_dir(&self, path: &Path) -> bool {
        matches!(self.nodes.get(path), Some(Node::Dir | Node::Unreadable))
    }
    fn list_dir(&self, path: &Path) -> Option<Vec<DirEntry>> {
        if matches!(self.nodes.get(path), Some(Node::Unreadable)) {
            return None;
        }
        Some(
            self.nodes
                .iter()
                .filter(|(p, _)| p.parent() == Some(path) && p.as_path() != path)
                .map(|(p, n)| {
                    let name = p.file_name().unwrap().to_os_string();
                    (name, matches!(n, Node::Dir | Node::Unreadable), matches!(n, Node::Link(_)))
                })
                .collect(),
        )
    }
    fn exists_no_follow(&self, path: &Path) -> bool {
        self.nodes.contains_key(path)
    }
}
