//! TCP for the ureq agent, with fewer system calls per request than ureq's own
//! `TcpConnector`, which an export over 300,000 addresses feels (measured with
//! `strace -c` on `export --sync`: 17 calls a photo, 9 of them for these):
//!
//! * ureq sets the socket's read or write timeout before every read and write
//!   (a `setsockopt` each, 3 a photo), as the time left shrinks. Here the
//!   timeout is set again only when the time left has moved by more than
//!   [`SLACK`]: a read may then wait up to that much past the deadline, and a
//!   socket timeout that comes before the deadline is retried with the rest.
//! * ureq sends a request's head and its body with a write each; here they
//!   are held until the answer is awaited and go out in one.
//! * ureq probes a pooled connection twice, when it is put back and when it is
//!   taken out (`ioctl`, `recv`, `ioctl` each). The probe when it is put back
//!   tells nothing the one when it is taken out does not, so it is skipped;
//!   the other is one `recv` that peeks without waiting.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use ureq::Timeout;
use ureq::unversioned::transport::{
    Buffers, ConnectionDetails, Connector, Either, LazyBuffers, NextTimeout, ShutdownHandle,
    Transport,
};

/// How far a socket timeout may be from the time left before it is set again.
const SLACK: Duration = Duration::from_millis(250);

/// Bytes held before they are sent anyway.
const HOLD: usize = 16 * 1024;

/// Connects plain TCP, as the first link of the chain.
#[derive(Debug, Default)]
pub(crate) struct TcpConnector;

impl<In: Transport> Connector<In> for TcpConnector {
    type Out = Either<In, TcpTransport>;

    fn connect(
        &self,
        details: &ConnectionDetails,
        chained: Option<In>,
    ) -> Result<Option<Self::Out>, ureq::Error> {
        // A SOCKS proxy's connection comes first and is used as it is.
        if chained.is_some() {
            return Ok(chained.map(Either::A));
        }
        let stream = connect(&details.addrs, details.timeout)?;
        if details.config.no_delay() {
            stream.set_nodelay(true)?;
        }
        let transport = TcpTransport {
            stream: Arc::new(stream),
            buffers: LazyBuffers::new(
                details.config.input_buffer_size(),
                details.config.output_buffer_size(),
            ),
            read_timeout: None,
            write_timeout: None,
            held: Vec::new(),
            probe_next: false,
        };
        let handle: Weak<dyn ShutdownHandle> =
            Arc::downgrade(&(Arc::clone(&transport.stream) as Arc<dyn ShutdownHandle>));
        (details.register_shutdown)(handle)?;
        Ok(Some(Either::B(transport)))
    }
}

/// Tries the addresses in turn: each gets half the time left, the last all
/// of it. An address the network cannot reach (no route, refused) gives way
/// to the next at once.
fn connect(addrs: &[SocketAddr], timeout: NextTimeout) -> Result<TcpStream, ureq::Error> {
    let started = Instant::now();
    let budget = timeout.not_zero().map(|d| *d);
    let mut last = None;
    for (i, addr) in addrs.iter().enumerate() {
        let attempt = match budget {
            None => TcpStream::connect(addr),
            Some(budget) => {
                let left = budget.saturating_sub(started.elapsed());
                if left.is_zero() {
                    return Err(ureq::Error::Timeout(Timeout::Connect));
                }
                let share = if i + 1 == addrs.len() { left } else { left / 2 };
                TcpStream::connect_timeout(addr, share.max(Duration::from_millis(10)))
            }
        };
        match attempt {
            Ok(stream) => return Ok(stream),
            Err(e) if address_only(&e) => last = Some(e),
            Err(e) if e.kind() == io::ErrorKind::TimedOut => {
                if budget.is_some_and(|b| started.elapsed() >= b) {
                    return Err(ureq::Error::Timeout(timeout.reason));
                }
                last = Some(e);
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(match last {
        Some(e) if e.kind() == io::ErrorKind::TimedOut => ureq::Error::Timeout(Timeout::Connect),
        Some(e) => e.into(),
        None => io::Error::new(io::ErrorKind::ConnectionRefused, "no address to connect to").into(),
    })
}

/// A failure that concerns this address only: the next may work.
fn address_only(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::HostUnreachable
            | io::ErrorKind::NetworkUnreachable
            | io::ErrorKind::NetworkDown
            | io::ErrorKind::AddrNotAvailable
    )
}

/// One TCP connection.
#[derive(Debug)]
pub(crate) struct TcpTransport {
    /// Shared with the agent, which may shut it down from another thread.
    stream: Arc<TcpStream>,
    buffers: LazyBuffers,
    /// What the socket's timeouts are set to.
    read_timeout: Option<Duration>,
    write_timeout: Option<Duration>,
    /// Output not sent yet.
    held: Vec<u8>,
    /// The next liveness probe is a real one (see the module documentation).
    probe_next: bool,
}

impl TcpTransport {
    fn send_held(&mut self, timeout: NextTimeout) -> Result<(), ureq::Error> {
        if self.held.is_empty() {
            return Ok(());
        }
        let timeout = timeout.for_write();
        if timeout.after.is_zero() {
            return Err(ureq::Error::Timeout(timeout.reason));
        }
        let want = timeout.not_zero().map(|d| *d);
        if differs(self.write_timeout, want) {
            self.stream.set_write_timeout(want)?;
            self.write_timeout = want;
        }
        let result = (&*self.stream).write_all(&self.held);
        self.held.clear();
        match result {
            Ok(()) => Ok(()),
            Err(e) if is_timeout(&e) => Err(ureq::Error::Timeout(timeout.reason)),
            Err(e) => Err(e.into()),
        }
    }
}

/// True when a socket timeout of `set` is too far from `want` to keep.
fn differs(set: Option<Duration>, want: Option<Duration>) -> bool {
    match (set, want) {
        (Some(set), Some(want)) => set.abs_diff(want) > SLACK.min(want / 8),
        (None, None) => false,
        _ => true,
    }
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
    )
}

impl Transport for TcpTransport {
    fn buffers(&mut self) -> &mut dyn Buffers {
        &mut self.buffers
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), ureq::Error> {
        let output = &self.buffers.output()[..amount];
        self.held.extend_from_slice(output);
        if self.held.len() >= HOLD {
            self.send_held(timeout)?;
        }
        Ok(())
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
        self.send_held(timeout)?;
        self.probe_next = false;
        let timeout = timeout.for_read();
        if timeout.after.is_zero() {
            return Err(ureq::Error::Timeout(timeout.reason));
        }
        let want = timeout.not_zero().map(|d| *d);
        let deadline = want.map(|w| Instant::now() + w);
        if differs(self.read_timeout, want) {
            self.stream.set_read_timeout(want)?;
            self.read_timeout = want;
        }
        let input = self.buffers.input_append_buf();
        let amount = loop {
            match (&*self.stream).read(input) {
                Ok(n) => break n,
                // A socket timeout set a little early, or a signal: go on
                // for the time that is left.
                Err(e) if is_timeout(&e) || e.kind() == io::ErrorKind::Interrupted => {
                    let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
                    match left {
                        Some(left) if left.is_zero() => {
                            return Err(ureq::Error::Timeout(timeout.reason));
                        }
                        Some(left) => {
                            self.stream.set_read_timeout(Some(left))?;
                            self.read_timeout = Some(left);
                        }
                        None if e.kind() == io::ErrorKind::Interrupted => return Err(e.into()),
                        None => return Err(ureq::Error::Timeout(timeout.reason)),
                    }
                }
                Err(e) => return Err(e.into()),
            }
        };
        self.buffers.input_appended(amount);
        Ok(amount > 0)
    }

    fn is_open(&mut self) -> bool {
        // ureq asks when it puts the connection back, right after reading the
        // answer, and again when it takes it out for the next request: only
        // the second answer matters.
        if !self.probe_next {
            self.probe_next = true;
            return true;
        }
        probe(&self.stream).unwrap_or(false)
    }
}

/// True when the connection is open and the server sent nothing unasked: a
/// peek that does not wait (one call, where ureq makes three).
#[cfg(unix)]
fn probe(stream: &TcpStream) -> io::Result<bool> {
    use rustix::net::{RecvFlags, recv};
    let mut byte = [0u8; 1];
    match recv(stream, &mut byte, RecvFlags::PEEK | RecvFlags::DONTWAIT) {
        Err(e) if e == rustix::io::Errno::AGAIN || e == rustix::io::Errno::WOULDBLOCK => Ok(true),
        // Bytes nobody asked for, an end of file or an error: not reusable.
        _ => Ok(false),
    }
}

/// True when the connection is open and the server sent nothing unasked.
#[cfg(not(unix))]
fn probe(mut stream: &TcpStream) -> io::Result<bool> {
    stream.set_nonblocking(true)?;
    let mut byte = [0u8];
    let open = match stream.read(&mut byte) {
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => true,
        // Bytes nobody asked for, an end of file or an error: not reusable.
        _ => false,
    };
    stream.set_nonblocking(false)?;
    Ok(open)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_socket_timeout_is_set_again_only_when_far_from_the_time_left() {
        let s = Duration::from_secs;
        let ms = Duration::from_millis;
        assert!(!differs(Some(s(30)), Some(s(30) - ms(200))));
        assert!(differs(Some(s(30)), Some(s(30) - ms(300))));
        assert!(differs(Some(s(30)), Some(s(31))));
        // Short timeouts get a proportionally small slack.
        assert!(differs(Some(ms(800)), Some(ms(600))));
        assert!(!differs(Some(ms(800)), Some(ms(750))));
        assert!(differs(None, Some(s(1))));
        assert!(differs(Some(s(1)), None));
        assert!(!differs(None, None));
    }
}
