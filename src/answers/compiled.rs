//! A reply encoded once and sent to many askers: the header, the question and the sections in
//! wire format (no OPT record: that is each asker's), with the end of every unit (an RRset and
//! its RRSIG) so that a reply for a smaller size limit is a prefix of it, and the address
//! RRsets whose records rotate from one asker to the next.
//!
//! Building one ([`compile`]) signs each RRset right before writing it, and only when it fits
//! the size limit it is built for, so nothing is signed that is not sent: a reply that does
//! not fit keeps whole RRsets and sets TC (the answer section), leaves out the authority
//! section with TC, or leaves out the additional RRsets that do not fit (no TC). Over TCP an
//! answer RRset too large for any message is cut to the records that fit (with TC), and
//! signed as cut, instead of failing.

use std::cell::Cell;
use std::time::Instant;

use hickory_proto::op::{Message, Query};
use hickory_proto::rr::rdata::opt::{EdnsCode, EdnsOption};
use hickory_proto::rr::{RData, Record, RecordType};
use hickory_proto::serialize::binary::{BinEncodable, BinEncoder};
use thiserror::Error;

use crate::core::ede;
use crate::core::tidy::same_rrset;
use crate::core::wire::HEADER_LEN;
use crate::core::wire_name::{write_name, MAX_NAME_LEN};
use crate::core::RrsetLengths;
use crate::dnssec::{CanonicalRdata, SignError, Signer};

/// Why a reply could not be compiled.
#[derive(Debug, Error)]
pub enum CompileError {
    /// A record or the question cannot be encoded (hickory refused it).
    #[error("the reply cannot be encoded: {0}")]
    Encode(String),
    /// Signing an RRset failed.
    #[error(transparent)]
    Sign(#[from] SignError),
}

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

/// An encoded reply, ready to be rendered for any asker. A table holds many, so it is one
/// allocation besides its reference counts: the body, then the data of its Extended DNS Error,
/// its units and its rotations, each packed in two-byte numbers (a body is at most 65,535
/// bytes).
#[derive(Debug, Clone)]
pub struct Compiled {
    bytes: Box<[u8]>,
    /// Until when it may be sent (`None`: as long as its data).
    pub valid_until: Option<Instant>,
    body_len: u16,
    /// Length of the Extended DNS Error data (0: none; the data holds at least its code).
    ede_len: u16,
    /// Units of the answer, authority and additional sections.
    unit_counts: [u16; 3],
    rotation_count: u16,
    /// Offset just after the question.
    question_end: u16,
    /// The body limit it was built for when something was left out for size; `None` when it
    /// is complete.
    built_for: Option<u16>,
    pub(super) bits: Bits,
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
    body_len: u16,
    ede_len: u16,
    unit_counts: [u16; 3],
    rotation_count: u16,
    question_end: u16,
    built_for: Option<u16>,
    bits: Bits,
    valid_until: Option<Instant>,
}

/// How to compile a reply.
pub struct Options<'a> {
    /// Signs every RRset that `Signer::signs`, when set (the reply was prepared with
    /// `Signer::prepare`).
    pub signer: Option<&'a Signer>,
    /// Unix seconds, for signatures.
    pub now_unix: u64,
    /// The largest body (message without OPT) to build.
    pub body_limit: usize,
    /// Mark address RRsets of the answer for rotation.
    pub rotate: bool,
    /// An answer RRset larger than the limit is cut to the records that fit (TCP).
    pub cut_rrsets: bool,
    /// Until when the reply may be sent.
    pub valid_until: Option<Instant>,
    /// The question as the asker sent it (wire format), when it is the message's question up
    /// to letter case: written lowercased as it is instead of encoded from the message.
    pub asked: Option<&'a [u8]>,
    /// The RRsets of the answer and additional sections, when the core grouped them.
    pub rrsets: Option<&'a RrsetLengths>,
}

/// The size of a compiled reply in memory, for the answer table's bound.
impl Compiled {
    /// Bytes held: the struct and its one allocation.
    pub fn weight(&self) -> usize {
        std::mem::size_of::<Self>() + self.bytes.len()
    }

    /// True when it can be sent to an asker whose body limit is `body_limit` (a reply built
    /// for a smaller limit, with parts left out, must be built again for a larger one).
    pub fn serves(&self, body_limit: usize) -> bool {
        self.built_for
            .is_none_or(|built| body_limit <= usize::from(built))
    }

    /// The reply's header, question and sections.
    pub(super) fn body(&self) -> &[u8] {
        &self.bytes[..usize::from(self.body_len)]
    }

    /// The data of the reply's Extended DNS Error option, if it has one.
    pub(super) fn ede(&self) -> Option<&[u8]> {
        let start = usize::from(self.body_len);
        (self.ede_len > 0).then(|| &self.bytes[start..start + usize::from(self.ede_len)])
    }

    /// Offset just after the question.
    pub(super) fn question_end(&self) -> usize {
        usize::from(self.question_end)
    }

    /// The units of the answer, authority and additional sections.
    pub(super) fn sections(&self) -> [Units<'_>; 3] {
        let mut at = usize::from(self.body_len) + usize::from(self.ede_len);
        self.unit_counts.map(|count| {
            let end = at + usize::from(count) * UNIT_LEN;
            let units = Units(&self.bytes[at..end]);
            at = end;
            units
        })
    }

    /// The address RRsets whose records turn per asker.
    pub(super) fn rotations(&self) -> impl Iterator<Item = Rotation> + '_ {
        let units: usize = self.unit_counts.iter().map(|&n| usize::from(n)).sum();
        let start = usize::from(self.body_len) + usize::from(self.ede_len) + units * UNIT_LEN;
        self.bytes[start..]
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
            body_len: self.body_len,
            ede_len: self.ede_len,
            unit_counts: self.unit_counts,
            rotation_count: self.rotation_count,
            question_end: self.question_end,
            built_for: self.built_for,
            bits: self.bits,
            valid_until: self.valid_until,
        }
    }

    /// True when it may still be sent at `now`.
    pub fn fresh(&self, now: Instant) -> bool {
        self.valid_until.is_none_or(|until| now < until)
    }

    /// The answer bits.
    pub fn bits(&self) -> Bits {
        self.bits
    }
}

thread_local! {
    /// The buffer each thread compiles into, kept from one reply to the next (a reply is
    /// copied out at its size), so a large reply does not grow a new vector step by step.
    /// It keeps the capacity the largest reply needed (at most about twice a message).
    static SCRATCH: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
}

/// Encodes `message` (its question and sections; its OPT record is left for the renderer,
/// its Extended DNS Error kept) within `opts.body_limit` bytes.
pub fn compile(message: &Message, opts: &Options<'_>) -> Result<Compiled, CompileError> {
    let mut buf = SCRATCH.take();
    buf.clear();
    let compiled = compile_into(message, opts, &mut buf);
    SCRATCH.set(buf);
    compiled
}

fn compile_into(
    message: &Message,
    opts: &Options<'_>,
    buf: &mut Vec<u8>,
) -> Result<Compiled, CompileError> {
    let mut writer = Writer {
        enc: BinEncoder::new(buf),
        opts,
        left_out: false,
        tc: false,
        rotations: Vec::new(),
    };
    writer.emit(|e| e.emit_vec(&[0; HEADER_LEN]))?;
    let raw = match (opts.asked, message.queries.as_slice()) {
        (Some(asked), [query]) => RawQuestion::of(asked, query),
        _ => None,
    };
    match raw {
        Some(raw) => writer.emit(|e| raw.write(e))?,
        None => {
            for query in &message.queries {
                writer.emit(|e| query.emit(e))?;
            }
        }
    }
    let question_end = writer.enc.offset();
    let lengths = |pick: fn(&RrsetLengths) -> &Vec<usize>| opts.rrsets.map(|r| pick(r).as_slice());
    let answer = writer.section(&message.answers, lengths(|r| &r.answers), Section::Answer)?;
    let (authority, additional) = if writer.tc {
        (Vec::new(), Vec::new())
    } else {
        let authority = writer.section(&message.authorities, None, Section::Authority)?;
        if writer.tc {
            // The authority section does not fit: the answer alone, truncated.
            let answer_end = answer.last().map_or(question_end, |u| u.end as usize);
            writer.enc.set_offset(answer_end);
            writer.enc.trim();
            (Vec::new(), Vec::new())
        } else {
            let additional = writer.section(
                &message.additionals,
                lengths(|r| &r.additionals),
                Section::Additional,
            )?;
            (authority, additional)
        }
    };
    let Writer {
        left_out,
        tc,
        rotations,
        ..
    } = writer;
    let count = |units: &[Unit]| units.iter().map(|u| u.records).sum::<u16>();
    let md = &message.metadata;
    let counts = [
        u16::try_from(message.queries.len()).unwrap_or(u16::MAX),
        count(&answer),
        count(&authority),
        count(&additional),
    ];
    for (i, n) in counts.into_iter().enumerate() {
        buf[4 + 2 * i..6 + 2 * i].copy_from_slice(&n.to_be_bytes());
    }
    let ede = message.edns.as_ref().and_then(|edns| {
        match edns.option(EdnsCode::from(ede::OPTION_CODE)) {
            Some(EdnsOption::Unknown(_, data)) => Some(data.as_slice()),
            _ => None,
        }
    });
    let too_large = || CompileError::Encode("a reply over 65,535 bytes".to_owned());
    let short = |n: usize| u16::try_from(n).map_err(|_| too_large());
    let units = [&answer, &authority, &additional];
    let mut bytes = Vec::with_capacity(
        buf.len()
            + ede.map_or(0, <[u8]>::len)
            + units.iter().map(|u| u.len()).sum::<usize>() * UNIT_LEN
            + rotations.len() * ROTATION_LEN,
    );
    bytes.extend_from_slice(buf);
    bytes.extend_from_slice(ede.unwrap_or_default());
    for unit in units.iter().flat_map(|u| u.iter()) {
        bytes.extend_from_slice(&short(unit.end as usize)?.to_be_bytes());
        bytes.extend_from_slice(&unit.records.to_be_bytes());
    }
    for rotation in &rotations {
        for n in [rotation.start, rotation.record_len, rotation.count] {
            bytes.extend_from_slice(&short(n as usize)?.to_be_bytes());
        }
    }
    Ok(Compiled {
        bytes: bytes.into_boxed_slice(),
        valid_until: opts.valid_until,
        body_len: short(buf.len())?,
        ede_len: short(ede.map_or(0, <[u8]>::len))?,
        unit_counts: [
            short(answer.len())?,
            short(authority.len())?,
            short(additional.len())?,
        ],
        rotation_count: short(rotations.len())?,
        question_end: short(question_end)?,
        // A limit above 65,535 is that (no message is larger).
        built_for: (left_out || tc).then(|| u16::try_from(opts.body_limit).unwrap_or(u16::MAX)),
        bits: Bits {
            aa: md.authoritative,
            ra: md.recursion_available,
            tc,
            rcode: u16::from(md.response_code),
        },
    })
}

/// Most labels a wire name has (255 bytes, two per label at least).
const MAX_LABELS: usize = 127;

/// A question in wire format known to be a message's question up to letter case, and where
/// its labels start.
struct RawQuestion<'q> {
    bytes: &'q [u8],
    label_starts: [u8; MAX_LABELS],
    labels: usize,
    /// Offset of the root label (the name's last byte).
    root: usize,
}

impl<'q> RawQuestion<'q> {
    /// `asked` when it is `query` (name equal but for letter case, same type and class, nothing
    /// after it).
    fn of(asked: &'q [u8], query: &Query) -> Option<Self> {
        let mut raw = RawQuestion {
            bytes: asked,
            label_starts: [0; MAX_LABELS],
            labels: 0,
            root: 0,
        };
        let mut expected = query.name().iter();
        let mut at = 0;
        loop {
            let len = usize::from(*asked.get(at)?);
            if len == 0 {
                break;
            }
            let label = asked.get(at + 1..at + 1 + len)?;
            if len > 63 || !expected.next()?.eq_ignore_ascii_case(label) {
                return None;
            }
            *raw.label_starts.get_mut(raw.labels)? = u8::try_from(at).ok()?;
            raw.labels += 1;
            at += 1 + len;
        }
        let fixed = [
            u16::from(query.query_type()),
            u16::from(query.query_class()),
        ];
        let tail = asked.get(at + 1..)?;
        let same_tail = tail.len() == 4
            && tail[..2] == fixed[0].to_be_bytes()
            && tail[2..] == fixed[1].to_be_bytes();
        raw.root = at;
        (at < 255 && expected.next().is_none() && same_tail).then_some(raw)
    }

    /// Writes the question lowercased (as the message holds it) and offers its name's
    /// suffixes for compression, as encoding the message's question would.
    fn write(&self, enc: &mut BinEncoder<'_>) -> Result<(), hickory_proto::ProtoError> {
        let base = enc.offset();
        let mut name = [0; 255];
        let name = name.get_mut(..self.root).unwrap_or_default();
        name.copy_from_slice(&self.bytes[..self.root]);
        name.make_ascii_lowercase();
        enc.emit_vec(name)?;
        for &start in &self.label_starts[..self.labels] {
            enc.store_label_pointer(base + usize::from(start), base + self.root);
        }
        enc.emit_vec(&self.bytes[self.root..])
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Section {
    Answer,
    Authority,
    Additional,
}

/// The state of one compilation.
struct Writer<'b, 'o> {
    enc: BinEncoder<'b>,
    opts: &'o Options<'o>,
    /// Something was left out for size.
    left_out: bool,
    /// The reply is truncated: stop adding sections.
    tc: bool,
    rotations: Vec<Rotation>,
}

impl Writer<'_, '_> {
    fn emit(
        &mut self,
        f: impl FnOnce(&mut BinEncoder<'_>) -> Result<(), hickory_proto::ProtoError>,
    ) -> Result<(), CompileError> {
        f(&mut self.enc).map_err(|e| CompileError::Encode(e.to_string()))
    }

    /// Goes back to `mark`, forgetting what was written after it.
    fn rewind(&mut self, mark: usize) {
        self.enc.set_offset(mark);
        self.enc.trim();
    }

    fn limit(&self) -> usize {
        self.opts.body_limit
    }

    /// Writes the RRsets of one section that fit, each followed by its RRSIG when signing.
    /// Of an answer RRset too large for the limit, the records that fit are kept (signed as
    /// they are) when the options allow cutting RRsets.
    fn section(
        &mut self,
        records: &[Record],
        lengths: Option<&[usize]>,
        section: Section,
    ) -> Result<Vec<Unit>, CompileError> {
        let mut units = Vec::new();
        for rrset in rrsets(records, lengths) {
            let mark = self.enc.offset();
            let signer = self.opts.signer.filter(|s| s.signs(rrset));
            let sig_len = signer.map_or(0, Signer::rrsig_len);
            let mut owner = None;
            let starts = self.records(rrset, sig_len, &mut owner);
            let whole = starts.len() == rrset.len();
            let cut = !whole
                && !starts.is_empty()
                && section == Section::Answer
                && units.is_empty()
                && self.opts.cut_rrsets;
            if whole || cut {
                let kept = &rrset[..starts.len()];
                let end = self.enc.offset();
                let mut n = kept.len();
                if let Some(signer) = signer {
                    let rdata = self.canonical_rdata(kept, &starts)?;
                    let rrsig = signer.rrsig(kept, &rdata, self.opts.now_unix)?;
                    self.write(&rrsig, &mut owner)
                        .map_err(|e| CompileError::Encode(e.to_string()))?;
                    n += 1;
                }
                if self.enc.offset() <= self.limit() {
                    units.push(self.unit(n));
                    if cut {
                        self.left_out = true;
                        self.tc = true;
                        break;
                    }
                    if section == Section::Answer {
                        self.mark_rotation(rrset, &starts, end);
                    }
                    continue;
                }
            }
            self.rewind(mark);
            if section == Section::Additional {
                self.left_out = true;
            } else {
                self.tc = true;
                break;
            }
        }
        Ok(units)
    }

    /// Writes the records of `rrset` while each fits the limit with `reserve` bytes to spare;
    /// returns where each written record starts. The encoder stands after the last one that
    /// fit.
    fn records(
        &mut self,
        rrset: &[Record],
        reserve: usize,
        owner: &mut Option<[u8; 2]>,
    ) -> Vec<usize> {
        let mut starts = Vec::with_capacity(rrset.len());
        for record in rrset {
            let start = self.enc.offset();
            if self.write(record, owner).is_err() || self.enc.offset() + reserve > self.limit() {
                // Past the limit (or past what a message can hold): it does not fit.
                self.rewind(start);
                break;
            }
            starts.push(start);
        }
        starts
    }

    /// The canonical RDATA of the records of `rrset` just written at `starts`: read back from
    /// the message where their wire form is the canonical one, encoded afresh otherwise.
    fn canonical_rdata(
        &self,
        rrset: &[Record],
        starts: &[usize],
    ) -> Result<CanonicalRdata, CompileError> {
        if rrset.iter().all(wire_is_canonical) {
            let end = self.enc.offset();
            let written: Option<Vec<&[u8]>> = starts
                .iter()
                .map(|&start| rdata_of(self.enc.slice_of(start, end)))
                .collect();
            if let Some(written) = written {
                return Ok(CanonicalRdata::from_wire(written.into_iter()));
            }
        }
        Ok(CanonicalRdata::of(rrset)?)
    }

    /// Writes one record of an RRset: the first with its owner as hickory encodes it
    /// (compressed), the others (and the RRSIG) with their owner as the two-byte pointer the
    /// first one is or points to. So an RRset of any size is written compactly (hickory stops
    /// compressing after some names) and its records alike.
    fn write(
        &mut self,
        record: &Record,
        owner: &mut Option<[u8; 2]>,
    ) -> Result<(), hickory_proto::ProtoError> {
        let start = self.enc.offset();
        let first = owner.is_none();
        match *owner {
            Some(pointer) => self.enc.emit_vec(&pointer)?,
            None => record.name.emit(&mut self.enc)?,
        }
        let mut fixed = [0u8; 8];
        fixed[..2].copy_from_slice(&u16::from(record.record_type()).to_be_bytes());
        fixed[2..4].copy_from_slice(&u16::from(record.dns_class).to_be_bytes());
        fixed[4..].copy_from_slice(&record.ttl.to_be_bytes());
        self.enc.emit_vec(&fixed)?;
        if first {
            // Two bytes at least follow `start` now (the root name is one).
            let head = self.enc.slice_of(start, start + 2);
            *owner = if head[0] & 0xc0 == 0xc0 {
                Some([head[0], head[1]])
            } else {
                u16::try_from(start)
                    .ok()
                    .filter(|s| *s < 0x4000)
                    .map(|s| (0xc000 | s).to_be_bytes())
            };
        }
        let place = self.enc.place::<u16>()?;
        emit_rdata(&mut self.enc, &record.data)?;
        let len = u16::try_from(self.enc.len_since_place(&place))
            .map_err(|_| hickory_proto::ProtoError::from("RDATA over 64 KiB"))?;
        place.replace(&mut self.enc, len)
    }

    fn unit(&self, records: usize) -> Unit {
        Unit {
            end: u32::try_from(self.enc.offset()).unwrap_or(u32::MAX),
            records: u16::try_from(records).unwrap_or(u16::MAX),
        }
    }

    /// Marks an address RRset whose records are all written alike (same length, same owner
    /// bytes) for rotation; `end` is where its last record ends.
    fn mark_rotation(&mut self, rrset: &[Record], starts: &[usize], end: usize) {
        let first = &rrset[0];
        if !self.opts.rotate
            || starts.len() < 2
            || !matches!(first.record_type(), RecordType::A | RecordType::AAAA)
        {
            return;
        }
        let len = starts[1] - starts[0];
        let rdata_len = if first.record_type() == RecordType::A {
            4
        } else {
            16
        };
        let Some(head_len) = len.checked_sub(rdata_len) else {
            return;
        };
        let head = self.enc.slice_of(starts[0], starts[0] + head_len);
        let alike = end - starts[starts.len() - 1] == len
            && starts.windows(2).all(|w| w[1] - w[0] == len)
            && starts
                .iter()
                .all(|&s| self.enc.slice_of(s, s + head_len) == head);
        if alike {
            self.rotations.push(Rotation {
                start: u32::try_from(starts[0]).unwrap_or(u32::MAX),
                record_len: u32::try_from(len).unwrap_or(u32::MAX),
                count: u32::try_from(starts.len()).unwrap_or(u32::MAX),
            });
        }
    }
}

/// Writes `data` as hickory would in a message, directly for the types of large answers
/// (addresses and SRV, whose target is never compressed and keeps its case) and through
/// hickory for the others.
fn emit_rdata(enc: &mut BinEncoder<'_>, data: &RData) -> Result<(), hickory_proto::ProtoError> {
    match data {
        RData::A(a) => enc.emit_vec(&a.0.octets()),
        RData::AAAA(aaaa) => enc.emit_vec(&aaaa.0.octets()),
        RData::SRV(srv) => {
            let mut numbers = [0u8; 6];
            numbers[..2].copy_from_slice(&srv.priority.to_be_bytes());
            numbers[2..4].copy_from_slice(&srv.weight.to_be_bytes());
            numbers[4..].copy_from_slice(&srv.port.to_be_bytes());
            enc.emit_vec(&numbers)?;
            let mut target = [0; MAX_NAME_LEN];
            let target = write_name(&srv.target, false, &mut target)
                .ok_or_else(|| hickory_proto::ProtoError::from("SRV target over 255 bytes"))?;
            enc.emit_vec(target)
        }
        other => other.emit(enc),
    }
}

/// True when a message carries the RDATA of `record` in canonical form (RFC 4034 §6.2): no
/// names in it, or (SRV) a name never compressed that is lowercase already.
fn wire_is_canonical(record: &Record) -> bool {
    match &record.data {
        RData::A(_) | RData::AAAA(_) | RData::TXT(_) => true,
        RData::SRV(srv) => srv.target.iter().flatten().all(|b| !b.is_ascii_uppercase()),
        _ => false,
    }
}

/// The RDATA of the record that `wire` starts with (owner, type, class, TTL, length, RDATA);
/// `None` when it is cut short.
fn rdata_of(wire: &[u8]) -> Option<&[u8]> {
    let mut at = 0;
    loop {
        let len = *wire.get(at)?;
        if len & 0xc0 == 0xc0 {
            at += 2;
            break;
        }
        at += 1 + usize::from(len);
        if len == 0 {
            break;
        }
    }
    let rdlength = u16::from_be_bytes([*wire.get(at + 8)?, *wire.get(at + 9)?]);
    wire.get(at + 10..at + 10 + usize::from(rdlength))
}

/// The RRsets of a section: as `lengths` (from the core) say when they add up to the
/// records, else the runs of records with the same owner, type and class.
fn rrsets<'r>(records: &'r [Record], lengths: Option<&[usize]>) -> Vec<&'r [Record]> {
    match lengths {
        Some(lengths)
            if !lengths.contains(&0) && lengths.iter().sum::<usize>() == records.len() =>
        {
            let mut rest = records;
            lengths
                .iter()
                .map(|&n| {
                    let (rrset, tail) = rest.split_at(n);
                    rest = tail;
                    rrset
                })
                .collect()
        }
        _ => records.chunk_by(same_rrset).collect(),
    }
}

#[cfg(test)]
mod tests {
    use hickory_proto::rr::rdata::{A, AAAA, SRV, TXT};
    use hickory_proto::rr::Name;

    use super::*;

    fn rrset(owner: &str, data: Vec<RData>) -> Vec<Record> {
        let owner = Name::from_ascii(owner).unwrap();
        data.into_iter()
            .map(|d| Record::from_rdata(owner.clone(), 60, d))
            .collect()
    }

    fn srv(target: &str, port: u16) -> RData {
        RData::SRV(SRV::new(10, 50, port, Name::from_ascii(target).unwrap()))
    }

    /// Options for an unsigned reply of any size, with the asker's question `asked`.
    fn plain(asked: Option<&[u8]>) -> Options<'_> {
        Options {
            signer: None,
            now_unix: 0,
            body_limit: 65_535,
            rotate: false,
            cut_rrsets: false,
            valid_until: None,
            asked,
            rrsets: None,
        }
    }

    /// The canonical RDATA the compiler signs for `rrset`, written as a reply writes it, and
    /// whether it was read back from the message.
    fn compiled_rdata(rrset: &[Record]) -> (Vec<Vec<u8>>, bool) {
        let opts = plain(None);
        let mut buf = Vec::new();
        let mut writer = Writer {
            enc: BinEncoder::new(&mut buf),
            opts: &opts,
            left_out: false,
            tc: false,
            rotations: Vec::new(),
        };
        writer.emit(|e| e.emit_vec(&[0; HEADER_LEN])).unwrap();
        let starts = writer.records(rrset, 0, &mut None);
        assert_eq!(starts.len(), rrset.len());
        let rdata = writer.canonical_rdata(rrset, &starts).unwrap();
        let read_back = rrset.iter().all(wire_is_canonical);
        (rdata.iter().map(<[u8]>::to_vec).collect(), read_back)
    }

    fn encoded(rrset: &[Record]) -> Vec<Vec<u8>> {
        let rdata = CanonicalRdata::of(rrset).unwrap();
        rdata.iter().map(<[u8]>::to_vec).collect()
    }

    #[test]
    fn rdata_read_back_from_the_reply_is_the_canonical_rdata() {
        let cases = [
            rrset(
                "Web.SkyDNS.local.",
                vec![
                    RData::A(A::new(10, 0, 0, 2)),
                    RData::A(A::new(10, 0, 0, 1)),
                    RData::A(A::new(10, 0, 0, 2)),
                ],
            ),
            rrset(
                "web.skydns.local.",
                vec![RData::AAAA(AAAA::new(0xfd00, 0, 0, 0, 0, 0, 0, 1))],
            ),
            rrset(
                "t.skydns.local.",
                vec![RData::TXT(TXT::new(vec!["b".into(), "A".into()]))],
            ),
            rrset(
                "_x._tcp.skydns.local.",
                vec![srv("b.skydns.local.", 80), srv("a.skydns.local.", 443)],
            ),
        ];
        for case in &cases {
            let (rdata, read_back) = compiled_rdata(case);
            assert!(read_back, "{case:?}");
            assert_eq!(rdata, encoded(case), "{case:?}");
        }
    }

    #[test]
    fn an_srv_target_with_capitals_is_encoded_afresh() {
        let case = rrset("_x._tcp.skydns.local.", vec![srv("B.SkyDNS.local.", 80)]);
        let (rdata, read_back) = compiled_rdata(&case);
        assert!(!read_back);
        assert_eq!(rdata, encoded(&case));
        assert!(rdata[0].ends_with(b"\x01b\x06skydns\x05local\x00"));
    }

    #[test]
    fn a_record_cut_short_has_no_rdata() {
        let wire = [0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 0];
        assert_eq!(rdata_of(&wire), None);
        assert_eq!(rdata_of(&[3, b'w', b'w']), None);
        assert_eq!(
            rdata_of(&[1, b'x', 0, 0, 1, 0, 1, 0, 0, 0, 60, 0, 1, 9]),
            Some(&[9][..])
        );
    }

    #[test]
    fn a_question_written_as_asked_compiles_to_the_same_bytes_as_one_encoded() {
        let compile_with = |message: &Message, asked: Option<&[u8]>| {
            compile(message, &plain(asked)).unwrap().body().to_vec()
        };
        let encode = |name: &str, qtype: RecordType| {
            let mut out = Vec::new();
            Query::query(Name::from_ascii(name).unwrap(), qtype)
                .emit(&mut BinEncoder::new(&mut out))
                .unwrap();
            out
        };
        let deep = format!("{}skydns.local.", "a.".repeat(118));
        for (asked, held) in [
            ("Web.SkyDNS.local.", "web.skydns.local."),
            ("web.skydns.local.", "web.skydns.local."),
            (".", "."),
            (deep.as_str(), deep.as_str()),
        ] {
            let mut message = Message::query();
            message.add_query(Query::query(
                Name::from_ascii(held).unwrap(),
                RecordType::SRV,
            ));
            // Owners and targets that compress into the question.
            message.answers = rrset(
                held,
                vec![
                    srv(&format!("x.{}", held.trim_start_matches('.')), 80),
                    srv("other.example.", 81),
                ],
            );
            let encoded = compile_with(&message, None);
            let raw = encode(asked, RecordType::SRV);
            assert_eq!(compile_with(&message, Some(&raw)), encoded, "{asked}");
            // Another name, type or trailing bytes: encoded from the message instead.
            for other in [
                encode("web.skydns.locax.", RecordType::SRV),
                encode(asked, RecordType::A),
                [raw.as_slice(), &[0]].concat(),
                raw[..raw.len() - 1].to_vec(),
            ] {
                assert_eq!(compile_with(&message, Some(&other)), encoded, "{asked}");
            }
        }
    }

    #[test]
    fn records_are_written_as_hickory_writes_them() {
        use hickory_proto::rr::rdata::{CNAME, MX};
        let name = |n: &str| Name::from_ascii(n).unwrap();
        let records = [
            Record::from_rdata(name("a.Example."), 60, RData::A(A::new(10, 0, 0, 1))),
            Record::from_rdata(name("."), 5, RData::AAAA(AAAA::new(1, 2, 3, 4, 5, 6, 7, 8))),
            Record::from_rdata(name("s.example."), 9, srv("Rails.S1.example.", 80)),
            Record::from_rdata(name("s.example."), 9, srv(".", 0)),
            Record::from_rdata(
                name("m.example."),
                7,
                RData::MX(MX::new(5, name("m.example."))),
            ),
            Record::from_rdata(
                name("c.example."),
                7,
                RData::CNAME(CNAME(name("a.example."))),
            ),
            Record::from_rdata(name("t."), 1, RData::TXT(TXT::new(vec!["x".into()]))),
        ];
        let opts = plain(None);
        for record in &records {
            let mut want = Vec::new();
            record.emit(&mut BinEncoder::new(&mut want)).unwrap();
            let mut buf = Vec::new();
            let mut writer = Writer {
                enc: BinEncoder::new(&mut buf),
                opts: &opts,
                left_out: false,
                tc: false,
                rotations: Vec::new(),
            };
            let mut owner = None;
            writer.write(record, &mut owner).unwrap();
            // The next record of the RRset: its owner as a pointer to the first.
            writer.write(record, &mut owner).unwrap();
            assert_eq!(owner, Some([0xc0, 0]), "{record}");
            assert_eq!(buf[..want.len()], want, "{record}");
            assert_eq!(buf[want.len()..want.len() + 2], [0xc0, 0], "{record}");
            // The rest as the first but for names in the RDATA, which now compress into it.
            let rest = &want[owner_len(&want)..];
            let second = &buf[want.len() + 2..];
            if matches!(record.data, RData::MX(_) | RData::CNAME(_)) {
                assert_eq!(second[..8], rest[..8], "{record}");
            } else {
                assert_eq!(second, rest, "{record}");
            }
        }
    }

    /// The length of the owner name a record's wire form starts with (no pointers in it).
    fn owner_len(wire: &[u8]) -> usize {
        let mut at = 0;
        while wire[at] != 0 {
            at += 1 + usize::from(wire[at]);
        }
        at + 1
    }

    #[test]
    fn rrsets_as_the_core_grouped_them_compile_to_the_same_bytes() {
        let mut message = Message::query();
        message.answers = [
            rrset(
                "a.example.",
                vec![RData::A(A::new(10, 0, 0, 1)), RData::A(A::new(10, 0, 0, 2))],
            ),
            rrset("b.example.", vec![RData::A(A::new(10, 0, 0, 3))]),
            rrset(
                "c.example.",
                vec![srv("a.example.", 1), srv("b.example.", 2)],
            ),
        ]
        .concat();
        message.additionals = rrset("a.example.", vec![RData::A(A::new(10, 0, 0, 1))]);
        let by_owner = compile(&message, &plain(None)).unwrap();
        let compile_as = |answers: Vec<usize>| {
            let lengths = RrsetLengths {
                answers,
                additionals: vec![1],
            };
            let opts = Options {
                rrsets: Some(&lengths),
                ..plain(None)
            };
            let compiled = compile(&message, &opts).unwrap();
            (compiled.bytes, compiled.unit_counts)
        };
        assert_eq!(
            compile_as(vec![2, 1, 2]),
            (by_owner.bytes.clone(), by_owner.unit_counts)
        );
        // Lengths that do not add up to the section (or hold an empty RRset) are not used.
        for wrong in [vec![5, 1], vec![2, 1, 2, 0], vec![]] {
            assert_eq!(
                compile_as(wrong),
                (by_owner.bytes.clone(), by_owner.unit_counts)
            );
        }
        // Lengths that add up are taken as they are: the units follow them.
        assert_eq!(compile_as(vec![1, 1, 1, 2]).1, [4, 0, 1]);
    }

    #[test]
    fn a_reply_is_packed_in_one_allocation_and_read_back() {
        let a = |last: u8| RData::A(A::new(10, 0, 0, last));
        let mut message = Message::query();
        // Owners written as pointers to the question: the address records are alike.
        message.add_query(Query::query(
            Name::from_ascii("a.example.").unwrap(),
            RecordType::A,
        ));
        message.answers = rrset("a.example.", vec![a(1), a(2), a(3)]);
        message.authorities = rrset("example.", vec![RData::TXT(TXT::new(vec!["t".into()]))]);
        message.additionals = rrset("b.example.", vec![a(4)]);
        let mut edns = hickory_proto::op::Edns::new();
        edns.options_mut()
            .insert(EdnsOption::Unknown(ede::OPTION_CODE, vec![0, 18, b'x']));
        message.edns = Some(edns);
        let compiled = compile(
            &message,
            &Options {
                rotate: true,
                ..plain(None)
            },
        )
        .unwrap();
        assert_eq!(compiled.ede(), Some(&[0, 18, b'x'][..]));
        let [answer, authority, additional] = compiled.sections();
        assert_eq!(
            [answer.records(), authority.records(), additional.records()],
            [3, 1, 1]
        );
        let ends = [answer, authority, additional].map(|units| units.end().unwrap());
        assert!(ends[0] < ends[1] && ends[1] < ends[2] && ends[2] == compiled.body().len());
        let rotations: Vec<Rotation> = compiled.rotations().collect();
        assert_eq!(rotations.len(), 1);
        let r = rotations[0];
        assert_eq!(
            (r.count, (r.start + r.count * r.record_len) as usize),
            (3, ends[0])
        );
        // Three address records of one length over the question, one unit after another.
        for limit in 0..=compiled.body().len() {
            let fitting = (0..3)
                .filter(|&i| [ends[0], ends[1], ends[2]][i] <= limit)
                .count();
            let units = Units(&[answer.0, authority.0, additional.0].concat()).fitting(limit);
            assert_eq!(units, fitting, "{limit}");
        }
        // The body, the option data, three units and one rotation: nothing else is held.
        assert_eq!(
            compiled.weight(),
            std::mem::size_of::<Compiled>() + compiled.body().len() + 3 + 3 * 4 + 6
        );
    }
}
