//! Extended DNS Errors (RFC 8914): an EDNS option that tells the client why its reply is
//! SERVFAIL or REFUSED (dig prints it as `EDE: 18 (Prohibited): (...)`). Only replies that
//! carry an OPT record, because the query had one, get it.

use hickory_proto::op::Message;
use hickory_proto::rr::rdata::opt::EdnsOption;

/// The EDNS option code of Extended DNS Errors.
pub const OPTION_CODE: u16 = 15;

/// The reasons skydns gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExtendedError {
    /// SERVFAIL while the store has not been loaded yet.
    NotReady,
    /// REFUSED: the recursion ACL does not let this client have foreign names.
    Prohibited,
    /// REFUSED: a foreign name and no forwarding for it (`no_rec`, no nameservers, `ndots`).
    NotAuthoritative,
    /// SERVFAIL: no upstream nameserver answered.
    NoReachableAuthority,
    /// SERVFAIL: too many upstream queries in flight to send another (code 0, Other).
    Busy,
}

impl ExtendedError {
    /// The INFO-CODE of RFC 8914 §5.
    pub fn code(self) -> u16 {
        match self {
            ExtendedError::NotReady => 14,
            ExtendedError::Prohibited => 18,
            ExtendedError::NotAuthoritative => 20,
            ExtendedError::NoReachableAuthority => 22,
            ExtendedError::Busy => 0,
        }
    }

    fn text(self) -> &'static str {
        match self {
            ExtendedError::NotReady => "the service data is still loading",
            ExtendedError::Prohibited => "recursion is not allowed for this client",
            ExtendedError::NotAuthoritative => "not authoritative and not forwarding this name",
            ExtendedError::NoReachableAuthority => "no upstream nameserver answered",
            ExtendedError::Busy => "too many upstream queries in flight",
        }
    }
}

/// Adds `error` to `reply`'s OPT record, if it has one.
pub fn attach(reply: &mut Message, error: ExtendedError) {
    let Some(edns) = reply.edns.as_mut() else {
        return;
    };
    let mut data = error.code().to_be_bytes().to_vec();
    data.extend_from_slice(error.text().as_bytes());
    edns.options_mut()
        .insert(EdnsOption::Unknown(OPTION_CODE, data));
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::op::Edns;
    use hickory_proto::rr::rdata::opt::EdnsCode;

    #[test]
    fn the_option_holds_the_code_then_the_text_and_needs_an_opt() {
        let mut without = Message::query();
        attach(&mut without, ExtendedError::Prohibited);
        assert!(without.edns.is_none());

        let mut with = Message::query();
        with.edns = Some(Edns::new());
        attach(&mut with, ExtendedError::NoReachableAuthority);
        let bytes = with.to_vec().unwrap();
        let decoded = Message::from_vec(&bytes).unwrap();
        let option = decoded
            .edns
            .as_ref()
            .and_then(|e| e.option(EdnsCode::from(OPTION_CODE)).cloned());
        let Some(EdnsOption::Unknown(_, data)) = option else {
            panic!("no EDE option: {option:?}")
        };
        assert_eq!(&data[..2], &[0, 22]);
        assert_eq!(&data[2..], b"no upstream nameserver answered");
    }
}
