//! The UDP server: worker threads that each receive a batch of datagrams with one `recvmmsg`,
//! answer what they can at once (the answer table, or the core) into buffers they keep, and
//! send the batch back with one `sendmmsg`. Queries that wait on upstream servers go to the
//! async runtime and are answered from there; receiving never waits on them. The handler
//! passes every UDP reply through response rate limiting (`net::rrl`) first, so a reply it
//! holds back is never sent and a slipped one is sent truncated.
//!
//! A socket skydns bound itself is one of a `SO_REUSEPORT` group, one socket per worker (the
//! kernel spreads clients over them); a socket passed by systemd is shared by the workers.

use std::io::{IoSlice, IoSliceMut};
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::{AsRawFd, RawFd};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::socket::{recvmmsg, sendmmsg, sendto, MsgFlags, MultiHeaders, SockaddrStorage};
use tokio::runtime::Handle;
use tokio::sync::watch;

use super::handler::Now;
use super::Handler;
use crate::core::Transport;
use crate::metrics::query::Dropped;

/// Datagrams received and answered per system call.
const BATCH: usize = 32;

/// The largest query read; longer datagrams are not DNS queries we answer.
const RECV_BUFFER: usize = 4096;

/// How often a worker blocked in `recvmmsg` looks at the shutdown signal.
const WAKE_UP: Duration = Duration::from_millis(200);

/// Starts `workers` threads on each socket (sockets that are one of a `SO_REUSEPORT` group
/// pass 1). The returned task ends when every worker has stopped, after `shutdown` turned
/// true.
pub fn serve(
    sockets: Vec<UdpSocket>,
    workers: usize,
    handler: &Arc<Handler>,
    shutdown: &watch::Receiver<bool>,
) -> std::io::Result<tokio::task::JoinHandle<()>> {
    let runtime = Handle::current();
    let mut threads: Vec<JoinHandle<()>> = Vec::new();
    for socket in sockets {
        socket.set_nonblocking(false)?;
        socket.set_read_timeout(Some(WAKE_UP))?;
        let socket = Arc::new(socket);
        for n in 0..workers.max(1) {
            let worker = Worker {
                socket: socket.clone(),
                handler: handler.clone(),
                runtime: runtime.clone(),
                shutdown: shutdown.clone(),
            };
            let name = format!("udp-{}-{n}", socket.as_raw_fd());
            threads.push(
                std::thread::Builder::new()
                    .name(name)
                    .spawn(move || worker.run())?,
            );
        }
    }
    Ok(tokio::task::spawn_blocking(move || {
        for thread in threads {
            let _ = thread.join();
        }
    }))
}

/// One worker thread's share.
struct Worker {
    socket: Arc<UdpSocket>,
    handler: Arc<Handler>,
    runtime: Handle,
    shutdown: watch::Receiver<bool>,
}

/// Buffers a worker keeps for its whole life.
struct Buffers {
    queries: Box<[[u8; RECV_BUFFER]; BATCH]>,
    replies: Vec<Vec<u8>>,
    received: MultiHeaders<SockaddrStorage>,
    sending: MultiHeaders<SockaddrStorage>,
}

/// One received datagram: its length and sender (or `None` when it was cut short).
type Received = Option<(usize, SockaddrStorage)>;

impl Worker {
    fn run(self) {
        let fd = self.socket.as_raw_fd();
        let mut buffers = Buffers {
            queries: Box::new([[0; RECV_BUFFER]; BATCH]),
            replies: (0..BATCH).map(|_| Vec::with_capacity(1232)).collect(),
            received: MultiHeaders::preallocate(BATCH, None),
            sending: MultiHeaders::preallocate(BATCH, None),
        };
        let mut arrived: [Received; BATCH] = [None; BATCH];
        let mut to: [Option<SockaddrStorage>; BATCH] = [None; BATCH];
        while !*self.shutdown.borrow() {
            let count = match receive(fd, &mut buffers, &mut arrived) {
                Ok(count) => count,
                Err(Errno::EAGAIN | Errno::EINTR) => continue,
                Err(e) => {
                    tracing::debug!(error = %e, "UDP receive failed");
                    continue;
                }
            };
            let mut replies = 0;
            for (i, arrival) in arrived[..count].iter().enumerate() {
                let Some((len, from)) = arrival else {
                    self.handler.dropped(Dropped::Oversize);
                    continue;
                };
                let Some(peer) = socket_addr(from) else {
                    continue;
                };
                let query = &buffers.queries[i][..*len];
                let out = &mut buffers.replies[replies];
                match self.handler.answer_now(query, Transport::Udp, peer, out) {
                    Now::Reply => {
                        to[replies] = Some(*from);
                        replies += 1;
                    }
                    Now::Drop => {}
                    Now::Later => self.answer_later(query.to_vec(), peer),
                }
            }
            send(fd, &mut buffers, &to[..replies]);
        }
    }

    /// Hands a query that waits on upstream servers to the async runtime.
    fn answer_later(&self, query: Vec<u8>, peer: SocketAddr) {
        let (handler, socket) = (self.handler.clone(), self.socket.clone());
        self.runtime.spawn(async move {
            if let Some(reply) = handler.answer_later(&query, Transport::Udp, peer).await {
                let to = SockaddrStorage::from(peer);
                // Never wait on a full send buffer: the client asks again.
                if let Err(e) = sendto(socket.as_raw_fd(), &reply, &to, MsgFlags::MSG_DONTWAIT) {
                    tracing::debug!(error = %e, %peer, "UDP send failed");
                }
            }
        });
    }
}

/// Receives up to [`BATCH`] datagrams (waiting for the first one at most [`WAKE_UP`]).
fn receive(
    fd: RawFd,
    buffers: &mut Buffers,
    arrived: &mut [Received; BATCH],
) -> nix::Result<usize> {
    let mut slices: [[IoSliceMut<'_>; 1]; BATCH] =
        buffers.queries.each_mut().map(|buf| [IoSliceMut::new(buf)]);
    let results = recvmmsg(
        fd,
        &mut buffers.received,
        slices.iter_mut(),
        MsgFlags::MSG_WAITFORONE,
        None,
    )?;
    let mut count = 0;
    for (slot, msg) in arrived.iter_mut().zip(results) {
        *slot = match msg.address {
            Some(from) if !msg.flags.contains(MsgFlags::MSG_TRUNC) => Some((msg.bytes, from)),
            _ => None,
        };
        count += 1;
    }
    Ok(count)
}

/// Sends the first replies of `buffers` to `to`, all of them even when the kernel takes
/// fewer per call.
fn send(fd: RawFd, buffers: &mut Buffers, to: &[Option<SockaddrStorage>]) {
    let mut sent = 0;
    while sent < to.len() {
        let pending = &buffers.replies[sent..to.len()];
        let slices: [[IoSlice<'_>; 1]; BATCH] =
            std::array::from_fn(|i| [IoSlice::new(pending.get(i).map_or(&[], Vec::as_slice))]);
        match sendmmsg(
            fd,
            &mut buffers.sending,
            slices[..pending.len()].iter(),
            &to[sent..],
            [] as [nix::sys::socket::ControlMessage<'_>; 0],
            MsgFlags::empty(),
        ) {
            Ok(results) => {
                let n = results.count();
                if n == 0 {
                    return;
                }
                sent += n;
            }
            Err(Errno::EINTR) => {}
            Err(e) => {
                tracing::debug!(error = %e, "UDP send failed");
                // Skip the datagram the kernel refused, send the rest.
                sent += 1;
            }
        }
    }
}

/// The standard form of a received address.
fn socket_addr(addr: &SockaddrStorage) -> Option<SocketAddr> {
    if let Some(v4) = addr.as_sockaddr_in() {
        return Some(SocketAddr::V4((*v4).into()));
    }
    addr.as_sockaddr_in6()
        .map(|v6| SocketAddr::V6((*v6).into()))
}
