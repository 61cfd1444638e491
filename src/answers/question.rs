//! The quick look at a query that the answer table needs: header, the one question, and an
//! OPT record. Only the plain, common shape is accepted (opcode QUERY, one question without
//! compression, no other records but one OPT of version 0 with at most one well-formed cookie,
//! a well-formed client subnet if any, and without the stub loop guard, nothing after it);
//! anything else returns `None` and goes the full way, where the malformed-packet rules are
//! applied. The table must never answer a query the full way would refuse as malformed.

use hickory_proto::rr::rdata::opt::{ClientSubnet, EdnsCode};

use crate::core::cookie::{self, Received};
use crate::core::wire::HEADER_LEN;

/// The largest wire name.
const MAX_NAME: usize = 255;

/// Option codes that need the full path: the stub-zone loop guard.
const FULL_PATH_OPTIONS: [u16; 1] = [crate::core::answer::stub::LOOP_GUARD_OPTION];

/// A query as the answer table reads it.
#[derive(Debug, Clone)]
pub struct Asked<'a> {
    /// The query ID.
    pub id: u16,
    /// Recursion desired.
    pub rd: bool,
    /// Checking disabled.
    pub cd: bool,
    /// The question as sent: name, type and class.
    pub question: &'a [u8],
    /// The question name in wire format, lowercased.
    pub name: NameBuf,
    /// The question type.
    pub qtype: u16,
    /// The question class.
    pub qclass: u16,
    /// The OPT record, if any.
    pub edns: Option<AskedEdns>,
}

/// What an OPT record of a query says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AskedEdns {
    /// The requester's UDP payload size.
    pub payload: u16,
    /// DNSSEC OK.
    pub dnssec_ok: bool,
    /// The COOKIE option, if any.
    pub cookie: Option<Received>,
}

/// A lowercased wire name, on the stack.
#[derive(Clone)]
pub struct NameBuf {
    bytes: [u8; MAX_NAME],
    len: usize,
}

impl NameBuf {
    /// The wire bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

impl std::fmt::Debug for NameBuf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(self.as_bytes()))
    }
}

/// Reads a query of the common shape; `None` for anything else.
pub fn parse(bytes: &[u8]) -> Option<Asked<'_>> {
    let header = bytes.get(..HEADER_LEN)?;
    let (flags_hi, flags_lo) = (header[2], header[3]);
    let count = |i: usize| u16::from_be_bytes([header[i], header[i + 1]]);
    // QR=0, opcode QUERY, TC=0; one question, no answer or authority, at most an OPT.
    if flags_hi & 0xfa != 0 || count(4) != 1 || count(6) != 0 || count(8) != 0 || count(10) > 1 {
        return None;
    }
    let mut name = NameBuf {
        bytes: [0; MAX_NAME],
        len: 0,
    };
    let mut at = HEADER_LEN;
    loop {
        let len = usize::from(*bytes.get(at)?);
        if len > 63 || name.len + len + 1 > MAX_NAME {
            return None;
        }
        let label = bytes.get(at..=at + len)?;
        name.bytes[name.len..name.len + len + 1].copy_from_slice(label);
        name.len += len + 1;
        at += len + 1;
        if len == 0 {
            break;
        }
    }
    // Length bytes are at most 63, below every capital letter.
    name.bytes[..name.len].make_ascii_lowercase();
    let fixed = bytes.get(at..at + 4)?;
    let qtype = u16::from_be_bytes([fixed[0], fixed[1]]);
    let qclass = u16::from_be_bytes([fixed[2], fixed[3]]);
    let question = &bytes[HEADER_LEN..at + 4];
    at += 4;
    let edns = if count(10) == 1 {
        Some(opt(bytes.get(at..)?)?)
    } else if at == bytes.len() {
        None
    } else {
        return None;
    };
    Some(Asked {
        id: u16::from_be_bytes([header[0], header[1]]),
        rd: flags_hi & 0x01 != 0,
        cd: flags_lo & 0x10 != 0,
        question,
        name,
        qtype,
        qclass,
        edns,
    })
}

/// An OPT record that ends the message: root owner, version 0, options that need nothing.
fn opt(rest: &[u8]) -> Option<AskedEdns> {
    let fixed = rest.get(..11)?;
    if fixed[0] != 0 || u16::from_be_bytes([fixed[1], fixed[2]]) != 41 || fixed[6] != 0 {
        return None;
    }
    // Extended rcode in a query (fixed[5]) is ignored, as RFC 6891 allows.
    let payload = u16::from_be_bytes([fixed[3], fixed[4]]);
    let dnssec_ok = fixed[7] & 0x80 != 0;
    let rdlen = usize::from(u16::from_be_bytes([fixed[9], fixed[10]]));
    let mut options = rest.get(11..)?;
    if options.len() != rdlen {
        return None;
    }
    let mut cookie = None;
    while !options.is_empty() {
        let code = u16::from_be_bytes([*options.first()?, *options.get(1)?]);
        let len = usize::from(u16::from_be_bytes([*options.get(2)?, *options.get(3)?]));
        if FULL_PATH_OPTIONS.contains(&code) {
            return None;
        }
        let data = options.get(4..4 + len)?;
        if code == cookie::OPTION_CODE {
            // A second or a malformed cookie is FORMERR, decided on the full path.
            if cookie.is_some() {
                return None;
            }
            cookie = Some(Received::parse(data).ok()?);
        } else if code == u16::from(EdnsCode::Subnet) {
            // The full way decodes a client subnet and answers FORMERR to a malformed one
            // (RFC 7871 §7.1.1): checked with the same decoder, so both ways agree.
            ClientSubnet::try_from(data).ok()?;
        }
        options = &options[4 + len..];
    }
    Some(AskedEdns {
        payload,
        dnssec_ok,
        cookie,
    })
}

#[cfg(test)]
mod tests {
    use hickory_proto::op::{Edns, Message, Query};
    use hickory_proto::rr::{Name, RecordType};

    use super::*;

    fn query(name: &str, edns: Option<Edns>) -> Vec<u8> {
        let mut m = Message::query();
        m.metadata.id = 0x1234;
        m.metadata.recursion_desired = true;
        m.add_query(Query::query(
            Name::from_ascii(name).unwrap(),
            RecordType::SRV,
        ));
        m.edns = edns;
        m.to_vec().unwrap()
    }

    #[test]
    fn reads_the_common_shape() {
        let mut edns = Edns::new();
        edns.set_max_payload(1232);
        edns.set_dnssec_ok(true);
        let bytes = query("Web.SkyDNS.local.", Some(edns));
        let asked = parse(&bytes).unwrap();
        assert_eq!(asked.id, 0x1234);
        assert!(asked.rd && !asked.cd);
        assert_eq!(asked.name.as_bytes(), b"\x03web\x06skydns\x05local\x00");
        assert_eq!(&asked.question[1..4], b"Web");
        assert_eq!((asked.qtype, asked.qclass), (33, 1));
        assert_eq!(
            asked.edns,
            Some(AskedEdns {
                payload: 1232,
                dnssec_ok: true,
                cookie: None,
            })
        );
        assert!(parse(&query("a.", None)).unwrap().edns.is_none());
    }

    /// EDNS with one COOKIE option of each length given, its bytes counting up.
    fn with_cookies(lens: &[usize]) -> Edns {
        let mut edns = Edns::new();
        for len in lens {
            let data = (0..*len).map(|i| u8::try_from(i).unwrap()).collect();
            edns.options_mut()
                .insert(hickory_proto::rr::rdata::opt::EdnsOption::Unknown(10, data));
        }
        edns
    }

    #[test]
    fn cookies_are_read() {
        let bytes = query("a.", Some(with_cookies(&[8])));
        let cookie = parse(&bytes).unwrap().edns.unwrap().cookie.unwrap();
        assert_eq!(cookie.client(), &[0, 1, 2, 3, 4, 5, 6, 7]);
        assert!(cookie.server().is_empty());
        let bytes = query("a.", Some(with_cookies(&[24])));
        let cookie = parse(&bytes).unwrap().edns.unwrap().cookie.unwrap();
        assert_eq!(cookie.server().len(), 16);
    }

    #[test]
    fn anything_unusual_goes_the_full_way() {
        let good = query("a.b.", None);
        let mut trailing = good.clone();
        trailing.push(0);
        assert!(parse(&trailing).is_none());
        let mut response = good.clone();
        response[2] |= 0x80;
        assert!(parse(&response).is_none());
        let mut notify = good.clone();
        notify[2] |= 4 << 3;
        assert!(parse(&notify).is_none());
        assert!(parse(&good[..good.len() - 1]).is_none());
        for len in [7, 9, 41] {
            assert!(
                parse(&query("a.", Some(with_cookies(&[len])))).is_none(),
                "{len}"
            );
        }
        assert!(parse(&query("a.", Some(with_cookies(&[8, 8])))).is_none());
        let mut v1 = Edns::new();
        v1.set_version(1);
        assert!(parse(&query("a.", Some(v1))).is_none());
    }

    /// EDNS with one client-subnet option (code 8) of these bytes.
    fn with_subnet(data: &[u8]) -> Edns {
        let mut edns = Edns::new();
        edns.options_mut()
            .insert(hickory_proto::rr::rdata::opt::EdnsOption::Unknown(
                8,
                data.to_vec(),
            ));
        edns
    }

    /// A client subnet the full way refuses must not be answered from the table: an unknown
    /// family, a prefix longer than the family's address, an address shorter than its prefix.
    #[test]
    fn a_malformed_client_subnet_goes_the_full_way() {
        for data in [
            &[0, 7, 24, 0, 10, 0, 0][..],
            &[0, 1, 33, 0, 10, 0, 0, 1, 2],
            &[0, 2, 129, 0],
            &[0, 1, 24, 0, 10, 0],
            &[0, 1],
        ] {
            let bytes = query("a.", Some(with_subnet(data)));
            assert!(Message::from_vec(&bytes).is_err(), "{data:?}");
            assert!(parse(&bytes).is_none(), "{data:?}");
        }
        for data in [
            &[0, 1, 24, 0, 10, 0, 0][..],
            &[0, 2, 0, 0],
            &[0, 2, 56, 0, 32, 1, 13, 184, 0, 0, 0],
        ] {
            let bytes = query("a.", Some(with_subnet(data)));
            assert!(Message::from_vec(&bytes).is_ok(), "{data:?}");
            assert!(parse(&bytes).is_some(), "{data:?}");
        }
    }
}
