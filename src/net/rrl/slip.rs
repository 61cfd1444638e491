//! The reply a rate-limited client gets when its response "slips" through: the reply cut to
//! its header and question with TC set, so that a real client asks again over TCP, which
//! cannot be spoofed. The OPT record stays (payload size, extended rcode, DO) with only the
//! cookie among its options: a client that sent a cookie learns our server cookie, and its
//! next UDP queries, carrying it, are no longer limited. The result is never longer than the
//! reply, and no longer than the query but for the server cookie.

use crate::core::cookie;
use crate::core::wire::HEADER_LEN;

/// Longest COOKIE option data.
const MAX_COOKIE: usize = 40;

/// Cuts `reply` (a reply we made) down to a truncated one, in place.
pub fn truncate(reply: &mut Vec<u8>) {
    if reply.len() < HEADER_LEN {
        return;
    }
    let count = |reply: &[u8], i: usize| usize::from(u16::from_be_bytes([reply[i], reply[i + 1]]));
    let questions = count(reply, 4);
    let records = count(reply, 6) + count(reply, 8) + count(reply, 10);
    let Some(end) = (0..questions).try_fold(HEADER_LEN, |at, _| Some(skip_name(reply, at)? + 4))
    else {
        // Not a reply we can read: the header alone.
        reply.truncate(HEADER_LEN);
        reply[2] |= 0x02;
        reply[4..HEADER_LEN].fill(0);
        return;
    };
    let opt = find_opt(reply, end.min(reply.len()), records);
    reply.truncate(end);
    reply[2] |= 0x02;
    reply[6..HEADER_LEN].fill(0);
    if let Some(opt) = opt {
        reply[11] = 1;
        reply.extend_from_slice(&[0, 0, 41]);
        reply.extend_from_slice(&opt.fixed);
        let cookie = &opt.cookie[..opt.cookie_len];
        if cookie.is_empty() {
            reply.extend_from_slice(&[0, 0]);
        } else {
            let len = u16::try_from(cookie.len()).unwrap_or(0);
            reply.extend_from_slice(&(len + 4).to_be_bytes());
            reply.extend_from_slice(&cookie::OPTION_CODE.to_be_bytes());
            reply.extend_from_slice(&len.to_be_bytes());
            reply.extend_from_slice(cookie);
        }
    }
}

/// What is kept of an OPT record.
struct Opt {
    /// Payload size (the class field) and extended rcode, version and flags (the TTL field).
    fixed: [u8; 6],
    cookie: [u8; MAX_COOKIE],
    cookie_len: usize,
}

/// The OPT record among the `records` records that start at `at`.
fn find_opt(reply: &[u8], mut at: usize, records: usize) -> Option<Opt> {
    for _ in 0..records {
        let fixed_at = skip_name(reply, at)?;
        let fixed = reply.get(fixed_at..fixed_at + 10)?;
        let rdlen = usize::from(u16::from_be_bytes([fixed[8], fixed[9]]));
        let rdata = reply.get(fixed_at + 10..fixed_at + 10 + rdlen)?;
        if u16::from_be_bytes([fixed[0], fixed[1]]) == 41 {
            let mut opt = Opt {
                fixed: [0; 6],
                cookie: [0; MAX_COOKIE],
                cookie_len: 0,
            };
            opt.fixed.copy_from_slice(&fixed[2..8]);
            if let Some(data) = option(rdata, cookie::OPTION_CODE) {
                if data.len() <= MAX_COOKIE {
                    opt.cookie[..data.len()].copy_from_slice(data);
                    opt.cookie_len = data.len();
                }
            }
            return Some(opt);
        }
        at = fixed_at + 10 + rdlen;
    }
    None
}

/// The data of the first option `code` in OPT rdata.
fn option(mut rdata: &[u8], code: u16) -> Option<&[u8]> {
    while rdata.len() >= 4 {
        let len = usize::from(u16::from_be_bytes([rdata[2], rdata[3]]));
        let data = rdata.get(4..4 + len)?;
        if u16::from_be_bytes([rdata[0], rdata[1]]) == code {
            return Some(data);
        }
        rdata = &rdata[4 + len..];
    }
    None
}

/// Where the (possibly compressed) name at `at` ends.
fn skip_name(reply: &[u8], mut at: usize) -> Option<usize> {
    loop {
        let len = *reply.get(at)?;
        match len {
            0 => return Some(at + 1),
            l if l & 0xc0 == 0xc0 => return reply.get(at + 1).map(|_| at + 2),
            l if l <= 63 => at += usize::from(l) + 1,
            _ => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query, ResponseCode};
    use hickory_proto::rr::rdata::opt::EdnsOption;
    use hickory_proto::rr::rdata::A;
    use hickory_proto::rr::{Name, RData, Record, RecordType};

    use super::*;

    fn reply(edns: Option<Edns>) -> Vec<u8> {
        let mut m = Message::new(0x4242, MessageType::Response, OpCode::Query);
        m.metadata.authoritative = true;
        m.metadata.recursion_desired = true;
        let name = Name::from_ascii("Web.SkyDNS.local.").unwrap();
        m.add_query(Query::query(name.clone(), RecordType::A));
        for i in 0..20 {
            let rdata = RData::A(A::new(10, 0, 0, i));
            m.answers
                .push(Record::from_rdata(name.clone(), 60, rdata.clone()));
            m.additionals
                .push(Record::from_rdata(name.clone(), 60, rdata));
        }
        m.edns = edns;
        m.to_vec().unwrap()
    }

    #[test]
    fn keeps_header_question_and_the_cookie() {
        let mut edns = Edns::new();
        edns.set_max_payload(1232);
        edns.set_dnssec_ok(true);
        edns.options_mut()
            .insert(EdnsOption::Unknown(15, vec![0, 18]));
        edns.options_mut()
            .insert(EdnsOption::Unknown(10, vec![9; 24]));
        let mut bytes = reply(Some(edns));
        let before = bytes.len();
        truncate(&mut bytes);
        assert!(bytes.len() < before);
        let m = Message::from_vec(&bytes).unwrap();
        assert!(m.metadata.truncation && m.metadata.authoritative);
        assert_eq!(m.metadata.id, 0x4242);
        assert_eq!(m.metadata.response_code, ResponseCode::NoError);
        assert_eq!(m.queries[0].name().to_ascii(), "Web.SkyDNS.local.");
        assert!(m.answers.is_empty() && m.authorities.is_empty() && m.additionals.is_empty());
        let edns = m.edns.unwrap();
        assert!(edns.flags().dnssec_ok);
        assert_eq!(edns.max_payload(), 1232);
        let options: Vec<_> = edns
            .options()
            .as_ref()
            .iter()
            .map(|(_, o)| o.clone())
            .collect();
        assert_eq!(options, vec![EdnsOption::Unknown(10, vec![9; 24])]);
    }

    #[test]
    fn without_edns_and_unreadable() {
        let mut bytes = reply(None);
        truncate(&mut bytes);
        let m = Message::from_vec(&bytes).unwrap();
        assert!(m.metadata.truncation && m.edns.is_none() && m.answers.is_empty());
        let mut edns = Edns::new();
        edns.set_max_payload(512);
        let mut bare = reply(Some(edns));
        truncate(&mut bare);
        assert_eq!(
            Message::from_vec(&bare)
                .unwrap()
                .edns
                .unwrap()
                .max_payload(),
            512
        );
        let mut broken = reply(None);
        broken.truncate(20);
        truncate(&mut broken);
        assert_eq!(broken.len(), HEADER_LEN);
        assert_eq!(&broken[4..], &[0; 8]);
        let mut short = vec![1, 2, 3];
        truncate(&mut short);
        assert_eq!(short, vec![1, 2, 3]);
    }
}
