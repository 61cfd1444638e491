//! The sockets skydns serves: adopted from systemd socket activation (`LISTEN_FDS` and
//! `LISTEN_PID` naming this process) or bound to the configured addresses. Runs before any thread
//! exists: `listenfd` removes the variables from the environment, which is only sound while the
//! process is single-threaded.

use std::io;
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::os::fd::{FromRawFd, RawFd};

use listenfd::ListenFd;
use socket2::{Domain, Socket, Type};
use thiserror::Error;

/// Sockets ready to be served, in blocking mode or not (the servers set what they need).
#[derive(Debug, Default)]
pub struct Sockets {
    /// The UDP sockets: bound by us, one `SO_REUSEPORT` socket per worker and address;
    /// passed by systemd, one per address, shared by the workers.
    pub udp: Vec<UdpSocket>,
    /// The TCP listening sockets.
    pub tcp: Vec<TcpListener>,
    /// Passed by systemd (socket activation) rather than bound by us.
    pub activated: bool,
}

impl Sockets {
    /// Duplicates of every socket (the same kernel sockets under new descriptors).
    pub fn try_clone(&self) -> io::Result<Sockets> {
        Ok(Sockets {
            udp: self
                .udp
                .iter()
                .map(UdpSocket::try_clone)
                .collect::<Result<_, _>>()?,
            tcp: self
                .tcp
                .iter()
                .map(TcpListener::try_clone)
                .collect::<Result<_, _>>()?,
            activated: self.activated,
        })
    }

    /// The local addresses of every socket (each once).
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        let udp = self.udp.iter().filter_map(|s| s.local_addr().ok());
        let tcp = self.tcp.iter().filter_map(|s| s.local_addr().ok());
        let mut addrs: Vec<SocketAddr> = udp.chain(tcp).collect();
        addrs.sort();
        addrs.dedup();
        addrs
    }

    /// Worker threads to run on each UDP socket: every worker has its own socket when we
    /// bound them, and shares the socket systemd passed otherwise.
    pub fn workers_per_udp_socket(&self) -> usize {
        if self.activated {
            worker_count()
        } else {
            1
        }
    }

    /// `udp://addr` and `tcp://addr` for every socket, for the log.
    pub fn describe(&self) -> Vec<String> {
        let addr = |a: io::Result<SocketAddr>| a.map_or_else(|e| e.to_string(), |a| a.to_string());
        let mut udp: Vec<String> = self
            .udp
            .iter()
            .map(|s| format!("udp://{}", addr(s.local_addr())))
            .collect();
        udp.dedup();
        let tcp = self
            .tcp
            .iter()
            .map(|s| format!("tcp://{}", addr(s.local_addr())));
        udp.into_iter().chain(tcp).collect()
    }
}

/// Why the sockets cannot be had.
#[derive(Debug, Error)]
pub enum ListenError {
    /// `--systemd` is set but systemd passed no usable descriptor to this process.
    #[error("--systemd is set but systemd passed no socket (LISTEN_FDS is unset, 0 or names another process); start skydns through skydns.socket or drop --systemd")]
    NoInheritedSockets,
    /// An inherited descriptor cannot be inspected or taken over.
    #[error("inherited socket (fd {fd}) cannot be used: {source}")]
    Inherited {
        /// The descriptor (-1 when it could not be taken from the environment).
        fd: RawFd,
        /// The OS error.
        source: io::Error,
    },
    /// An inherited socket is not a UDP or TCP IP socket.
    #[error("inherited socket (fd {fd}) is {kind}; skydns serves only UDP (ListenDatagram=) and TCP (ListenStream=) IP sockets")]
    WrongKind {
        /// The descriptor.
        fd: RawFd,
        /// What it is instead, for the message.
        kind: String,
    },
    /// A configured address cannot be bound.
    #[error("cannot bind {proto} {addr}: {source}")]
    Bind {
        /// `UDP` or `TCP`.
        proto: &'static str,
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        source: io::Error,
    },
}

/// True when `LISTEN_FDS` is set and `LISTEN_PID` names this process (sd_listen_fds(3)).
pub fn systemd_passed_sockets() -> bool {
    let names_us = std::env::var("LISTEN_PID")
        .ok()
        .and_then(|p| p.trim().parse::<u32>().ok())
        == Some(std::process::id());
    let count = std::env::var("LISTEN_FDS")
        .ok()
        .and_then(|n| n.trim().parse::<u32>().ok())
        .unwrap_or(0);
    names_us && count > 0
}

/// The sockets to serve: inherited ones when systemd passed any (required when `systemd` is
/// set), else `addrs` bound for UDP and TCP. Call before any thread starts.
pub fn acquire(systemd: bool, addrs: &[SocketAddr]) -> Result<Sockets, ListenError> {
    if systemd_passed_sockets() {
        adopt(ListenFd::from_env())
    } else if systemd {
        Err(ListenError::NoInheritedSockets)
    } else {
        bind(addrs)
    }
}

/// Takes every inherited socket, telling UDP from TCP by `SO_TYPE` and checking it is an IP
/// socket.
fn adopt(mut fds: ListenFd) -> Result<Sockets, ListenError> {
    let mut sockets = Sockets {
        activated: true,
        ..Sockets::default()
    };
    for idx in 0..fds.len() {
        let fd = match fds.take_raw_fd(idx) {
            Ok(Some(fd)) => fd,
            Ok(None) => continue,
            Err(source) => return Err(ListenError::Inherited { fd: -1, source }),
        };
        // SAFETY: systemd passed `fd` to this process and `take_raw_fd` hands it out once, so
        // the socket owns it from here on.
        let socket = unsafe { Socket::from_raw_fd(fd) };
        let inherited = |source| ListenError::Inherited { fd, source };
        let kind = socket.r#type().map_err(inherited)?;
        let domain = socket.local_addr().map_err(inherited)?.domain();
        if domain != Domain::IPV4 && domain != Domain::IPV6 {
            return Err(ListenError::WrongKind {
                fd,
                kind: format!("not an IP socket ({domain:?})"),
            });
        }
        socket.set_cloexec(true).map_err(inherited)?;
        socket.set_nonblocking(true).map_err(inherited)?;
        if kind == Type::DGRAM {
            sockets.udp.push(socket.into());
        } else if kind == Type::STREAM {
            sockets.tcp.push(socket.into());
        } else {
            return Err(ListenError::WrongKind {
                fd,
                kind: format!("of type {kind:?}"),
            });
        }
    }
    if sockets.udp.is_empty() && sockets.tcp.is_empty() {
        return Err(ListenError::NoInheritedSockets);
    }
    Ok(sockets)
}

/// Threads that serve UDP: one per CPU this process may run on.
pub fn worker_count() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
}

/// Binds UDP (one `SO_REUSEPORT` socket per worker) and TCP on every address. Port 0 asks for
/// any port: the other sockets then take the port the first one got.
pub fn bind(addrs: &[SocketAddr]) -> Result<Sockets, ListenError> {
    let mut sockets = Sockets::default();
    for &addr in addrs {
        // A plain bind first: a port another process holds, even in a `SO_REUSEPORT` group of
        // its own, is an error here rather than traffic silently shared with it.
        let probe = UdpSocket::bind(addr).map_err(|source| ListenError::Bind {
            proto: "UDP",
            addr,
            source,
        })?;
        let mut port_addr = probe.local_addr().unwrap_or(addr);
        drop(probe);
        for _ in 0..worker_count() {
            let udp = reuse_port_udp(port_addr).map_err(|source| ListenError::Bind {
                proto: "UDP",
                addr: port_addr,
                source,
            })?;
            port_addr = udp.local_addr().unwrap_or(port_addr);
            sockets.udp.push(udp);
        }
        let tcp = TcpListener::bind(port_addr).map_err(|source| ListenError::Bind {
            proto: "TCP",
            addr: port_addr,
            source,
        })?;
        sockets.tcp.push(tcp);
    }
    Ok(sockets)
}

/// A UDP socket bound to `addr` that other sockets of this process may share the port with.
fn reuse_port_udp(addr: SocketAddr) -> io::Result<UdpSocket> {
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, None)?;
    socket.set_reuse_port(true)?;
    socket.set_cloexec(true)?;
    socket.bind(&addr.into())?;
    Ok(socket.into())
}
