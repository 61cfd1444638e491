//! Final touches on an authoritative answer: identical records collapse to one (one CNAME per
//! owner), and every record of an RRset gets the RRset's smallest TTL (RFC 2181 §5.2).

use std::collections::HashMap;

use hickory_proto::rr::{Name, Record, RecordType};

/// Removes repeated records, keeping the first; of several CNAMEs with one owner only the
/// first stays.
pub fn dedup(records: &mut Vec<Record>) {
    let mut kept: Vec<Record> = Vec::with_capacity(records.len());
    for record in records.drain(..) {
        let duplicate = kept.iter().any(|k| {
            k.record_type() == record.record_type()
                && k.dns_class == record.dns_class
                && k.name == record.name
                && (record.record_type() == RecordType::CNAME || k.data == record.data)
        });
        if !duplicate {
            kept.push(record);
        }
    }
    *records = kept;
}

/// Gives every record of an RRset the smallest TTL in that RRset.
pub fn equalize_ttls(records: &mut [Record]) {
    let mut min: HashMap<(Name, RecordType), u32> = HashMap::new();
    for r in records.iter() {
        let key = (r.name.to_lowercase(), r.record_type());
        let ttl = min.entry(key).or_insert(r.ttl);
        *ttl = (*ttl).min(r.ttl);
    }
    for r in records.iter_mut() {
        if let Some(ttl) = min.get(&(r.name.to_lowercase(), r.record_type())) {
            r.ttl = *ttl;
        }
    }
}

/// Groups the records of each RRset together, keeping the order in which RRsets first appear
/// (truncation and signing work on whole RRsets).
pub fn group_rrsets(records: &mut Vec<Record>) {
    let mut order: Vec<(Name, RecordType)> = Vec::new();
    for r in records.iter() {
        let key = (r.name.to_lowercase(), r.record_type());
        if !order.contains(&key) {
            order.push(key);
        }
    }
    if order.len() <= 1 {
        return;
    }
    let mut all = std::mem::take(records);
    for key in order {
        let (same, rest): (Vec<Record>, Vec<Record>) = all
            .into_iter()
            .partition(|r| r.record_type() == key.1 && r.name.to_lowercase() == key.0);
        records.extend(same);
        all = rest;
    }
}

/// All three, for one section.
pub fn tidy(records: &mut Vec<Record>) {
    dedup(records);
    group_rrsets(records);
    equalize_ttls(records);
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
    fn one_cname_per_owner() {
        let c = |t: &str| {
            Record::from_rdata(
                Name::from_ascii("x.").unwrap(),
                5,
                RData::CNAME(CNAME(Name::from_ascii(t).unwrap())),
            )
        };
        let mut v = vec![c("a."), c("b.")];
        dedup(&mut v);
        assert_eq!(v.len(), 1);
    }
}
