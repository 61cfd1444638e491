//! SRV answers: one record per service of the subtree (after groups), weights turned into
//! percentages per priority, targets and glue as in `targets`.

use std::collections::HashMap;

use hickory_proto::rr::rdata::SRV;
use hickory_proto::rr::{Name, RData, Record};

use super::targets::Targets;
use super::{group, record, wire_len, Ctx, RECORD_OVERHEAD};

/// A weight of 0 (not given) counts as this.
const DEFAULT_WEIGHT: u32 = 100;

/// `floor(100 * weight / sum of weights at that priority)`.
pub fn percentage(weight: u16, sum: u32) -> u16 {
    let weight = if weight == 0 {
        DEFAULT_WEIGHT
    } else {
        u32::from(weight)
    };
    u16::try_from(100 * weight / sum.max(1)).unwrap_or(100)
}

/// SRV records of `lookup` owned by `owner` and their additional records; `None` when the
/// name does not exist.
pub fn answer(ctx: &mut Ctx<'_>, lookup: &str, owner: &Name) -> Option<(Vec<Record>, Vec<Record>)> {
    let entries = ctx.services(lookup);
    if entries.is_empty() {
        return None;
    }
    let entries: Vec<_> = group::apply(entries)
        .into_iter()
        .filter(|e| e.service.has_host())
        .collect();
    let mut sums: HashMap<u16, u32> = HashMap::new();
    for entry in &entries {
        let w = match entry.service.weight {
            0 => DEFAULT_WEIGHT,
            w => u32::from(w),
        };
        *sums.entry(ctx.priority(entry)).or_default() += w;
    }
    let mut targets = Targets::with_capacity(entries.len());
    let mut answers = Vec::with_capacity(entries.len());
    for entry in entries {
        let Some(ttl) = ctx.ttl(entry) else { continue };
        if ctx.full() {
            break;
        }
        let Some(target) = targets.target(entry, ttl) else {
            continue;
        };
        // Priority, weight, port and the target, never compressed in SRV (RFC 2782).
        ctx.claim(RECORD_OVERHEAD + 6 + wire_len(&target));
        let priority = ctx.priority(entry);
        let weight = percentage(entry.service.weight, sums[&priority]);
        let srv = SRV::new(priority, weight, entry.service.port, target);
        answers.push(record(owner, ttl, RData::SRV(srv)));
    }
    let additional = targets.glue(ctx);
    Some((answers, additional))
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::{answer, percentage};
    use crate::config::RuntimeConfig;
    use crate::core::answer::{name, Ctx};
    use crate::core::outcome::Externals;
    use crate::core::snapshot::test_snapshot;

    /// SRV answer and glue counts for 100 services in a reply with `room` bytes.
    fn counts(room: usize) -> (usize, usize) {
        let keys: Vec<String> = (0..100).map(|i| format!("local/skydns/web/s{i}")).collect();
        let snap = test_snapshot(&keys.iter().map(String::as_str).collect::<Vec<_>>());
        let cfg = RuntimeConfig::default();
        let externals = Externals::none();
        let mut ctx = Ctx::new(&snap, &cfg, &externals, Instant::now()).with_room(room);
        let owner = name("web.skydns.local.").unwrap();
        let (answers, glue) = answer(&mut ctx, "web.skydns.local.", &owner).unwrap();
        (answers.len(), glue.len())
    }

    #[test]
    fn glue_is_built_only_while_the_reply_has_room() {
        assert_eq!(counts(65_000), (100, 100));
        // The SRV records take 3,990 bytes at least (12 + 6 + the target, `s0.web.skydns.local.`
        // and the like: 10 of 21 bytes, 90 of 22). Filled by them, the reply gets no glue.
        let (answers, glue) = counts(1_000);
        assert!(answers < 100 && glue == 0, "{answers} {glue}");
        assert_eq!(counts(3_990), (100, 0));
        // Room for ten address records (16 bytes each) after them.
        assert_eq!(counts(3_990 + 10 * 16), (100, 10));
    }

    #[test]
    fn weights_are_percentages_rounded_down() {
        let sum = 120 + 100 + 130;
        assert_eq!(
            [
                percentage(120, sum),
                percentage(100, sum),
                percentage(130, sum)
            ],
            [34, 28, 37]
        );
        assert_eq!(percentage(0, 300), 33);
        assert_eq!(percentage(7, 7), 100);
    }
}
