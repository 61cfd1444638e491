//! Giving up root after the sockets are bound and the key files read: supplementary groups,
//! then the group, then the user (real, effective and saved IDs), before any thread exists so
//! every later thread inherits the new identity. Then we check that root cannot be regained,
//! that no capability is left, and forbid gaining privileges again (no-new-privs) and core dumps
//! of key material (not dumpable).

use std::ffi::CString;

use nix::sys::prctl;
use nix::unistd::{self, Gid, Group, Uid, User};
use thiserror::Error;

/// The account used when `--user` is not given.
pub const DEFAULT_USER: &str = "skydns";
/// The fallback when [`DEFAULT_USER`] does not exist.
pub const FALLBACK_USER: &str = "nobody";

/// Why the switch to the unprivileged account failed; skydns does not start then.
#[derive(Debug, Error)]
pub enum PrivilegeError {
    /// The `--user` account does not exist; holds the name.
    #[error("user `{0}` (--user) does not exist")]
    NoSuchUser(String),
    /// The `--group` group does not exist; holds the name.
    #[error("group `{0}` (--group) does not exist")]
    NoSuchGroup(String),
    /// No `--user`, and neither [`DEFAULT_USER`] nor [`FALLBACK_USER`] exists.
    #[error("neither the `{DEFAULT_USER}` nor the `{FALLBACK_USER}` account exists; create `{DEFAULT_USER}` or pass --user")]
    NoDefaultUser,
    /// The account to switch to has UID 0; holds its name.
    #[error("--user `{0}` is root; skydns does not keep running as root")]
    RootTarget(String),
    /// The user or group database cannot be read.
    #[error("cannot look up {what}: {source}")]
    Lookup {
        /// What was looked up, e.g. ``user `skydns` ``.
        what: String,
        /// The OS error.
        source: nix::Error,
    },
    /// A system call of the switch failed.
    #[error("cannot drop privileges ({step}): {source}")]
    Step {
        /// The call, e.g. `setresuid`.
        step: &'static str,
        /// The OS error.
        source: nix::Error,
    },
    /// The check after the switch failed: the IDs are not all the new ones, root could be
    /// regained or a capability is left; holds what was found.
    #[error("privileges were not dropped: {0}")]
    Check(String),
}

/// What happened to our identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dropped {
    /// Not started as root: nothing to drop.
    NotRoot {
        /// The effective UID we run as.
        uid: u32,
    },
    /// Now running as this user and group.
    To {
        /// The user's name.
        user: String,
        /// The user's UID.
        uid: u32,
        /// The group's name (its GID as text when the group database has no entry).
        group: String,
        /// The group's GID.
        gid: u32,
        /// The default account was missing and `nobody` was used instead.
        fell_back: bool,
    },
}

/// Switches to `user` (default `skydns`, else `nobody`) and `group` (default: the user's) when
/// running as root; does nothing otherwise. Must run before any thread is started.
pub fn drop_privileges(user: Option<&str>, group: Option<&str>) -> Result<Dropped, PrivilegeError> {
    if !unistd::geteuid().is_root() && !unistd::getuid().is_root() {
        return Ok(Dropped::NotRoot {
            uid: unistd::geteuid().as_raw(),
        });
    }
    let (account, fell_back) = target_user(user)?;
    if account.uid.is_root() {
        return Err(PrivilegeError::RootTarget(account.name));
    }
    let group = match group {
        Some(name) => lookup_group(name)?,
        None => Group::from_gid(account.gid)
            .ok()
            .flatten()
            .unwrap_or_else(|| unnamed_group(account.gid)),
    };
    let name = CString::new(account.name.as_str())
        .map_err(|_| PrivilegeError::NoSuchUser(account.name.clone()))?;
    unistd::initgroups(&name, group.gid).map_err(step("initgroups"))?;
    unistd::setresgid(group.gid, group.gid, group.gid).map_err(step("setresgid"))?;
    unistd::setresuid(account.uid, account.uid, account.uid).map_err(step("setresuid"))?;
    verify(account.uid, group.gid)?;
    prctl::set_no_new_privs().map_err(step("PR_SET_NO_NEW_PRIVS"))?;
    prctl::set_dumpable(false).map_err(step("PR_SET_DUMPABLE"))?;
    Ok(Dropped::To {
        user: account.name,
        uid: account.uid.as_raw(),
        group: group.name,
        gid: group.gid.as_raw(),
        fell_back,
    })
}

fn step(step: &'static str) -> impl Fn(nix::Error) -> PrivilegeError {
    move |source| PrivilegeError::Step { step, source }
}

fn target_user(user: Option<&str>) -> Result<(User, bool), PrivilegeError> {
    let find = |name: &str| {
        User::from_name(name).map_err(|source| PrivilegeError::Lookup {
            what: format!("user `{name}`"),
            source,
        })
    };
    match user {
        Some(name) => find(name)?
            .map(|u| (u, false))
            .ok_or_else(|| PrivilegeError::NoSuchUser(name.to_owned())),
        None => match find(DEFAULT_USER)? {
            Some(u) => Ok((u, false)),
            None => find(FALLBACK_USER)?
                .map(|u| (u, true))
                .ok_or(PrivilegeError::NoDefaultUser),
        },
    }
}

fn lookup_group(name: &str) -> Result<Group, PrivilegeError> {
    Group::from_name(name)
        .map_err(|source| PrivilegeError::Lookup {
            what: format!("group `{name}`"),
            source,
        })?
        .ok_or_else(|| PrivilegeError::NoSuchGroup(name.to_owned()))
}

/// A group with no entry in the group database (a user's primary GID may lack one).
fn unnamed_group(gid: Gid) -> Group {
    Group {
        name: gid.to_string(),
        passwd: CString::default(),
        gid,
        mem: Vec::new(),
    }
}

/// Checks the switch: all IDs are the new ones, root cannot be regained and no capability is
/// left (setuid from root to non-root clears them unless keep-caps was set).
fn verify(uid: Uid, gid: Gid) -> Result<(), PrivilegeError> {
    let ids = unistd::getresuid().map_err(step("getresuid"))?;
    let gids = unistd::getresgid().map_err(step("getresgid"))?;
    if [ids.real, ids.effective, ids.saved] != [uid; 3]
        || [gids.real, gids.effective, gids.saved] != [gid; 3]
    {
        return Err(PrivilegeError::Check(format!(
            "user IDs are {ids:?}, group IDs {gids:?}"
        )));
    }
    if unistd::setuid(Uid::from_raw(0)).is_ok() || unistd::seteuid(Uid::from_raw(0)).is_ok() {
        return Err(PrivilegeError::Check("root could be regained".into()));
    }
    if unistd::setgid(Gid::from_raw(0)).is_ok() {
        return Err(PrivilegeError::Check("group root could be regained".into()));
    }
    let status = std::fs::read_to_string("/proc/self/status")
        .map_err(|e| PrivilegeError::Check(format!("cannot read /proc/self/status: {e}")))?;
    for field in ["CapPrm:", "CapEff:", "CapAmb:"] {
        let value = status
            .lines()
            .find_map(|l| l.strip_prefix(field))
            .map(str::trim);
        // Kernels before 4.3 have no ambient capabilities (and no CapAmb line).
        let clear = match value {
            Some(v) => v.trim_start_matches('0').is_empty(),
            None => field == "CapAmb:",
        };
        if clear {
            continue;
        }
        return Err(PrivilegeError::Check(format!(
            "capabilities left: {field} {}",
            value.unwrap_or("missing")
        )));
    }
    Ok(())
}
