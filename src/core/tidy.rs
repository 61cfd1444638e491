//! Final touches on an authoritative answer: identical records collapse to one (one CNAME per
//! owner), the records of each RRset stand together, and every record of an RRset gets the
//! RRset's smallest TTL (RFC 2181 §5.2). Linear in the number of records (names hash and
//! compare case-insensitively, with foldhash: hickory hashes a name a byte at a time).

use std::hash::{Hash, Hasher};

use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};

use super::wire_name::{write_name, MAX_NAME_LEN};

use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};

/// Splits records into RRsets (same owner, type and class), in the order RRsets first appear.
pub fn group_rrsets(records: Vec<Record>) -> Vec<Vec<Record>> {
    let mut sets: Vec<Vec<Record>> = Vec::new();
    let mut index: HashMap<(Name, RecordType, DNSClass), usize> = HashMap::new();
    for record in records {
        let key = (record.name.clone(), record.record_type(), record.dns_class);
        match index.get(&key) {
            Some(&i) => sets[i].push(record),
            None => {
                index.insert(key, sets.len());
                sets.push(vec![record]);
            }
        }
    }
    sets
}

/// True when `a` and `b` belong to one RRset.
pub fn same_rrset(a: &Record, b: &Record) -> bool {
    a.record_type() == b.record_type() && a.dns_class == b.dns_class && same_name(&a.name, &b.name)
}

/// `a == b` for names (case-insensitive), label by label from the left with slice compares
/// (a byte-for-byte compare first: the names of one RRset are mostly copies of one name):
/// the records of an RRset are compared pairwise in every answer, and hickory's own equality
/// goes a byte at a time from the right.
fn same_name(a: &Name, b: &Name) -> bool {
    // With equal encoded lengths, equal leading labels mean equal label counts too.
    a.is_fqdn() == b.is_fqdn()
        && a.len() == b.len()
        && a.iter()
            .zip(b.iter())
            .all(|(x, y)| x == y || x.eq_ignore_ascii_case(y))
}

/// Removes repeated records, keeping the first; of several CNAMEs with one owner only the
/// first stays.
fn dedup(records: Vec<Record>) -> Vec<Record> {
    let mut seen: HashSet<(Name, RecordType, DNSClass, Option<RData>)> = HashSet::new();
    records
        .into_iter()
        .filter(|r| {
            let data = (r.record_type() != RecordType::CNAME).then(|| r.data.clone());
            seen.insert((r.name.clone(), r.record_type(), r.dns_class, data))
        })
        .collect()
}

/// Gives every record of an RRset the RRset's smallest TTL.
pub fn equalize_ttls(rrset: &mut [Record]) {
    if let Some(min) = rrset.iter().map(|r| r.ttl).min() {
        rrset.iter_mut().for_each(|r| r.ttl = min);
    }
}

/// Dedup, RRsets together, equal TTLs: for one section; returns the number of records of
/// each RRset, in order. Records the core writes are mostly in runs of one RRset already (an
/// answer's addresses, one glue RRset per target): when no RRset is split over two runs, each
/// run is deduplicated and equalized where it stands, which costs a comparison per record
/// instead of hashing every name.
pub fn tidy(records: &mut Vec<Record>) -> Vec<usize> {
    let runs: Vec<usize> = records.chunk_by(same_rrset).map(<[Record]>::len).collect();
    let mut keys = HashSet::with_capacity(runs.len());
    let mut start = 0;
    let split = runs.len() > 1
        && !runs.iter().all(|len| {
            let first = &records[start];
            start += len;
            keys.insert((
                FoldedName(&first.name),
                first.record_type(),
                first.dns_class,
            ))
        });
    if split {
        let sets = group_rrsets(dedup(std::mem::take(records)));
        let lengths = sets.iter().map(Vec::len).collect();
        for mut set in sets {
            equalize_ttls(&mut set);
            records.extend(set);
        }
        return lengths;
    }
    let mut repeated = vec![false; records.len()];
    let mut kept = Vec::with_capacity(runs.len());
    let mut start = 0;
    for &len in &runs {
        let set = &records[start..start + len];
        let flags = &mut repeated[start..start + len];
        if set[0].record_type() == RecordType::CNAME {
            flags[1..].fill(true);
        } else if len > 1 {
            let mut seen: HashSet<FoldedRdata<'_>> = HashSet::with_capacity(len);
            for (flag, record) in flags.iter_mut().zip(set) {
                *flag = !seen.insert(FoldedRdata(&record.data));
            }
        }
        kept.push(flags.iter().filter(|r| !**r).count());
        start += len;
    }
    let mut index = 0;
    records.retain(|_| {
        index += 1;
        !repeated[index - 1]
    });
    let mut start = 0;
    for &len in &kept {
        equalize_ttls(&mut records[start..start + len]);
        start += len;
    }
    kept
}

/// A name hashed as its lowercase wire form in one piece (hickory hashes a name a byte at a
/// time), equal to names equal but for letter case.
struct FoldedName<'a>(&'a Name);

impl Hash for FoldedName<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        let mut buf = [0; MAX_NAME_LEN];
        match write_name(self.0, true, &mut buf) {
            Some(wire) => state.write(wire),
            // Never (hickory's names fit); equal names still hash alike.
            None => state.write_usize(self.0.len()),
        }
    }
}

impl PartialEq for FoldedName<'_> {
    fn eq(&self, other: &Self) -> bool {
        same_name(self.0, other.0)
    }
}

impl Eq for FoldedName<'_> {}

/// RDATA hashed with [`FoldedName`] for the names of the common types, equal as hickory's
/// RDATA are (names compare case-insensitively).
struct FoldedRdata<'a>(&'a RData);

impl Hash for FoldedRdata<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        match self.0 {
            RData::A(a) => a.0.hash(state),
            RData::AAAA(aaaa) => aaaa.0.hash(state),
            RData::SRV(srv) => {
                (srv.priority, srv.weight, srv.port).hash(state);
                FoldedName(&srv.target).hash(state);
            }
            other => other.hash(state),
        }
    }
}

impl PartialEq for FoldedRdata<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}

impl Eq for FoldedRdata<'_> {}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::rr::rdata::{A, CNAME};
    use hickory_proto::rr::RData;

    fn a(name: &str, ip: [u8; 4], ttl: u32) -> Record {
        Record::from_rdata(
            Name::from_ascii(name).unwrap(),
            ttl,
            RData::A(A::new(ip[0], ip[1], ip[2], ip[3])),
        )
    }

    #[test]
    fn duplicates_collapse_and_ttls_equalize() {
        let mut v = vec![
            a("x.", [1, 1, 1, 1], 30),
            a("X.", [1, 1, 1, 1], 30),
            a("x.", [2, 2, 2, 2], 10),
            a("y.", [1, 1, 1, 1], 50),
            a("x.", [3, 3, 3, 3], 90),
        ];
        assert_eq!(tidy(&mut v), vec![3, 1]);
        assert_eq!(v.len(), 4);
        assert_eq!(
            v.iter().map(|r| r.ttl).collect::<Vec<_>>(),
            vec![10, 10, 10, 50]
        );
        assert_eq!(v[3].name.to_ascii(), "y.");
    }

    #[test]
    fn rrsets_are_grouped_in_first_appearance_order() {
        let mut v = vec![
            a("x.", [1, 1, 1, 1], 5),
            a("y.", [2, 2, 2, 2], 5),
            a("X.", [3, 3, 3, 3], 5),
        ];
        assert_eq!(tidy(&mut v), vec![2, 1]);
        let names: Vec<String> = v.iter().map(|r| r.name.to_ascii()).collect();
        assert_eq!(names, vec!["x.", "X.", "y."]);
    }

    #[test]
    fn names_compare_as_hickory_compares_them() {
        let names = [
            "x.", "X.", "x", "x.y.", "X.Y.", "xy.", "x.yz.", "xy.z.", "*.x.", "a.x.", ".", "x.y",
        ];
        for a in names {
            for b in names {
                let (a, b) = (Name::from_ascii(a).unwrap(), Name::from_ascii(b).unwrap());
                assert_eq!(same_name(&a, &b), a == b, "{a:?} {b:?}");
            }
        }
    }

    #[test]
    fn one_cname_per_owner() {
        let c = |t: &str| {
            Record::from_rdata(
                Name::from_ascii("x.").unwrap(),
                5,
                RData::CNAME(CNAME(Name::from_ascii(t).unwrap())),
            )
        };
        let v = dedup(vec![c("a."), c("b.")]);
        assert_eq!(v.len(), 1);
    }

    #[test]
    fn srv_records_with_one_target_in_two_cases_are_one() {
        use hickory_proto::rr::rdata::SRV;
        let srv = |target: &str, port: u16| {
            Record::from_rdata(
                Name::from_ascii("s.").unwrap(),
                5,
                RData::SRV(SRV::new(1, 2, port, Name::from_ascii(target).unwrap())),
            )
        };
        let mut v = vec![
            srv("Rails.Example.", 80),
            srv("rails.example.", 80),
            srv("rails.example.", 81),
            srv("rails.examplf.", 80),
        ];
        assert_eq!(tidy(&mut v), vec![3]);
        let kept: Vec<String> = v.iter().map(|r| r.data.to_string()).collect();
        assert_eq!(
            kept,
            [
                "1 2 80 Rails.Example.",
                "1 2 81 rails.example.",
                "1 2 80 rails.examplf."
            ]
        );
    }
}
