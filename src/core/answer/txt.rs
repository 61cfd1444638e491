//! TXT answers: one record per service with text (after groups), the text split into
//! character-strings of at most 255 bytes.

use hickory_proto::rr::rdata::TXT;
use hickory_proto::rr::{Name, RData, Record};

use super::{group, record, Ctx, RECORD_OVERHEAD};

/// Splits text into pieces of at most 255 bytes (a character-string's limit).
pub fn split255(text: &str) -> Vec<&[u8]> {
    text.as_bytes().chunks(255).collect()
}

/// TXT records of `lookup` owned by `owner`; `None` when the name does not exist.
pub fn answer(ctx: &mut Ctx<'_>, lookup: &str, owner: &Name) -> Option<Vec<Record>> {
    let entries = ctx.services(lookup);
    if entries.is_empty() {
        return None;
    }
    let mut answers = Vec::new();
    for entry in group::apply(entries) {
        if entry.service.text().is_empty() {
            continue;
        }
        let Some(ttl) = ctx.ttl(entry) else { continue };
        if !ctx.claim(RECORD_OVERHEAD + entry.service.text().len()) {
            break;
        }
        let txt = TXT::from_bytes(split255(entry.service.text()));
        answers.push(record(owner, ttl, RData::TXT(txt)));
    }
    Some(answers)
}

#[cfg(test)]
mod tests {
    use super::split255;

    #[test]
    fn splits_at_255_bytes() {
        let text = "x".repeat(300);
        let parts = split255(&text);
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            vec![255, 45]
        );
        assert_eq!(split255("").len(), 0);
    }
}
