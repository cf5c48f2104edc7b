//! `${...}` references in strings and `{...}` placeholders in bucket naming
//! patterns.
//!
//! References: `${var.NAME}` (any string; substituted at load time),
//! `${bucket.ID}` and `${function.ID}` (environment values only; resolved
//! per account and region). `$${` is a literal `${`.
//!
//! Placeholders: `{stack}`, `{bucket}`, `{account}`, `{region}`.

/// One part of a string after parsing its `${...}` references.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Piece {
    Lit(String),
    Var(String),
    Bucket(String),
    Function(String),
}

/// What a reference may be, for error messages.
pub(crate) const REFS_ALLOWED: &str = "`${var.NAME}`; in environment values also \
     `${bucket.ID}` and `${function.ID}`; `$${` for a literal `${`";

/// Splits `s` into literal text and references. The error is a short reason.
pub(crate) fn parse_refs(s: &str) -> Result<Vec<Piece>, String> {
    let mut pieces = Vec::new();
    let mut lit = String::new();
    let mut rest = s;
    while let Some(pos) = rest.find('$') {
        lit.push_str(&rest[..pos]);
        let after = &rest[pos..];
        if let Some(tail) = after.strip_prefix("$${") {
            lit.push_str("${");
            rest = tail;
        } else if let Some(tail) = after.strip_prefix("${") {
            let Some(end) = tail.find('}') else {
                return Err("unterminated `${`".to_owned());
            };
            let inner = &tail[..end];
            let piece = match inner.split_once('.') {
                Some(("var", name)) if !name.is_empty() => Piece::Var(name.to_owned()),
                Some(("bucket", id)) if !id.is_empty() => Piece::Bucket(id.to_owned()),
                Some(("function", id)) if !id.is_empty() => Piece::Function(id.to_owned()),
                _ => {
                    return Err(format!("unknown reference `${{{inner}}}`"));
                }
            };
            if !lit.is_empty() {
                pieces.push(Piece::Lit(std::mem::take(&mut lit)));
            }
            pieces.push(piece);
            rest = &tail[end + 1..];
        } else {
            lit.push('$');
            rest = &after[1..];
        }
    }
    lit.push_str(rest);
    if !lit.is_empty() {
        pieces.push(Piece::Lit(lit));
    }
    Ok(pieces)
}

/// Writes pieces back in reference syntax (literal `${` escaped as `$${`).
pub(crate) fn unparse(pieces: &[Piece]) -> String {
    let mut out = String::new();
    for p in pieces {
        match p {
            Piece::Lit(s) => out.push_str(&escape_literal(s)),
            Piece::Var(n) => {
                out.push_str("${var.");
                out.push_str(n);
                out.push('}');
            }
            Piece::Bucket(n) => {
                out.push_str("${bucket.");
                out.push_str(n);
                out.push('}');
            }
            Piece::Function(n) => {
                out.push_str("${function.");
                out.push_str(n);
                out.push('}');
            }
        }
    }
    out
}

/// Escapes a literal so `parse_refs` reads it back unchanged.
pub(crate) fn escape_literal(s: &str) -> String {
    s.replace("${", "$${")
}

/// The placeholders a bucket naming pattern may use.
pub const PLACEHOLDERS: [&str; 4] = ["stack", "bucket", "account", "region"];

/// A bucket naming pattern part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PatPiece<'a> {
    Lit(&'a str),
    Hole(&'a str),
}

/// Parses `{placeholder}` holes in a bucket naming pattern.
pub(crate) fn parse_pattern(p: &str) -> Result<Vec<PatPiece<'_>>, String> {
    let mut out = Vec::new();
    let mut rest = p;
    while !rest.is_empty() {
        match rest.find(['{', '}']) {
            None => {
                out.push(PatPiece::Lit(rest));
                break;
            }
            Some(pos) => {
                if pos > 0 {
                    out.push(PatPiece::Lit(&rest[..pos]));
                }
                let tail = &rest[pos..];
                if tail.starts_with('}') {
                    return Err("unmatched `}`".to_owned());
                }
                let Some(end) = tail.find('}') else {
                    return Err("unmatched `{`".to_owned());
                };
                let name = &tail[1..end];
                if !PLACEHOLDERS.contains(&name) {
                    return Err(format!("unknown placeholder `{{{name}}}`"));
                }
                out.push(PatPiece::Hole(name));
                rest = &tail[end + 1..];
            }
        }
    }
    Ok(out)
}

/// Renders a naming pattern. A pattern that does not parse (it was validated
/// at load time, so only for hand-built stacks) is returned as it is.
pub(crate) fn render_pattern(
    pattern: &str,
    stack: &str,
    bucket: &str,
    account: &str,
    region: &str,
) -> String {
    let Ok(pieces) = parse_pattern(pattern) else {
        return pattern.to_owned();
    };
    let mut out = String::new();
    for p in pieces {
        match p {
            PatPiece::Lit(s) => out.push_str(s),
            PatPiece::Hole("stack") => out.push_str(stack),
            PatPiece::Hole("bucket") => out.push_str(bucket),
            PatPiece::Hole("account") => out.push_str(account),
            PatPiece::Hole("region") => out.push_str(region),
            PatPiece::Hole(other) => out.push_str(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lit(s: &str) -> Piece {
        Piece::Lit(s.to_owned())
    }

    #[test]
    fn plain_text_is_one_literal() {
        assert_eq!(parse_refs("hello"), Ok(vec![lit("hello")]));
        assert_eq!(parse_refs(""), Ok(vec![]));
        assert_eq!(parse_refs("a$b$"), Ok(vec![lit("a$b$")]));
    }

    #[test]
    fn references_are_split_out() {
        assert_eq!(
            parse_refs("x-${var.region}-${bucket.raw}${function.gen}!"),
            Ok(vec![
                lit("x-"),
                Piece::Var("region".into()),
                lit("-"),
                Piece::Bucket("raw".into()),
                Piece::Function("gen".into()),
                lit("!"),
            ])
        );
    }

    #[test]
    fn dollar_dollar_brace_is_a_literal() {
        assert_eq!(parse_refs("$${var.x}"), Ok(vec![lit("${var.x}")]));
        let pieces = vec![lit("a${b"), Piece::Var("v".into())];
        assert_eq!(
            parse_refs(&unparse(&pieces)),
            Ok(vec![lit("a${b"), Piece::Var("v".into())])
        );
    }

    #[test]
    fn bad_references_are_errors() {
        assert!(parse_refs("${var.x").is_err());
        assert!(parse_refs("${env.HOME}").is_err());
        assert!(parse_refs("${var.}").is_err());
        assert!(parse_refs("${}").is_err());
        assert!(parse_refs("${region}").is_err());
    }

    #[test]
    fn patterns_render_placeholders() {
        assert_eq!(
            render_pattern(
                "{stack}-{bucket}-{account}-{region}",
                "s",
                "raw",
                "123",
                "eu-west-1"
            ),
            "s-raw-123-eu-west-1"
        );
        assert_eq!(render_pattern("fixed", "s", "b", "a", "r"), "fixed");
    }

    #[test]
    fn bad_patterns_are_errors() {
        assert!(parse_pattern("{stack}-{nope}").is_err());
        assert!(parse_pattern("{stack").is_err());
        assert!(parse_pattern("stack}").is_err());
        assert!(parse_pattern("{}").is_err());
        assert!(parse_pattern("").is_ok_and(|p| p.is_empty()));
    }
}
