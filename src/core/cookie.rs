//! DNS Cookies (RFC 7873) with interoperable server cookies (RFC 9018). Pure: the secret, the
//! client address and the time are passed in.
//!
//! A query's COOKIE option holds the client cookie (8 bytes) and, once the client learnt one,
//! a server cookie (8 to 32 bytes); any other length is malformed (FORMERR, RFC 7873 §5.2.2).
//! Our server cookie is RFC 9018's: version 1, three reserved bytes, a 32-bit timestamp and the
//! SipHash-2-4 of client cookie | version | reserved | timestamp | client IP under a 128-bit
//! secret made at start-up. A server cookie sent back is ours when its hash matches and its
//! timestamp is at most an hour old and at most five minutes ahead; it is sent back unchanged
//! until it is half an hour old, then renewed. Cookies are not required: a query with a
//! missing or bad server cookie is answered normally with a fresh one (RFC 7873 §5.2.3/§5.2.4).

use std::fmt;
use std::net::IpAddr;

use hickory_proto::op::Edns;
use hickory_proto::rr::rdata::opt::{EdnsCode, EdnsOption};
use siphasher::sip::SipHasher24;
use thiserror::Error;

/// Option code of COOKIE.
pub const OPTION_CODE: u16 = 10;

/// Length of a client cookie.
const CLIENT_LEN: usize = 8;

/// Length of our server cookies.
const SERVER_LEN: usize = 16;

/// Length of the COOKIE option data of our replies: the client cookie and our server cookie.
pub const REPLY_LEN: usize = CLIENT_LEN + SERVER_LEN;

/// The server cookie version of RFC 9018.
const VERSION: u8 = 1;

/// Oldest server cookie accepted, in seconds.
const MAX_AGE: u32 = 3600;

/// Furthest a server cookie's timestamp may lie ahead of our clock, in seconds.
const MAX_AHEAD: u32 = 300;

/// Age from which a valid server cookie is replaced by a fresh one, in seconds.
const RENEW_AFTER: u32 = 1800;

/// A query's cookie that is answered with FORMERR (RFC 7873 §5.2.2).
#[derive(Debug, Error, Clone, Copy, PartialEq, Eq)]
pub enum Malformed {
    /// A COOKIE option whose length is not 8, nor 16 to 40.
    #[error("a COOKIE option of {0} bytes (8, or 16 to 40, are allowed)")]
    Length(usize),
    /// More than one COOKIE option.
    #[error("more than one COOKIE option")]
    Repeated,
}

/// A COOKIE option as a query carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Received {
    client: [u8; CLIENT_LEN],
    server: [u8; 32],
    server_len: u8,
}

impl Received {
    /// Reads the option data.
    pub fn parse(data: &[u8]) -> Result<Self, Malformed> {
        let server_len = data.len().wrapping_sub(CLIENT_LEN);
        if server_len != 0 && !(8..=32).contains(&server_len) {
            return Err(Malformed::Length(data.len()));
        }
        let mut client = [0; CLIENT_LEN];
        client.copy_from_slice(&data[..CLIENT_LEN]);
        let mut server = [0; 32];
        server[..server_len].copy_from_slice(&data[CLIENT_LEN..]);
        Ok(Received {
            client,
            server,
            server_len: u8::try_from(server_len).unwrap_or(0),
        })
    }

    /// The client cookie.
    pub fn client(&self) -> &[u8; CLIENT_LEN] {
        &self.client
    }

    /// The server cookie, empty when the client sent none.
    pub fn server(&self) -> &[u8] {
        &self.server[..usize::from(self.server_len)]
    }
}

/// The COOKIE options of a decoded query's OPT record: `Ok(None)` without one, an error when
/// one is malformed or there are several.
pub fn received(edns: Option<&Edns>) -> Result<Option<Received>, Malformed> {
    let Some(edns) = edns else { return Ok(None) };
    match edns.options().get_all(EdnsCode::Cookie).as_slice() {
        [] => Ok(None),
        [EdnsOption::Unknown(_, data)] => Received::parse(data).map(Some),
        // hickory reads option 10 as unknown data: no other form can hold it.
        [_] => Err(Malformed::Length(0)),
        [_, _, ..] => Err(Malformed::Repeated),
    }
}

/// What a query's cookie earns it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checked {
    /// The COOKIE option data of the reply: the client cookie and a server cookie.
    pub reply: [u8; REPLY_LEN],
    /// The query carried a server cookie of ours, still valid for this client.
    pub valid: bool,
}

/// The server secret: the SipHash-2-4 key of our server cookies.
#[derive(Clone)]
pub struct Secret([u8; 16]);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(..)")
    }
}

impl Secret {
    /// A secret with this key.
    pub fn new(key: [u8; 16]) -> Self {
        Secret(key)
    }

    /// The RFC 9018 server cookie for `client` at `ip` with this timestamp and reserved bytes.
    pub fn server_cookie(
        &self,
        client: &[u8; CLIENT_LEN],
        ip: IpAddr,
        reserved: [u8; 3],
        timestamp: u32,
    ) -> [u8; SERVER_LEN] {
        let mut input = [0u8; CLIENT_LEN + 8 + 16];
        input[..CLIENT_LEN].copy_from_slice(client);
        input[8] = VERSION;
        input[9..12].copy_from_slice(&reserved);
        input[12..16].copy_from_slice(&timestamp.to_be_bytes());
        let len = match ip.to_canonical() {
            IpAddr::V4(v4) => {
                input[16..20].copy_from_slice(&v4.octets());
                20
            }
            IpAddr::V6(v6) => {
                input[16..32].copy_from_slice(&v6.octets());
                32
            }
        };
        let hash = SipHasher24::new_with_key(&self.0).hash(&input[..len]);
        let mut cookie = [0u8; SERVER_LEN];
        cookie[..8].copy_from_slice(&input[8..16]);
        cookie[8..].copy_from_slice(&hash.to_le_bytes());
        cookie
    }

    /// Checks the cookie of a query from `ip` at `now_unix` and makes the reply's.
    pub fn check(&self, received: &Received, ip: IpAddr, now_unix: u64) -> Checked {
        let now = serial(now_unix);
        let mut reply = [0u8; REPLY_LEN];
        reply[..CLIENT_LEN].copy_from_slice(&received.client);
        let server = received.server();
        let valid = self.valid(received, ip, now);
        let keep = valid && age(server, now).is_some_and(|age| age <= RENEW_AFTER);
        if keep {
            reply[CLIENT_LEN..].copy_from_slice(server);
        } else {
            let fresh = self.server_cookie(&received.client, ip, [0; 3], now);
            reply[CLIENT_LEN..].copy_from_slice(&fresh);
        }
        Checked { reply, valid }
    }

    /// True when the server cookie is one of ours for this client, within its lifetime.
    fn valid(&self, received: &Received, ip: IpAddr, now: u32) -> bool {
        let server = received.server();
        if server.len() != SERVER_LEN || server[0] != VERSION {
            return false;
        }
        let timestamp = u32::from_be_bytes([server[4], server[5], server[6], server[7]]);
        let ahead = timestamp.wrapping_sub(now);
        if age(server, now).is_none() && ahead > MAX_AHEAD {
            return false;
        }
        let reserved = [server[1], server[2], server[3]];
        let expected = self.server_cookie(&received.client, ip, reserved, timestamp);
        // Compared in full whatever differs, so the time taken tells nothing.
        expected
            .iter()
            .zip(server)
            .fold(0u8, |diff, (a, b)| diff | (a ^ b))
            == 0
    }
}

/// The age of a server cookie's timestamp at `now` when it is in the past and at most
/// [`MAX_AGE`] old (serial number arithmetic: the 32-bit timestamp wraps).
fn age(server: &[u8], now: u32) -> Option<u32> {
    let stamp = server.get(4..8)?;
    let timestamp = u32::from_be_bytes([stamp[0], stamp[1], stamp[2], stamp[3]]);
    Some(now.wrapping_sub(timestamp)).filter(|age| *age <= MAX_AGE)
}

/// Unix seconds as a 32-bit serial number (RFC 1982), as the cookie's timestamp holds them.
fn serial(unix: u64) -> u32 {
    u32::try_from(unix & u64::from(u32::MAX)).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(text: &str) -> Vec<u8> {
        data_encoding::HEXLOWER.decode(text.as_bytes()).unwrap()
    }

    fn secret(text: &str) -> Secret {
        Secret::new(hex(text).try_into().unwrap())
    }

    fn received(text: &str) -> Received {
        Received::parse(&hex(text)).unwrap()
    }

    const SECRET_A: &str = "e5e973e5a6b2a43f48e7dc849e37bfcf";

    /// RFC 9018 appendix A: the examples' cookies, made and checked.
    #[test]
    fn rfc9018_examples() {
        let a = secret(SECRET_A);
        let v4: IpAddr = "198.51.100.100".parse().unwrap();
        // A.1: a client cookie only; a new server cookie.
        let checked = a.check(&received("2464c4abcf10c957"), v4, 1_559_731_985);
        assert!(!checked.valid);
        assert_eq!(
            checked.reply.to_vec(),
            hex("2464c4abcf10c957010000005cf79f111f8130c3eee29480")
        );
        // A.2: that cookie sent back 40 minutes later: valid, and renewed.
        let sent = received("2464c4abcf10c957010000005cf79f111f8130c3eee29480");
        let checked = a.check(&sent, v4, 1_559_734_385);
        assert!(checked.valid);
        assert_eq!(
            checked.reply.to_vec(),
            hex("2464c4abcf10c957010000005cf7a871d4a564a1442aca77")
        );
        // A.3: another client, whose cookie has reserved bits set (they are hashed too); it
        // was made 1 h 52 min before this query, beyond the hour we accept: renewed.
        let other: IpAddr = "203.0.113.203".parse().unwrap();
        let sent = received("fc93fc62807ddb8601abcdef5cf78f71a314227b6679ebf5");
        assert!(a.check(&sent, other, 1_559_727_985 + 60).valid);
        let checked = a.check(&sent, other, 1_559_734_700);
        assert!(!checked.valid);
        assert_eq!(
            checked.reply.to_vec(),
            hex("fc93fc62807ddb86010000005cf7a9acf73a7810aca2381e")
        );
        // A.4: IPv6, the secret rolled over: the old cookie is not valid under the new one.
        let v6: IpAddr = "2001:db8:220:1:59de:d0f4:8769:82b8".parse().unwrap();
        let sent = received("22681ab97d52c298010000005cf7c57926556bd0934c72f8");
        let old = secret("dd3bdf9344b678b185a6f5cb60fca715");
        assert!(old.check(&sent, v6, 1_559_741_961).valid);
        let new = secret("445536bcd2513298075a5d379663c962");
        let checked = new.check(&sent, v6, 1_559_741_961);
        assert!(!checked.valid);
        assert_eq!(
            checked.reply.to_vec(),
            hex("22681ab97d52c298010000005cf7c609a6bb79d16625507a")
        );
    }

    #[test]
    fn a_young_cookie_is_sent_back_unchanged_and_tied_to_the_client_address() {
        let s = secret(SECRET_A);
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let first = s.check(&received("0102030405060708"), ip, 1_000_000);
        let back = Received::parse(&first.reply).unwrap();
        let again = s.check(&back, ip, 1_000_000 + 600);
        assert!(again.valid);
        assert_eq!(again.reply, first.reply);
        let elsewhere = s.check(&back, "192.0.2.2".parse().unwrap(), 1_000_000 + 600);
        assert!(!elsewhere.valid);
        assert_ne!(elsewhere.reply, first.reply);
        // The same client as IPv4-mapped IPv6.
        assert!(
            s.check(&back, "::ffff:192.0.2.1".parse().unwrap(), 1_000_000)
                .valid
        );
    }

    #[test]
    fn the_lifetime_window() {
        let s = secret(SECRET_A);
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let made_at = 4_294_967_000u64; // close to the 32-bit wrap
        let cookie =
            Received::parse(&s.check(&received("0102030405060708"), ip, made_at).reply).unwrap();
        let at = |t: u64| s.check(&cookie, ip, t);
        assert!(at(made_at + 1800).valid);
        assert_eq!(at(made_at + 1800).reply[8..], *cookie.server());
        assert!(at(made_at + 1801).valid, "renewed, still accepted");
        assert_ne!(at(made_at + 1801).reply[8..], *cookie.server());
        assert!(at(made_at + 3600).valid);
        assert!(!at(made_at + 3601).valid);
        assert!(at(made_at - 300).valid, "five minutes of clock skew");
        assert!(!at(made_at - 301).valid);
    }

    #[test]
    fn foreign_and_tampered_server_cookies_are_not_valid() {
        let s = secret(SECRET_A);
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let good = s.check(&received("0102030405060708"), ip, 5000).reply;
        for i in 8..REPLY_LEN {
            let mut bad = good;
            bad[i] ^= 1;
            assert!(!s.check(&Received::parse(&bad).unwrap(), ip, 5000).valid);
        }
        // Another server's 8-byte cookie: answered with ours.
        let foreign = received("0102030405060708aabbccddeeff0011");
        let checked = s.check(&foreign, ip, 5000);
        assert!(!checked.valid);
        assert_eq!(checked.reply, good);
    }

    #[test]
    fn malformed_lengths() {
        for len in [0, 1, 7, 9, 15, 41, 64] {
            assert_eq!(
                Received::parse(&vec![0; len]),
                Err(Malformed::Length(len)),
                "{len}"
            );
        }
        for len in [8, 16, 24, 40] {
            let r = Received::parse(&vec![7; len]).unwrap();
            assert_eq!(r.server().len(), len - 8);
            assert_eq!(r.client(), &[7; 8]);
        }
    }
}
