//! Final touches on an authoritative answer: identical records collapse to one (one CNAME per
//! owner), the records of each RRset stand together, and every record of an RRset gets the
//! RRset's smallest TTL (RFC 2181 §5.2). Linear in the number of records (names hash and
//! compare case-insensitively, with foldhash: hickory hashes a name a byte at a time).

use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};

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

/// `a == b` for names (case-insensitive), label by label from the left with slice compares:
/// the records of an RRset are compared pairwise in every answer, and hickory's own equality
/// goes a byte at a time from the right.
fn same_name(a: &Name, b: &Name) -> bool {
    // With equal encoded lengths, equal leading labels mean equal label counts too.
    a.is_fqdn() == b.is_fqdn()
        && a.len() == b.len()
        && a.iter()
            .zip(b.iter())
            .all(|(x, y)| x.eq_ignore_ascii_case(y))
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

/// Dedup, RRsets together, equal TTLs: for one section. Records the core writes are mostly
/// in runs of one RRset already (an answer's addresses, one glue RRset per target): when no
/// RRset is split over two runs, each run is deduplicated and equalized where it stands,
/// which costs a comparison per record instead of hashing every name.
pub fn tidy(records: &mut Vec<Record>) {
    let runs: Vec<std::ops::Range<usize>> = records
        .chunk_by(same_rrset)
        .scan(0, |start, run| {
            let range = *start..*start + run.len();
            *start = range.end;
            Some(range)
        })
        .collect();
    let mut keys = HashSet::with_capacity(runs.len());
    let split = runs.len() > 1
        && !runs.iter().all(|run| {
            let first = &records[run.start];
            keys.insert((&first.name, first.record_type(), first.dns_class))
        });
    if split {
        let sets = group_rrsets(dedup(std::mem::take(records)));
        for mut set in sets {
            equalize_ttls(&mut set);
            records.extend(set);
        }
        return;
    }
    let mut repeated = vec![false; records.len()];
    for run in &runs {
        let set = &records[run.clone()];
        if set[0].record_type() == RecordType::CNAME {
            repeated[run.start + 1..run.end].fill(true);
        } else if set.len() > 1 {
            let mut seen: HashSet<&RData> = HashSet::with_capacity(set.len());
            for (i, record) in set.iter().enumerate() {
                repeated[run.start + i] = !seen.insert(&record.data);
            }
        }
    }
    let mut index = 0;
    records.retain(|_| {
        index += 1;
        !repeated[index - 1]
    });
    for run in records.chunk_by_mut(same_rrset) {
        equalize_ttls(run);
    }
}

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
        tidy(&mut v);
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
        tidy(&mut v);
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
}
