//! EventBridge pattern cases, from AWS's "Content filtering in Amazon
//! EventBridge event patterns".

use serde_json::{Value, json};

use super::EventPattern;

fn matches(pattern: Value, event: Value) -> bool {
    EventPattern::from_value(&pattern)
        .unwrap_or_else(|e| panic!("{pattern} is valid: {e}"))
        .matches(&event)
}

fn invalid(pattern: Value) -> String {
    EventPattern::from_value(&pattern)
        .err()
        .unwrap_or_else(|| panic!("{pattern} should be invalid"))
        .to_string()
}

#[test]
fn pattern_exact_values_and_structure() {
    let ev = json!({
        "source": "aws.ec2", "detail-type": "EC2 Instance State-change Notification",
        "detail": {"state": "terminated", "count": 2, "ok": true, "note": null, "empty": ""}
    });
    assert!(matches(json!({"source": ["aws.ec2"]}), ev.clone()));
    assert!(
        matches(json!({"source": ["aws.fargate", "aws.ec2"]}), ev.clone()),
        "values in an array are OR"
    );
    assert!(!matches(json!({"source": ["aws.s3"]}), ev.clone()));
    assert!(matches(
        json!({"source": ["aws.ec2"], "detail": {"state": ["terminated"]}}),
        ev.clone()
    ));
    assert!(
        !matches(
            json!({"source": ["aws.ec2"], "detail": {"state": ["running"]}}),
            ev.clone()
        ),
        "fields are AND"
    );
    assert!(
        !matches(json!({"detail": {"missing": ["x"]}}), ev.clone()),
        "a missing field does not match"
    );
    assert!(
        !matches(json!({"state": ["terminated"]}), ev.clone()),
        "nesting must be the same"
    );
    assert!(
        !matches(json!({"source": ["AWS.EC2"]}), ev.clone()),
        "case-sensitive"
    );
    // Numbers compare as numbers, never with strings.
    assert!(matches(json!({"detail": {"count": [2]}}), ev.clone()));
    assert!(matches(json!({"detail": {"count": [2.0]}}), ev.clone()));
    assert!(!matches(json!({"detail": {"count": ["2"]}}), ev.clone()));
    assert!(matches(json!({"detail": {"ok": [true]}}), ev.clone()));
    assert!(!matches(json!({"detail": {"ok": [false]}}), ev.clone()));
    // null and the empty string are values of their own.
    assert!(matches(json!({"detail": {"note": [null]}}), ev.clone()));
    assert!(!matches(json!({"detail": {"empty": [null]}}), ev.clone()));
    assert!(matches(json!({"detail": {"empty": [""]}}), ev.clone()));
    assert!(!matches(json!({"detail": {"note": [""]}}), ev.clone()));
    assert!(
        !matches(json!({"detail": {"absent": [null]}}), ev.clone()),
        "null is not absent"
    );
}

#[test]
fn pattern_arrays_in_events_match_any_element() {
    let ev = json!({"resources": ["arn:aws:autoscaling:group/x", "arn:aws:ec2:instance/i-1"],
                    "detail": {"items": [{"name": "a", "n": 1}, {"name": "b", "n": 2}]}});
    assert!(matches(
        json!({"resources": ["arn:aws:ec2:instance/i-1", "arn:aws:ec2:instance/i-2"]}),
        ev.clone()
    ));
    assert!(!matches(
        json!({"resources": ["arn:aws:ec2:instance/i-2"]}),
        ev.clone()
    ));
    assert!(matches(
        json!({"resources": [{"prefix": "arn:aws:ec2:"}]}),
        ev.clone()
    ));
    assert!(matches(
        json!({"detail": {"items": {"name": ["b"]}}}),
        ev.clone()
    ));
    assert!(matches(
        json!({"detail": {"items": {"name": ["b"], "n": [2]}}}),
        ev.clone()
    ));
    assert!(!matches(
        json!({"detail": {"items": {"name": ["c"]}}}),
        ev.clone()
    ));
}

#[test]
fn pattern_prefix_suffix_and_case() {
    let ev = json!({"time": "2017-10-02T18:43:48Z", "detail": {"FileName": "photo.PNG", "service": "EventBridge"}});
    assert!(matches(
        json!({"time": [{"prefix": "2017-10-02"}]}),
        ev.clone()
    ));
    assert!(!matches(
        json!({"time": [{"prefix": "2017-10-03"}]}),
        ev.clone()
    ));
    assert!(!matches(
        json!({"detail": {"FileName": [{"suffix": ".png"}]}}),
        ev.clone()
    ));
    assert!(matches(
        json!({"detail": {"FileName": [{"suffix": ".PNG"}]}}),
        ev.clone()
    ));
    assert!(matches(
        json!({"detail": {"FileName": [{"suffix": {"equals-ignore-case": ".png"}}]}}),
        ev.clone()
    ));
    assert!(matches(
        json!({"detail": {"service": [{"prefix": {"equals-ignore-case": "eventb"}}]}}),
        ev.clone()
    ));
    assert!(matches(
        json!({"detail": {"service": [{"equals-ignore-case": "EVENTBRIDGE"}]}}),
        ev.clone()
    ));
    assert!(!matches(
        json!({"detail": {"service": [{"equals-ignore-case": "eventbridge2"}]}}),
        ev.clone()
    ));
    assert!(
        !matches(
            json!({"detail": {"count": [{"prefix": "1"}]}}),
            json!({"detail": {"count": 12}})
        ),
        "prefix is for strings"
    );
}

#[test]
fn pattern_anything_but() {
    let ev = |state: Value| json!({"detail": {"state": state}});
    assert!(matches(
        json!({"detail": {"state": [{"anything-but": "initializing"}]}}),
        ev(json!("running"))
    ));
    assert!(!matches(
        json!({"detail": {"state": [{"anything-but": "initializing"}]}}),
        ev(json!("initializing"))
    ));
    assert!(!matches(
        json!({"detail": {"state": [{"anything-but": ["stopped", "overloaded"]}]}}),
        ev(json!("stopped"))
    ));
    assert!(matches(
        json!({"detail": {"state": [{"anything-but": ["stopped", "overloaded"]}]}}),
        ev(json!("ok"))
    ));
    assert!(matches(
        json!({"detail": {"state": [{"anything-but": 123}]}}),
        ev(json!(456))
    ));
    assert!(!matches(
        json!({"detail": {"state": [{"anything-but": [100, 123]}]}}),
        ev(json!(123))
    ));
    assert!(!matches(
        json!({"detail": {"state": [{"anything-but": {"prefix": "init"}}]}}),
        ev(json!("initializing"))
    ));
    assert!(matches(
        json!({"detail": {"state": [{"anything-but": {"prefix": "init"}}]}}),
        ev(json!("running"))
    ));
    assert!(!matches(
        json!({"detail": {"state": [{"anything-but": {"suffix": ".png"}}]}}),
        ev(json!("a.png"))
    ));
    assert!(matches(
        json!({"detail": {"state": [{"anything-but": {"suffix": ".png"}}]}}),
        ev(json!("a.jpg"))
    ));
    assert!(!matches(
        json!({"detail": {"state": [{"anything-but": {"equals-ignore-case": ["Stopped", "overloaded"]}}]}}),
        ev(json!("STOPPED"))
    ));
    assert!(!matches(
        json!({"detail": {"state": [{"anything-but": {"wildcard": "*/lib/*"}}]}}),
        ev(json!("/usr/lib/x"))
    ));
    assert!(matches(
        json!({"detail": {"state": [{"anything-but": {"wildcard": "*/lib/*"}}]}}),
        ev(json!("/usr/bin/x"))
    ));
    assert!(
        !matches(
            json!({"detail": {"state": [{"anything-but": "x"}]}}),
            json!({"detail": {}})
        ),
        "absent fields never match"
    );
}

#[test]
fn pattern_exists() {
    let ev = json!({"detail": {"state": "on", "nothing": null, "obj": {"a": 1}}});
    assert!(matches(
        json!({"detail": {"state": [{"exists": true}]}}),
        ev.clone()
    ));
    assert!(!matches(
        json!({"detail": {"state": [{"exists": false}]}}),
        ev.clone()
    ));
    assert!(matches(
        json!({"detail": {"other": [{"exists": false}]}}),
        ev.clone()
    ));
    assert!(!matches(
        json!({"detail": {"other": [{"exists": true}]}}),
        ev.clone()
    ));
    assert!(
        matches(
            json!({"detail": {"nothing": [{"exists": true}]}}),
            ev.clone()
        ),
        "the value does not matter"
    );
    assert!(
        !matches(json!({"detail": {"obj": [{"exists": true}]}}), ev.clone()),
        "leaf nodes only"
    );
    assert!(
        matches(
            json!({"missing": {"deeper": [{"exists": false}]}}),
            ev.clone()
        ),
        "absent parent"
    );
    assert!(
        matches(
            json!({"detail": {"state": [{"exists": false}, "on"]}}),
            ev.clone()
        ),
        "OR with a value"
    );
}

#[test]
fn pattern_wildcards() {
    let m = |w: &str, s: &str| matches(json!({"k": [{"wildcard": w}]}), json!({"k": s}));
    assert!(m("*.png", "dir/photo.png"));
    assert!(!m("*.png", "dir/photo.jpg"));
    assert!(m("dir/*/file.txt", "dir/a/b/file.txt"));
    assert!(m("a*b*c", "aXXbYYc"));
    assert!(!m("a*b*c", "aXXcYYb"));
    assert!(m("*", ""));
    assert!(m("in\\*/*.csv", "in*/x.csv"), "`\\*` is a literal star");
    assert!(!m("in\\*/*.csv", "inX/x.csv"));
    assert!(m("back\\\\slash*", "back\\slash!"));
    assert!(invalid(json!({"k": [{"wildcard": "a**b"}]})).contains("consecutive"));
    assert!(invalid(json!({"k": [{"wildcard": "a\\b"}]})).contains("escape"));
    assert!(invalid(json!({"k": [{"wildcard": "a\\"}]})).contains("lone"));
    // What stackctl writes for a key prefix `in*` and suffix `.csv` together.
    let p = json!({
        "source": ["aws.s3"],
        "detail-type": ["Object Created"],
        "detail": {"bucket": {"name": ["raw"]}, "object": {"key": [{"wildcard": "in\\**.csv"}]}}
    });
    let ev = |key: &str| json!({"source": "aws.s3", "detail-type": "Object Created", "detail": {"bucket": {"name": "raw"}, "object": {"key": key}}});
    assert!(
        EventPattern::from_value(&p)
            .expect("valid")
            .matches(&ev("in*/a.csv"))
    );
    assert!(
        !EventPattern::from_value(&p)
            .expect("valid")
            .matches(&ev("inx/a.csv"))
    );
    assert!(
        !EventPattern::from_value(&p)
            .expect("valid")
            .matches(&ev("in*/a.txt"))
    );
}

#[test]
fn pattern_numeric_cidr_and_or() {
    let ev =
        json!({"detail": {"c-count": 5, "d-count": 0.5, "x-limit": "5", "source-ip": "10.0.0.7"}});
    assert!(matches(
        json!({"detail": {"c-count": [{"numeric": [">", 0, "<=", 5]}]}}),
        ev.clone()
    ));
    assert!(!matches(
        json!({"detail": {"c-count": [{"numeric": [">", 0, "<", 5]}]}}),
        ev.clone()
    ));
    assert!(matches(
        json!({"detail": {"d-count": [{"numeric": ["<", 10]}]}}),
        ev.clone()
    ));
    assert!(matches(
        json!({"detail": {"c-count": [{"numeric": ["=", 5]}]}}),
        ev.clone()
    ));
    assert!(
        !matches(
            json!({"detail": {"x-limit": [{"numeric": ["=", 5]}]}}),
            ev.clone()
        ),
        "strings are not numbers"
    );
    assert!(matches(
        json!({"detail": {"source-ip": [{"cidr": "10.0.0.0/24"}]}}),
        ev.clone()
    ));
    assert!(!matches(
        json!({"detail": {"source-ip": [{"cidr": "10.0.1.0/24"}]}}),
        ev.clone()
    ));
    assert!(matches(
        json!({"detail": {"$or": [{"c-count": [{"numeric": [">", 100]}]}, {"x-limit": ["5"]}]}}),
        ev.clone()
    ));
    assert!(!matches(
        json!({"detail": {"$or": [{"c-count": [{"numeric": [">", 100]}]}, {"x-limit": ["6"]}]}}),
        ev.clone()
    ));
    assert!(invalid(json!({"k": [{"numeric": [">", "a"]}]})).contains("number"));
    assert!(invalid(json!({"k": [{"numeric": ["<", 1, "<", 2]}]})).contains("one lower"));
    assert!(invalid(json!({"k": [{"numeric": [">", 5, "<", 1]}]})).contains("empty"));
    assert!(invalid(json!({"k": [{"numeric": ["~", 5]}]})).contains("operator"));
    assert!(invalid(json!({"k": [{"cidr": "10.0.0.0/99"}]})).contains("cidr"));
    assert!(invalid(json!({"$or": [{"a": ["x"]}]})).contains("at least two"));
}

#[test]
fn pattern_errors_name_the_bad_part() {
    let e = invalid(json!(["aws.s3"]));
    assert!(e.contains("`$`") && e.contains("JSON object"), "{e}");
    let e = invalid(json!({"source": "aws.s3"}));
    assert!(e.contains("`source`") && e.contains("array"), "{e}");
    let e = invalid(json!({"detail": {"object": {"key": [{"prefixx": "a"}]}}}));
    assert!(
        e.contains("`detail.object.key[0]`") && e.contains("unknown matcher `prefixx`"),
        "{e}"
    );
    let e = invalid(json!({"detail": {"state": []}}));
    assert!(
        e.contains("`detail.state`") && e.contains("empty array"),
        "{e}"
    );
    let e = invalid(json!({"k": [{"prefix": "a", "suffix": "b"}]}));
    assert!(e.contains("exactly one key"), "{e}");
    let e = invalid(json!({"k": [{"prefix": 5}]}));
    assert!(e.contains("`k[0].prefix`"), "{e}");
    let e = invalid(json!({"k": [{"exists": "yes"}]}));
    assert!(e.contains("true or false"), "{e}");
    let e = invalid(json!({"k": [["nested"]]}));
    assert!(e.contains("`k[0]`"), "{e}");
    let e = invalid(json!({"k": [{"anything-but": {"contains": "x"}}]}));
    assert!(e.contains("unknown key `contains`"), "{e}");
    assert!(EventPattern::parse("{not json").is_err());
}
