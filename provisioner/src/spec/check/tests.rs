//! The checker's helpers, unit by unit (the whole checker is tested by
//! the bad-stacks corpus in tests/spec_errors.rs).

use super::*;

#[test]
fn key_paths_quote_odd_keys() {
    assert_eq!(child("", "stack"), "stack");
    assert_eq!(child("functions", "gen-1"), "functions.gen-1");
    assert_eq!(child("targets", "prod env"), "targets.\"prod env\"");
    assert_eq!(child("a", "x.y"), "a.\"x.y\"");
    assert_eq!(index("functions.p.triggers", 2), "functions.p.triggers[2]");
}

#[test]
fn paths_are_normalized_lexically() {
    assert_eq!(
        normalize(Path::new("/a/b/../c/./d")),
        PathBuf::from("/a/c/d")
    );
    assert_eq!(
        normalize(Path::new("/a/.stackctl")),
        PathBuf::from("/a/.stackctl")
    );
}

#[test]
fn values_are_quoted_on_one_line() {
    assert_eq!(q(""), "`\"\"`");
    assert_eq!(q("a\nb"), "`a\\nb`");
    assert_eq!(q("x`y"), "`x\\`y`");
}

fn errors(src: &str, vars: &[(&str, &str)]) -> Vec<String> {
    let vars: Vec<(String, String)> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    match check(src, "t.yaml", Path::new("/nonexistent"), &vars) {
        Ok(_) => Vec::new(),
        Err(e) => {
            e.0.into_iter()
                .map(|e| format!("{}: {}", e.key, e.message))
                .collect()
        }
    }
}

#[test]
fn variables_substitute_into_any_string() {
    let src = "stack: \"${var.name}\"\ntargets:\n  aws: { provider: aws, region: \"${var.r}\" }\n\
                   variables: { name: acme, r: eu-west-1 }\n";
    let stack = check(src, "t.yaml", Path::new("/"), &[]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(stack.name, "acme");
    assert_eq!(
        stack.targets.get("aws").map(Target::region),
        Some("eu-west-1")
    );
    let vars = [("r".to_owned(), "us-west-2".to_owned())];
    let stack = check(src, "t.yaml", Path::new("/"), &vars).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        stack.targets.get("aws").map(Target::region),
        Some("us-west-2")
    );
}

#[test]
fn variable_values_are_literal() {
    let src = "stack: a\ntargets: { l: { provider: local } }\nvariables: { x: \"${var.y}\" }\n";
    let e = errors(src, &[]);
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(e[0].contains("literal"), "{e:?}");
    let src = "stack: a\ntargets: { l: { provider: local } }\nvariables: { x: 1 }\n";
    let e = errors(src, &[("x", "${var.z}")]);
    assert_eq!(e.len(), 1, "{e:?}");
}

#[test]
fn bucket_references_only_in_environment() {
    let src =
        "stack: \"${bucket.raw}\"\ntargets: { l: { provider: local } }\nbuckets: { raw: {} }\n";
    let e = errors(src, &[]);
    assert!(
        e.iter()
            .any(|m| m.contains("only allowed in functions.*.environment")),
        "{e:?}"
    );
}

#[test]
fn anchors_and_merge_keys_work() {
    let src = "stack: a\ntargets: { l: { provider: local } }\nbuckets: { raw: {} }\n\
                   x-defaults: &d { memory: 1024, timeout: 30, reads: [raw] }\n\
                   functions:\n  one: { <<: *d, source: /, timeout: 31 }\n";
    // `/` is not a cargo package: exactly that error, nothing about the
    // merged keys.
    let e = errors(src, &[]);
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(e[0].starts_with("functions.one.source"), "{e:?}");
}
