//! `/proc/self/mountinfo`: how many mounts sit at each mount point. Used on
//! both sides: srt counts the host's, the helper counts the sandbox's.

use std::collections::BTreeMap;

/// Mount point (as bytes, escapes decoded) to the number of mounts there.
pub fn mount_point_counts(mountinfo: &[u8]) -> BTreeMap<Vec<u8>, usize> {
    let mut counts = BTreeMap::new();
    for line in mountinfo.split(|b| *b == b'\n') {
        // id parent major:minor root mount-point options ...
        if let Some(field) = line.split(|b| *b == b' ').nth(4) {
            *counts.entry(unescape(field)).or_insert(0) += 1;
        }
    }
    counts
}

/// The kernel writes space, tab, newline and backslash as `\ooo`.
fn unescape(field: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(field.len());
    let mut i = 0;
    while i < field.len() {
        let octal =
            field.get(i + 1..i + 4).filter(|d| field[i] == b'\\' && d.iter().all(|c| (b'0'..=b'7').contains(c)));
        match octal {
            Some(d) => {
                out.push((d[0] - b'0') * 64 + (d[1] - b'0') * 8 + (d[2] - b'0'));
                i += 4;
            }
            None => {
                out.push(field[i]);
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_escapes() {
        let text = b"22 1 8:1 / / rw - ext4 /dev/sda1 rw\n\
30 22 8:1 /home/u/proj /home/u/proj rw - ext4 /dev/sda1 rw\n\
31 30 8:1 /home/u/proj /home/u/proj ro - ext4 /dev/sda1 rw\n\
32 22 0:40 / /home/u/my\\040dir rw - tmpfs tmpfs rw\n";
        let c = mount_point_counts(text);
        assert_eq!(c.get(b"/home/u/proj".as_slice()), Some(&2));
        assert_eq!(c.get(b"/home/u/my dir".as_slice()), Some(&1));
        assert_eq!(c.get(b"/".as_slice()), Some(&1));
    }
}
