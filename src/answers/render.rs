//! Rendering a compiled reply for one asker: the asker's ID, RD and CD bits and question
//! (its letter case: owner names written as pointers to the question follow it), the largest
//! prefix of the body that fits the asker's limit (whole units; TC when the answer or the
//! authority section does not fit), the address RRsets rotated by one more step for every
//! reply, and an OPT record when the asker sent one (our payload size, DO echoed, the extended
//! rcode, the Extended DNS Error of the reply, the asker's cookie).

use super::reply::Compiled;
use crate::core::cookie;
use crate::core::wire::HEADER_LEN;

/// What the reply depends on from the query.
#[derive(Debug, Clone, Copy)]
pub struct Asker<'a> {
    /// The query ID.
    pub id: u16,
    /// Recursion desired (echoed).
    pub rd: bool,
    /// Checking disabled (echoed).
    pub cd: bool,
    /// The question as sent: name (wire format, the asker's case), type, class.
    pub question: &'a [u8],
    /// Whether the query had an OPT record, and its DO bit.
    pub edns: Option<bool>,
    /// The largest reply the asker takes (OPT included).
    pub limit: usize,
    /// The COOKIE option data its reply carries (client and server cookie), when it sent a
    /// cookie.
    pub cookie: Option<[u8; cookie::REPLY_LEN]>,
}

/// Length of an OPT record without options.
const OPT_LEN: usize = 11;

/// Option code of Extended DNS Errors.
const EDE_CODE: u16 = crate::core::ede::OPTION_CODE;

/// The options of our OPT record: the reply's Extended DNS Error (`ede`, its data), then the
/// asker's cookie.
fn options<'s>(
    ede: Option<&'s [u8]>,
    asker: &'s Asker<'_>,
) -> impl Iterator<Item = (u16, &'s [u8])> {
    let cookie = asker.cookie.as_ref().map(|c| (cookie::OPTION_CODE, &c[..]));
    ede.map(|data| (EDE_CODE, data)).into_iter().chain(cookie)
}

/// The size of the OPT record a reply with the Extended DNS Error `ede` gets for `asker` (0
/// without EDNS).
pub fn opt_len(ede: Option<&[u8]>, asker: &Asker<'_>) -> usize {
    match asker.edns {
        None => 0,
        Some(_) => OPT_LEN + options_len(ede, asker),
    }
}

/// The bytes of the options of our OPT record.
fn options_len(ede: Option<&[u8]>, asker: &Asker<'_>) -> usize {
    options(ede, asker).map(|(_, data)| 4 + data.len()).sum()
}

impl Compiled {
    /// The body limit for `asker`: its limit less the OPT record.
    pub fn body_limit(&self, asker: &Asker<'_>) -> usize {
        asker.limit.saturating_sub(opt_len(self.ede(), asker))
    }

    /// Writes the reply for `asker` to `out` (cleared first); `turn` picks the rotation of
    /// the address RRsets. False when the compiled question does not have the asker's
    /// length (the asker must be answered another way).
    pub fn render(
        &self,
        asker: &Asker<'_>,
        our_payload: u16,
        turn: usize,
        out: &mut Vec<u8>,
    ) -> bool {
        out.clear();
        if asker.question.len() != self.question_end() - HEADER_LEN {
            return false;
        }
        let cut = self.cut(self.body_limit(asker));
        out.extend_from_slice(&self.body()[..cut.end]);
        out[HEADER_LEN..self.question_end()].copy_from_slice(asker.question);
        for r in self.rotations() {
            let (start, len) = (r.start as usize, (r.record_len * r.count) as usize);
            if start + len <= cut.end {
                let step = (turn % r.count as usize) * r.record_len as usize;
                out[start..start + len].rotate_left(step);
            }
        }
        let bits = self.bits();
        out[..2].copy_from_slice(&asker.id.to_be_bytes());
        out[2] =
            0x80 | u8::from(bits.aa) << 2 | u8::from(bits.tc || cut.tc) << 1 | u8::from(asker.rd);
        // Only the low four bits of the rcode fit the header; the rest go into OPT.
        out[3] = u8::from(bits.ra) << 7 | u8::from(asker.cd) << 4 | (bits.rcode & 0x0f) as u8;
        let additional = cut.additional + u16::from(asker.edns.is_some());
        for (i, n) in [cut.answer, cut.authority, additional]
            .into_iter()
            .enumerate()
        {
            out[6 + 2 * i..8 + 2 * i].copy_from_slice(&n.to_be_bytes());
        }
        if let Some(dnssec_ok) = asker.edns {
            self.opt(dnssec_ok, asker, our_payload, out);
        }
        true
    }

    /// Appends our OPT record for `asker`.
    fn opt(&self, dnssec_ok: bool, asker: &Asker<'_>, our_payload: u16, out: &mut Vec<u8>) {
        let ede = self.ede();
        out.push(0); // root owner
        out.extend_from_slice(&41u16.to_be_bytes());
        out.extend_from_slice(&our_payload.max(512).to_be_bytes());
        out.push(u8::try_from(self.bits().rcode >> 4).unwrap_or(u8::MAX));
        out.push(0); // version
        out.push(if dnssec_ok { 0x80 } else { 0 });
        out.push(0);
        let rdlen = options_len(ede, asker);
        out.extend_from_slice(&u16::try_from(rdlen).unwrap_or(0).to_be_bytes());
        for (code, data) in options(ede, asker) {
            out.extend_from_slice(&code.to_be_bytes());
            out.extend_from_slice(&u16::try_from(data.len()).unwrap_or(0).to_be_bytes());
            out.extend_from_slice(data);
        }
    }

    /// The prefix of the body that fits `limit`, and its record counts.
    fn cut(&self, limit: usize) -> Cut {
        let [answer, authority, additional] = self.sections();
        let body_len = self.body().len();
        let all = Cut {
            end: body_len,
            answer: answer.records(),
            authority: authority.records(),
            additional: additional.records(),
            tc: false,
        };
        if body_len <= limit {
            return all;
        }
        let answers_end = answer.end().unwrap_or(self.question_end());
        if answers_end > limit {
            let kept = answer.first(answer.fitting(limit));
            return Cut {
                end: kept.end().unwrap_or(self.question_end()),
                answer: kept.records(),
                authority: 0,
                additional: 0,
                tc: true,
            };
        }
        let authority_end = authority.end().unwrap_or(answers_end);
        if authority_end > limit {
            return Cut {
                end: answers_end,
                authority: 0,
                additional: 0,
                tc: true,
                ..all
            };
        }
        let kept = additional.first(additional.fitting(limit));
        Cut {
            end: kept.end().unwrap_or(authority_end),
            additional: kept.records(),
            ..all
        }
    }
}

/// A prefix of a compiled body.
struct Cut {
    end: usize,
    answer: u16,
    authority: u16,
    additional: u16,
    tc: bool,
}
