//! The seccomp filter the helper installs on the command just before exec,
//! written with `seccompiler` (no C helper, no prebuilt BPF files).
//!
//! Refused with EPERM: `socket(AF_UNIX)` and `socket(AF_VSOCK)` (they reach
//! host services by path or the hypervisor), `socketpair(AF_UNIX, SOCK_DGRAM)`
//! (an unbound datagram socket can `sendto` any host socket by path; stream
//! pairs stay allowed, programs use them as pipes), and `io_uring_*` (its
//! operations bypass the filter). A foreign architecture is killed.

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

/// Builds the filter for this machine's architecture.
pub fn unix_socket_filter() -> Result<BpfProgram, String> {
    let arch = ARCH.ok_or("seccomp filtering is not supported on this architecture")?;
    let af_unix = libc::AF_UNIX as u64;
    let socket = vec![rule(vec![arg_eq(0, af_unix)?])?, rule(vec![arg_eq(0, libc::AF_VSOCK as u64)?])?];
    let sock_type = Cond::new(1, Len::Dword, Op::MaskedEq(0xf), libc::SOCK_DGRAM as u64).map_err(|e| e.to_string())?;
    let socketpair = vec![rule(vec![arg_eq(0, af_unix)?, sock_type])?];
    let mut rules: BTreeMap<i64, Vec<SeccompRule>> = BTreeMap::new();
    for alias in ALIASES {
        rules.insert(libc::SYS_socket | alias, socket.clone());
        rules.insert(libc::SYS_socketpair | alias, socketpair.clone());
        for nr in [libc::SYS_io_uring_setup, libc::SYS_io_uring_enter, libc::SYS_io_uring_register] {
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
        let program = super::unix_socket_filter().expect("the filter compiles");
        assert!(program.len() > 10);
    }
}
