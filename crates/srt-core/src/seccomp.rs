//! The seccomp filter the helper installs on the command just before exec,
//! written with `seccompiler` (no C helper, no prebuilt BPF files).
//!
//! Always refused with EPERM: `io_uring_*` (its operations bypass the
//! filter), the kernel keyring calls (`keyctl`, `add_key`, `request_key`:
//! the caller's keys would be readable and writable from inside), `bpf`,
//! `perf_event_open` and `userfaultfd` (kernel attack surface, whatever the
//! host's sysctls allow),
//! `socket(AF_VSOCK)` (the hypervisor's services, which no network namespace
//! separates), and setting the setuid or setgid bit (`chmod`, `fchmod`,
//! `fchmodat`, `fchmodat2`, and `open`, `openat`, `creat`, `mknod`,
//! `mknodat` creating with it): the sandbox's mounts are `nosuid`, but the
//! files stay on the host, where a caller running as root would have left a
//! setuid-root program for any local user. `openat2`, whose mode a filter
//! cannot read, gets ENOSYS (libc's `open` does not use it).
//! Unless unix sockets are allowed, also: `socket(AF_UNIX)` (it reaches host
//! services by path) and `socketpair(AF_UNIX)` of any type but `SOCK_STREAM`
//! and `SOCK_SEQPACKET` (a datagram pair, which `SOCK_RAW` quietly is too,
//! can `sendto` any host socket by path; stream and sequenced-packet pairs
//! are connected, the kernel ignores an address given to them, and programs
//! use them as pipes: cargo and rustc spawn their children through one).
//! Unless nested user namespaces are allowed, also the calls that make
//! namespaces or mounts (`mount`, `umount2`, `pivot_root`, `setns`, the new
//! mount API, `unshare` and `clone` with `CLONE_NEWUSER` or `CLONE_NEWNS`),
//! as the reference does; `clone3`, whose flags a filter cannot read, gets
//! ENOSYS so that libc falls back to `clone`.
//! A foreign architecture is killed.

use std::collections::BTreeMap;

use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen as Len, SeccompCmpOp as Op, SeccompCondition as Cond, SeccompFilter,
    SeccompRule, TargetArch,
};

#[cfg(target_arch = "x86_64")]
const ARCH: Option<TargetArch> = Some(TargetArch::x86_64);
#[cfg(target_arch = "aarch64")]
const ARCH: Option<TargetArch> = Some(TargetArch::aarch64);
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
const ARCH: Option<TargetArch> = None;

/// x32 system calls share x86-64's audit architecture and differ by this bit.
#[cfg(target_arch = "x86_64")]
const ALIASES: &[i64] = &[0, 0x4000_0000];
#[cfg(not(target_arch = "x86_64"))]
const ALIASES: &[i64] = &[0];

fn rule(conditions: Vec<Cond>) -> Result<SeccompRule, String> {
    SeccompRule::new(conditions).map_err(|e| e.to_string())
}

fn arg_eq(index: u8, value: u64) -> Result<Cond, String> {
    Cond::new(index, Len::Dword, Op::Eq, value).map_err(|e| e.to_string())
}

/// What the filters refuse beyond the fixed part.
#[derive(Clone, Copy, Debug)]
pub struct Refuse {
    pub unix_sockets: bool,
    pub namespaces: bool,
}

/// The filters to install, in order (seccomp stacks them; the strictest answer wins).
pub fn filters(refuse: Refuse) -> Result<Vec<BpfProgram>, String> {
    let mut out = vec![filter(refuse.unix_sockets, refuse.namespaces)?];
    // Calls whose arguments a filter cannot read, answered "not implemented"
    // so that libc falls back to one it can.
    let arch = ARCH.ok_or("seccomp filtering is not supported on this architecture")?;
    let mut unreadable = vec![libc::SYS_openat2];
    if refuse.namespaces {
        unreadable.push(libc::SYS_clone3);
    }
    let rules: BTreeMap<i64, Vec<SeccompRule>> =
        ALIASES.iter().flat_map(|a| unreadable.iter().map(move |nr| (nr | a, Vec::new()))).collect();
    let enosys = SeccompFilter::new(rules, SeccompAction::Allow, SeccompAction::Errno(libc::ENOSYS as u32), arch)
        .map_err(|e| e.to_string())?;
    out.push(enosys.try_into().map_err(|e: seccompiler::BackendError| e.to_string())?);
    Ok(out)
}

/// Rules matching a mode argument (at `mode`) with the setuid or setgid bit,
/// each also requiring `also` (for `open`: that it creates a file).
fn setid_mode(mode: u8, also: &[Cond]) -> Result<Vec<SeccompRule>, String> {
    [libc::S_ISUID as u64, libc::S_ISGID as u64]
        .iter()
        .map(|bit| {
            let mut conds = also.to_vec();
            conds.push(Cond::new(mode, Len::Dword, Op::MaskedEq(*bit), *bit).map_err(|e| e.to_string())?);
            rule(conds)
        })
        .collect()
}

/// The rules for creating a file with the setuid or setgid bit: `open`-like
/// calls with their flags at `flags` and mode at `mode` (the mode counts only
/// with `O_CREAT` or `O_TMPFILE`; otherwise it is whatever the register held).
fn setid_create(flags: u8, mode: u8) -> Result<Vec<SeccompRule>, String> {
    const O_TMPFILE_BIT: u64 = 0o20_000_000; // __O_TMPFILE, without O_DIRECTORY
    let mut rules = setid_mode(
        mode,
        &[Cond::new(flags, Len::Dword, Op::MaskedEq(libc::O_CREAT as u64), libc::O_CREAT as u64)
            .map_err(|e| e.to_string())?],
    )?;
    rules.extend(setid_mode(
        mode,
        &[Cond::new(flags, Len::Dword, Op::MaskedEq(O_TMPFILE_BIT), O_TMPFILE_BIT).map_err(|e| e.to_string())?],
    )?);
    Ok(rules)
}

fn flag_set(index: u8, flag: u64) -> Result<Cond, String> {
    Cond::new(index, Len::Qword, Op::MaskedEq(flag), flag).map_err(|e| e.to_string())
}

/// The EPERM filter for this machine's architecture.
pub fn filter(block_unix_sockets: bool, block_namespaces: bool) -> Result<BpfProgram, String> {
    let arch = ARCH.ok_or("seccomp filtering is not supported on this architecture")?;
    let af_unix = libc::AF_UNIX as u64;
    let mut socket = vec![rule(vec![arg_eq(0, libc::AF_VSOCK as u64)?])?];
    if block_unix_sockets {
        socket.push(rule(vec![arg_eq(0, af_unix)?])?);
    }
    // The socket type is the low four bits of the argument (the rest are flags).
    let mut socketpair = Vec::new();
    let connected = [libc::SOCK_STREAM as u64, libc::SOCK_SEQPACKET as u64];
    for sock_type in (0..16u64).filter(|t| !connected.contains(t)) {
        let type_is = Cond::new(1, Len::Dword, Op::MaskedEq(0xf), sock_type).map_err(|e| e.to_string())?;
        socketpair.push(rule(vec![arg_eq(0, af_unix)?, type_is])?);
    }
    let always = [
        libc::SYS_io_uring_setup,
        libc::SYS_io_uring_enter,
        libc::SYS_io_uring_register,
        libc::SYS_keyctl,
        libc::SYS_add_key,
        libc::SYS_request_key,
        // Kernel attack surface a command has no use for, whatever the host's
        // sysctls allow (as container runtimes' default profiles do).
        libc::SYS_bpf,
        libc::SYS_perf_event_open,
        libc::SYS_userfaultfd,
    ];
    let mount_calls = [
        libc::SYS_mount,
        libc::SYS_umount2,
        libc::SYS_pivot_root,
        libc::SYS_setns,
        libc::SYS_open_tree,
        libc::SYS_move_mount,
        libc::SYS_fsopen,
        libc::SYS_fsconfig,
        libc::SYS_fsmount,
        libc::SYS_fspick,
        libc::SYS_mount_setattr,
    ];
    let new_ns = [libc::CLONE_NEWUSER as u64, libc::CLONE_NEWNS as u64];
    let unshare: Vec<SeccompRule> = new_ns.iter().map(|f| rule(vec![flag_set(0, *f)?])).collect::<Result<_, _>>()?;
    // clone's flags are its first argument on x86-64 and arm64 alike.
    let clone: Vec<SeccompRule> = new_ns.iter().map(|f| rule(vec![flag_set(0, *f)?])).collect::<Result<_, _>>()?;
    // Setting the setuid or setgid bit, by mode changes and by creation.
    #[cfg(target_arch = "x86_64")]
    let legacy: Vec<(i64, Vec<SeccompRule>)> = vec![
        (libc::SYS_chmod, setid_mode(1, &[])?),
        (libc::SYS_creat, setid_mode(1, &[])?),
        (libc::SYS_mknod, setid_mode(1, &[])?),
        (libc::SYS_open, setid_create(1, 2)?),
    ];
    #[cfg(not(target_arch = "x86_64"))]
    let legacy: Vec<(i64, Vec<SeccompRule>)> = Vec::new();
    let mut setid: Vec<(i64, Vec<SeccompRule>)> = vec![
        (libc::SYS_fchmod, setid_mode(1, &[])?),
        (libc::SYS_fchmodat, setid_mode(2, &[])?),
        (libc::SYS_fchmodat2, setid_mode(2, &[])?),
        (libc::SYS_mknodat, setid_mode(2, &[])?),
        (libc::SYS_openat, setid_create(2, 3)?),
    ];
    setid.extend(legacy);
    let mut rules: BTreeMap<i64, Vec<SeccompRule>> = BTreeMap::new();
    for alias in ALIASES {
        for (nr, r) in &setid {
            rules.insert(nr | alias, r.clone());
        }
        rules.insert(libc::SYS_socket | alias, socket.clone());
        if block_namespaces {
            for nr in mount_calls {
                rules.insert(nr | alias, Vec::new());
            }
            rules.insert(libc::SYS_unshare | alias, unshare.clone());
            rules.insert(libc::SYS_clone | alias, clone.clone());
        }
        if block_unix_sockets {
            rules.insert(libc::SYS_socketpair | alias, socketpair.clone());
        }
        for nr in always {
            rules.insert(nr | alias, Vec::new());
        }
    }
    let filter = SeccompFilter::new(rules, SeccompAction::Allow, SeccompAction::Errno(libc::EPERM as u32), arch)
        .map_err(|e| e.to_string())?;
    filter.try_into().map_err(|e: seccompiler::BackendError| e.to_string())
}

/// Installs `program` on the calling thread (with no_new_privs).
pub fn apply(program: &BpfProgram) -> Result<(), String> {
    seccompiler::apply_filter(program).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    #[test]
    fn filter_builds_for_this_architecture() {
        let strict = super::filter(true, true).expect("the filter compiles");
        let lenient = super::filter(false, false).expect("the filter compiles");
        assert!(strict.len() > lenient.len() && lenient.len() > 10);
        let all = super::filters(super::Refuse { unix_sockets: true, namespaces: true }).unwrap();
        assert_eq!(all.len(), 2, "openat2 and clone3 get ENOSYS from a filter of their own");
        let lenient_all = super::filters(super::Refuse { unix_sockets: false, namespaces: false }).unwrap();
        assert_eq!(lenient_all.len(), 2, "openat2 always gets ENOSYS");
    }
}
