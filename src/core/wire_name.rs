//! A name's uncompressed wire form written into a buffer on the stack, as it is or lowercased:
//! for hashing names and writing them without hickory's encoder, which goes through a name a
//! label at a time for each use.

use hickory_proto::rr::Name;

/// The most bytes a name takes in wire form.
pub const MAX_NAME_LEN: usize = 255;

/// Writes `name` (its labels and the root label) into `buf`, lowercased when `lowercase`;
/// `None` when it does not fit, which a name hickory accepted never does.
pub fn write_name<'b>(
    name: &Name,
    lowercase: bool,
    buf: &'b mut [u8; MAX_NAME_LEN],
) -> Option<&'b [u8]> {
    let mut len = 0;
    for label in name {
        let end = len + 1 + label.len();
        let slot = buf.get_mut(len..end)?;
        slot[0] = u8::try_from(label.len()).ok().filter(|n| *n <= 63)?;
        slot[1..].copy_from_slice(label);
        len = end;
    }
    *buf.get_mut(len)? = 0;
    let wire = &mut buf[..=len];
    if lowercase {
        // Length bytes are at most 63, below every capital letter.
        wire.make_ascii_lowercase();
    }
    Some(wire)
}

#[cfg(test)]
mod tests {
    use hickory_proto::serialize::binary::BinEncodable;

    use super::*;

    #[test]
    fn names_are_written_as_hickory_writes_them() {
        let deep = format!("{}x.", "ab.".repeat(84));
        for text in ["Web.SkyDNS.local.", "x.", ".", deep.as_str()] {
            let name = Name::from_ascii(text).unwrap();
            let mut buf = [0; MAX_NAME_LEN];
            let want = name.to_bytes().unwrap();
            assert_eq!(
                write_name(&name, false, &mut buf),
                Some(&want[..]),
                "{text}"
            );
            let lower = name.to_lowercase().to_bytes().unwrap();
            assert_eq!(
                write_name(&name, true, &mut buf),
                Some(&lower[..]),
                "{text}"
            );
        }
    }
}
