//! MX answers: services with `mail: true`, preference = priority, targets and glue as for SRV.
//! Groups do not apply to MX (as in SkyDNS).

use hickory_proto::rr::rdata::MX;
use hickory_proto::rr::{Name, RData, Record};

use super::targets::Targets;
use super::{record, Ctx, RECORD_OVERHEAD};

/// MX records of `lookup` owned by `owner` and their additional records; `None` when the name
/// does not exist.
pub fn answer(ctx: &mut Ctx<'_>, lookup: &str, owner: &Name) -> Option<(Vec<Record>, Vec<Record>)> {
    let entries = ctx.services(lookup);
    if entries.is_empty() {
        return None;
    }
    let mut targets = Targets::with_capacity(entries.len());
    let mut answers = Vec::new();
    for entry in entries.into_iter().filter(|e| e.service.mail) {
        let Some(ttl) = ctx.ttl(entry) else { continue };
        // Preference and a target that may be a compression pointer.
        if !ctx.claim(RECORD_OVERHEAD + 4) {
            break;
        }
        let Some(target) = targets.target(entry, ttl) else {
            continue;
        };
        let mx = MX::new(ctx.priority(entry), target);
        answers.push(record(owner, ttl, RData::MX(mx)));
    }
    let additional = targets.glue(ctx);
    Some((answers, additional))
}
