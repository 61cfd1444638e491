//! One line for an error and its causes, for the log and the terminal. Our error messages often
//! already include their cause (`cannot read x: Permission denied`), so a cause whose text the
//! line already holds is not repeated.

/// `top: cause: deeper cause`, without causes the line already says.
pub fn error_line(error: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn causes_already_said_are_left_out() {
        let io = std::io::Error::new(std::io::ErrorKind::PermissionDenied, "Permission denied");
        let e = anyhow::Error::new(io).context("cannot read f: Permission denied");
        assert_eq!(error_line(&e), "cannot read f: Permission denied");
        let e = anyhow::anyhow!("inner").context("outer");
        assert_eq!(error_line(&e), "outer: inner");
    }
}
