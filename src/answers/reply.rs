//! A compiled reply as the answer table holds it: the header, the question and the sections
//! in wire format (no OPT record: that is each asker's), with the end of every unit (an RRset
//! and its RRSIG) so that a reply for a smaller size limit is a prefix of it, and the address
//! RRsets whose records rotate from one asker to the next. A table holds many, so a reply is
//! one allocation besides its reference counts: the body, then the data of its Extended DNS
//! Error, its units and its rotations, packed in two-byte numbers (a body is at most 65,535
//! bytes).

use std::time::Instant;

use crate::core::wire::HEADER_LEN;

/// The end (body offset) of one unit and how many records it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Unit {
    /// Offset just after the unit.
    pub end: u32,
    /// Records in the unit (RRSIG included).
    pub records: u16,
}

/// A run of equally long records (an address RRset) whose order turns per asker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rotation {
    /// Offset of the first record.
    pub start: u32,
    /// Length of each record.
    pub record_len: u32,
    /// Number of records.
    pub count: u32,
}

/// The header bits that come from the answer, not from the asker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Bits {
    /// Authoritative answer.
    pub aa: bool,
    /// Recursion available.
    pub ra: bool,
    /// Truncated already when built.
    pub tc: bool,
    /// The response code, extended (high bits go into OPT).
    pub rcode: u16,
}

/// An encoded reply, ready to be rendered for any asker (see the module's documentation).
#[derive(Debug, Clone)]
pub struct Compiled {
    bytes: Box<[u8]>,
    layout: Layout,
}

/// Where the parts of a packed reply lie in its bytes, and what it says besides them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Layout {
    body_len: u16,
    /// Length of the Extended DNS Error data (0: none; the data holds at least its code).
    ede_len: u16,
    /// Units of the answer, authority and additional sections (the rotations fill the rest
    /// of the bytes).
    unit_counts: [u16; 3],
    /// Offset just after the question.
    question_end: u16,
    /// The body limit it was built for when something was left out for size; `None` when it
    /// is complete.
    built_for: Option<u16>,
    bits: Bits,
    /// Until when it may be sent (`None`: as long as its data).
    valid_until: Option<Instant>,
}

/// Bytes of a packed unit (end, records) and of a packed rotation (start, record length,
/// count).
const UNIT_LEN: usize = 4;
const ROTATION_LEN: usize = 6;

/// The units of one section, packed.
#[derive(Debug, Clone, Copy)]
pub(super) struct Units<'a>(&'a [u8]);

impl Units<'_> {
    /// Number of units.
    pub(super) fn len(self) -> usize {
        self.0.len() / UNIT_LEN
    }

    /// The `i`th unit (`i` below [`Units::len`]).
    pub(super) fn get(self, i: usize) -> Unit {
        let at = &self.0[i * UNIT_LEN..(i + 1) * UNIT_LEN];
        Unit {
            end: u32::from(u16::from_be_bytes([at[0], at[1]])),
            records: u16::from_be_bytes([at[2], at[3]]),
        }
    }

    /// The first `n` units.
    pub(super) fn first(self, n: usize) -> Self {
        Units(&self.0[..n * UNIT_LEN])
    }

    /// Where the last unit ends, if there is one.
    pub(super) fn end(self) -> Option<usize> {
        self.len().checked_sub(1).map(|i| self.get(i).end as usize)
    }

    /// Records in all the units.
    pub(super) fn records(self) -> u16 {
        (0..self.len()).map(|i| self.get(i).records).sum()
    }

    /// How many units from the first end at or before `limit` (units end in order).
    pub(super) fn fitting(self, limit: usize) -> usize {
        let (mut lo, mut hi) = (0, self.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.get(mid).end as usize <= limit {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }
}

/// A compiled reply without its question (see [`Compiled::shape`]).
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Shape<'a> {
    header: &'a [u8],
    after_question: &'a [u8],
    layout: Layout,
}

/// What a reply is packed from.
pub(super) struct Parts<'a> {
    /// Header, question and sections.
    pub body: &'a [u8],
    /// The data of the Extended DNS Error option (at least its two-byte code).
    pub ede: Option<&'a [u8]>,
    /// The units of the answer, authority and additional sections.
    pub sections: [&'a [Unit]; 3],
    /// The address RRsets that rotate.
    pub rotations: &'a [Rotation],
    /// Offset just after the question.
    pub question_end: usize,
    /// The body limit it was built for, when something was left out for size.
    pub built_for: Option<usize>,
    /// The header bits of the answer.
    pub bits: Bits,
    /// Until when it may be sent.
    pub valid_until: Option<Instant>,
}

impl Compiled {
    /// The reply packed from `parts`; `None` when an offset or count is over 65,535.
    pub(super) fn pack(parts: &Parts<'_>) -> Option<Compiled> {
        let short = |n: usize| u16::try_from(n).ok();
        let units = parts.sections.iter().map(|units| units.len());
        let ede = parts.ede.unwrap_or_default();
        let mut bytes = Vec::with_capacity(
            parts.body.len()
                + ede.len()
                + units.sum::<usize>() * UNIT_LEN
                + parts.rotations.len() * ROTATION_LEN,
        );
        bytes.extend_from_slice(parts.body);
        bytes.extend_from_slice(ede);
        for unit in parts.sections.iter().flat_map(|units| units.iter()) {
            bytes.extend_from_slice(&short(unit.end as usize)?.to_be_bytes());
            bytes.extend_from_slice(&unit.records.to_be_bytes());
        }
        for rotation in parts.rotations {
            for n in [rotation.start, rotation.record_len, rotation.count] {
                bytes.extend_from_slice(&short(n as usize)?.to_be_bytes());
            }
        }
        let [answer, authority, additional] = parts.sections.map(<[Unit]>::len);
        Some(Compiled {
            bytes: bytes.into_boxed_slice(),
            layout: Layout {
                body_len: short(parts.body.len())?,
                ede_len: short(ede.len())?,
                unit_counts: [short(answer)?, short(authority)?, short(additional)?],
                question_end: short(parts.question_end)?,
                built_for: match parts.built_for {
                    Some(limit) => Some(short(limit)?),
                    None => None,
                },
                bits: parts.bits,
                valid_until: parts.valid_until,
            },
        })
    }

    /// Bytes held (the struct and its one allocation), for the answer table's bound.
    pub fn weight(&self) -> usize {
        std::mem::size_of::<Self>() + self.bytes.len()
    }

    /// True when it can be sent to an asker whose body limit is `body_limit` (a reply built
    /// for a smaller limit, with parts left out, must be built again for a larger one).
    pub fn serves(&self, body_limit: usize) -> bool {
        self.layout
            .built_for
            .is_none_or(|built| body_limit <= usize::from(built))
    }

    /// The reply's header, question and sections.
    pub(super) fn body(&self) -> &[u8] {
        &self.bytes[..usize::from(self.layout.body_len)]
    }

    /// The data of the reply's Extended DNS Error option, if it has one.
    pub(super) fn ede(&self) -> Option<&[u8]> {
        (self.layout.ede_len > 0)
            .then(|| &self.bytes[usize::from(self.layout.body_len)..self.units_start()])
    }

    /// Where the packed units begin: after the body and the option data.
    fn units_start(&self) -> usize {
        usize::from(self.layout.body_len) + usize::from(self.layout.ede_len)
    }

    /// Offset just after the question.
    pub(super) fn question_end(&self) -> usize {
        usize::from(self.layout.question_end)
    }

    /// The units of the answer, authority and additional sections.
    pub(super) fn sections(&self) -> [Units<'_>; 3] {
        let mut at = self.units_start();
        self.layout.unit_counts.map(|count| {
            let end = at + usize::from(count) * UNIT_LEN;
            let units = Units(&self.bytes[at..end]);
            at = end;
            units
        })
    }

    /// The address RRsets whose records turn per asker.
    pub(super) fn rotations(&self) -> impl Iterator<Item = Rotation> + '_ {
        let units: usize = self
            .layout
            .unit_counts
            .iter()
            .map(|&n| usize::from(n))
            .sum();
        self.bytes[self.units_start() + units * UNIT_LEN..]
            .chunks_exact(ROTATION_LEN)
            .map(|r| Rotation {
                start: u32::from(u16::from_be_bytes([r[0], r[1]])),
                record_len: u32::from(u16::from_be_bytes([r[2], r[3]])),
                count: u32::from(u16::from_be_bytes([r[4], r[5]])),
            })
    }

    /// Everything of the reply but the question's bytes: two replies of the same shape
    /// render the same for any asker (rendering writes the asker's question over the one
    /// compiled, and every offset, compression pointers included, is the same).
    pub fn shape(&self) -> Shape<'_> {
        Shape {
            header: &self.bytes[..HEADER_LEN],
            after_question: &self.bytes[self.question_end()..],
            layout: self.layout,
        }
    }

    /// True when it may still be sent at `now`.
    pub fn fresh(&self, now: Instant) -> bool {
        self.layout.valid_until.is_none_or(|until| now < until)
    }

    /// The answer bits.
    pub fn bits(&self) -> Bits {
        self.layout.bits
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(end: u32, records: u16) -> Unit {
        Unit { end, records }
    }

    fn packed(sections: [&[Unit]; 3], body_len: usize) -> Option<Compiled> {
        Compiled::pack(&Parts {
            body: &vec![0; body_len],
            ede: None,
            sections,
            rotations: &[],
            question_end: HEADER_LEN,
            built_for: None,
            bits: Bits::default(),
            valid_until: None,
        })
    }

    #[test]
    fn units_read_back_per_section_and_by_limit() {
        let answer = [unit(20, 1), unit(40, 3), unit(41, 1)];
        let additional = [unit(60, 2)];
        let compiled = packed([&answer, &[], &additional], 60).unwrap();
        let [a, authority, b] = compiled.sections();
        assert_eq!((a.len(), authority.len(), b.len()), (3, 0, 1));
        assert_eq!((0..3).map(|i| a.get(i)).collect::<Vec<_>>(), answer);
        assert_eq!((a.records(), a.end(), authority.end()), (5, Some(41), None));
        assert_eq!(a.first(2).end(), Some(40));
        for limit in 0..70 {
            let fitting = answer.iter().filter(|u| u.end as usize <= limit).count();
            assert_eq!(a.fitting(limit), fitting, "{limit}");
        }
    }

    #[test]
    fn a_reply_over_two_byte_numbers_is_not_packed() {
        assert!(packed([&[unit(65_535, 1)], &[], &[]], 65_535).is_some());
        assert!(packed([&[unit(65_536, 1)], &[], &[]], 65_535).is_none());
        assert!(packed([&[], &[], &[]], 65_536).is_none());
    }
}
