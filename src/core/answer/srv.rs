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
    let mut targets = Targets::default();
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
    use super::percentage;

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
