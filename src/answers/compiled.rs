//! Encoding a reply once for many askers ([`reply::Compiled`](super::reply::Compiled)): the
//! header, the question and the sections in wire format, the end of every unit and the address
//! RRsets that rotate.
//!
//! Building one ([`compile`]) signs each RRset right before writing it, and only when it fits
//! the size limit it is built for, so nothing is signed that is not sent: a reply that does
//! not fit keeps whole RRsets and sets TC (the answer section), leaves out the authority
//! section with TC, or leaves out the additional RRsets that do not fit (no TC). Over TCP an
//! answer RRset too large for any message is cut to the records that fit (with TC), and
//! signed as cut, instead of failing.

use std::cell::Cell;
use std::hash::BuildHasher;
use std::time::Instant;

use foldhash::{HashMap, HashMapExt};
use hickory_proto::op::{Message, Query};
use hickory_proto::rr::rdata::opt::{EdnsCode, EdnsOption};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use hickory_proto::serialize::binary::{BinEncodable, BinEncoder};
use thiserror::Error;

use super::reply::{Bits, Compiled, Parts, Rotation, Unit};
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
    let mut writer = Writer::new(buf, opts);
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
    Compiled::pack(&Parts {
        body: buf,
        ede,
        sections: [&answer, &authority, &additional],
        rotations: &rotations,
        question_end,
        // A limit above 65,535 is that (no message is larger).
        built_for: (left_out || tc).then_some(opts.body_limit.min(usize::from(u16::MAX))),
        bits: Bits {
            aa: md.authoritative,
            ra: md.recursion_available,
            tc,
            rcode: u16::from(md.response_code),
        },
        valid_until: opts.valid_until,
    })
    .ok_or_else(|| CompileError::Encode("a reply over 65,535 bytes".to_owned()))
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
    /// Where SRV targets were written (uncompressed, as RFC 2782 wants), by a hash of their
    /// lowercase wire form: an owner equal to one (the glue of an SRV answer) is written as a
    /// pointer to it instead of a name of its own.
    srv_targets: HashMap<u64, usize>,
}

impl<'b, 'o> Writer<'b, 'o> {
    fn new(buf: &'b mut Vec<u8>, opts: &'o Options<'o>) -> Self {
        Writer {
            enc: BinEncoder::new(buf),
            opts,
            left_out: false,
            tc: false,
            rotations: Vec::new(),
            srv_targets: HashMap::new(),
        }
    }

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
        match owner.or_else(|| self.srv_target(&record.name)) {
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
        let rdata = self.enc.offset();
        emit_rdata(&mut self.enc, &record.data)?;
        if matches!(record.data, RData::SRV(_)) {
            // Priority, weight and port, then the target.
            self.remember_srv_target(rdata + 6);
        }
        let len = u16::try_from(self.enc.len_since_place(&place))
            .map_err(|_| hickory_proto::ProtoError::from("RDATA over 64 KiB"))?;
        place.replace(&mut self.enc, len)
    }

    /// Notes the SRV target written at `at` (up to the encoder's offset) for owners to point
    /// to.
    fn remember_srv_target(&mut self, at: usize) {
        let end = self.enc.offset();
        if at >= 0x4000 || at >= end {
            return;
        }
        let mut lower = [0; MAX_NAME_LEN];
        let Some(lower) = lower.get_mut(..end - at) else {
            return;
        };
        lower.copy_from_slice(self.enc.slice_of(at, end));
        lower.make_ascii_lowercase();
        self.srv_targets.insert(name_hash(lower), at);
    }

    /// A pointer to an SRV target written before that is `name`, if there is one.
    fn srv_target(&self, name: &Name) -> Option<[u8; 2]> {
        if self.srv_targets.is_empty() {
            return None;
        }
        let mut lower = [0; MAX_NAME_LEN];
        let lower = write_name(name, true, &mut lower)?;
        let at = *self.srv_targets.get(&name_hash(lower))?;
        // The bytes there may have been rewound and overwritten since: only the same name, in
        // full up to its root label, is pointed to.
        let written = (at + lower.len() <= self.enc.offset())
            .then(|| self.enc.slice_of(at, at + lower.len()))?;
        let at = u16::try_from(at).ok().filter(|at| *at < 0x4000)?;
        written
            .eq_ignore_ascii_case(lower)
            .then(|| (0xc000 | at).to_be_bytes())
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

/// A hash of a name's lowercase wire form, for finding SRV targets again.
fn name_hash(lower: &[u8]) -> u64 {
    foldhash::quality::FixedState::default().hash_one(lower)
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
    use crate::answers::reply::Units;

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
        let mut writer = Writer::new(&mut buf, &opts);
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
            let mut writer = Writer::new(&mut buf, &opts);
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
            compile(&message, &opts).unwrap()
        };
        assert_eq!(compile_as(vec![2, 1, 2]).shape(), by_owner.shape());
        // Lengths that do not add up to the section (or hold an empty RRset) are not used.
        for wrong in [vec![5, 1], vec![2, 1, 2, 0], vec![]] {
            assert_eq!(compile_as(wrong).shape(), by_owner.shape());
        }
        // Lengths that add up are taken as they are: the units follow them.
        let units = compile_as(vec![1, 1, 1, 2]).sections().map(Units::len);
        assert_eq!(units, [4, 0, 1]);
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
        // The body, the option data, three units and one rotation: nothing else is held.
        assert_eq!(
            compiled.weight(),
            std::mem::size_of::<Compiled>() + compiled.body().len() + 3 + 3 * 4 + 6
        );
    }

    #[test]
    fn glue_owners_point_to_the_srv_targets() {
        let mut message = Message::query();
        message.add_query(Query::query(
            Name::from_ascii("web.example.").unwrap(),
            RecordType::SRV,
        ));
        message.answers = rrset(
            "web.example.",
            vec![srv("Rails.S1.example.", 80), srv("rails.s2.example.", 80)],
        );
        message.additionals = [
            rrset("rails.s1.example.", vec![RData::A(A::new(10, 0, 0, 1))]),
            rrset("rails.s2.example.", vec![RData::A(A::new(10, 0, 0, 2))]),
            rrset("rails.s3.example.", vec![RData::A(A::new(10, 0, 0, 3))]),
        ]
        .concat();
        let compiled = compile(&message, &plain(None)).unwrap();
        let body = compiled.body();
        let decoded = Message::from_vec(body).unwrap();
        assert_eq!(decoded.answers, message.answers);
        assert_eq!(decoded.additionals, message.additionals);
        // The first two glue owners are pointers to the targets (the third has no target);
        // the targets themselves stay uncompressed.
        let [answer, _, additional] = compiled.sections();
        let owner_at = |i: usize| match i {
            0 => answer.end().unwrap(),
            i => additional.get(i - 1).end as usize,
        };
        let target = |name: &[u8]| {
            let at = body.windows(name.len()).position(|w| w == name).unwrap();
            (0xc000 | u16::try_from(at).unwrap()).to_be_bytes()
        };
        assert_eq!(
            body[owner_at(0)..owner_at(0) + 2],
            target(b"\x05Rails\x02S1\x07example\x00")
        );
        assert_eq!(
            body[owner_at(1)..owner_at(1) + 2],
            target(b"\x05rails\x02s2\x07example\x00")
        );
        assert_ne!(body[owner_at(2)] & 0xc0, 0xc0);
    }
}
