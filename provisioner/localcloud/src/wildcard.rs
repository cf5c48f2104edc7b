//! The one glob matcher of the local cloud, for IAM's `Action`/`Resource`
//! patterns and EventBridge's `wildcard` matcher: `*` matches any run of
//! characters (possibly empty), `?` one character where the dialect has it.
//! Backtracking goes to the last `*` only: linear in practice, quadratic at
//! worst, never exponential.

/// One element of a compiled pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tok {
    Char(char),
    /// Any one character (IAM's `?`).
    Any,
    /// Any run, possibly empty.
    Star,
}

/// A compiled glob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Glob(pub(crate) Vec<Tok>);

impl Glob {
    /// IAM's dialect: `*` and `?` are special, nothing is escaped.
    pub(crate) fn iam(pattern: &str) -> Glob {
        Glob(
            pattern
                .chars()
                .map(|c| match c {
                    '*' => Tok::Star,
                    '?' => Tok::Any,
                    c => Tok::Char(c),
                })
                .collect(),
        )
    }

    pub(crate) fn matches(&self, text: &str) -> bool {
        let t: Vec<char> = text.chars().collect();
        let p = &self.0;
        let (mut ti, mut pi) = (0, 0);
        let mut star: Option<(usize, usize)> = None;
        while ti < t.len() {
            match p.get(pi) {
                Some(Tok::Char(c)) if *c == t[ti] => {
                    ti += 1;
                    pi += 1;
                }
                Some(Tok::Any) => {
                    ti += 1;
                    pi += 1;
                }
                Some(Tok::Star) => {
                    star = Some((pi, ti));
                    pi += 1;
                }
                _ => match star {
                    Some((sp, st)) => {
                        pi = sp + 1;
                        ti = st + 1;
                        star = Some((sp, st + 1));
                    }
                    None => return false,
                },
            }
        }
        p[pi..].iter().all(|t| *t == Tok::Star)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stars_and_question_marks() {
        let m = |p: &str, t: &str| Glob::iam(p).matches(t);
        assert!(m("s3:*", "s3:GetObject"));
        assert!(m("*", ""));
        assert!(m("a*b*c", "axxbyyc"));
        assert!(!m("a*b*c", "axxbyy"));
        assert!(m("s3:Get?bject", "s3:GetObject"));
        assert!(!m("s3:Get?bject", "s3:Getbject"));
        assert!(m("arn:aws:s3:::b/*", "arn:aws:s3:::b/in/x.csv"));
        assert!(!m("arn:aws:s3:::b/*", "arn:aws:s3:::bb/x"));
        // Backtracking to the last star only, still exact.
        assert!(m("*a*a*a*a*b", &format!("{}b", "a".repeat(50))));
        assert!(!m("*a*a*a*a*b", &"a".repeat(5000)));
    }
}
