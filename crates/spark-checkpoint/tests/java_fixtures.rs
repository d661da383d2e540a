//! The Java-serialization parser against real JDK-written streams: every check the generator wrote must hold.

mod common;

use common::paths::{leaf, resolve, Node};
use serde_json::Value as Json;
use spark_checkpoint::jser::{self, Value};
use spark_checkpoint::Limits;

fn run_fixture(json_path: &std::path::Path) -> Vec<String> {
    let side = common::read_json(json_path);
    let file = side["file"].as_str().expect("file");
    let bytes = std::fs::read(json_path.with_file_name(file)).expect("fixture bytes");
    let parsed = jser::parse(&bytes, &Limits::default());
    let mut bad = Vec::new();
    if let Some(err) = side.get("error").and_then(Json::as_str) {
        match parsed {
            Ok(_) => bad.push(format!("{file}: parsed, but the generator expects an error containing {err:?}")),
            Err(e) if !e.to_string().contains(err) => bad.push(format!("{file}: error {e} does not contain {err:?}")),
            Err(_) => {}
        }
        return bad;
    }
    let stream = match parsed {
        Ok(s) => s,
        Err(e) => return vec![format!("{file}: {e}")],
    };
    let handle = |path: &str| match resolve(&stream, path) {
        Ok(Node::Value(Value::Ref(h))) => Ok(h),
        other => Err(format!("{path} is not an object: {other:?}")),
    };
    let checks = side["checks"].as_array().expect("checks");
    if checks.is_empty() {
        bad.push(format!("{file}: no checks"));
    }
    for check in checks {
        if let Some(path) = check.get("path").and_then(Json::as_str) {
            match resolve(&stream, path) {
                Ok(node) => {
                    let got = leaf(&stream, &node);
                    if !common::json_eq(&got, &check["value"]) {
                        bad.push(format!("{file} {path}: expected {}, decoded {got}", check["value"]));
                    }
                }
                Err(e) => bad.push(format!("{file} {path}: {e}")),
            }
        } else if let Some(pair) = check.get("same").or(check.get("distinct")).and_then(Json::as_array) {
            let same = check.get("same").is_some();
            let (a, b) = (pair[0].as_str().unwrap_or(""), pair[1].as_str().unwrap_or(""));
            match (handle(a), handle(b)) {
                (Ok(x), Ok(y)) if (x == y) != same => {
                    bad.push(format!("{file}: {a} and {b} should be {}", if same { "one object" } else { "two objects" }))
                }
                (Ok(_), Ok(_)) => {}
                (x, y) => bad.push(format!("{file}: {x:?} {y:?}")),
            }
        }
    }
    bad
}

#[test]
fn every_generated_java_fixture_decodes_to_what_the_generator_wrote() {
    let dir = common::fixtures().join("java");
    let mut sidecars: Vec<_> = std::fs::read_dir(&dir)
        .expect("fixtures/java")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    sidecars.sort();
    assert!(sidecars.len() >= 15, "expected the generator's fixtures, found {}", sidecars.len());
    let bad: Vec<String> = sidecars.iter().flat_map(|p| run_fixture(p)).collect();
    assert!(bad.is_empty(), "{} mismatches:\n{}", bad.len(), bad.join("\n"));
}

#[test]
fn raw_tree_renders_shared_objects_once_and_cycles_as_refs() {
    let bytes = std::fs::read(common::fixtures().join("java/refs.ser")).unwrap();
    let stream = jser::parse(&bytes, &Limits::default()).unwrap();
    let tree = jser::tree::render(&stream, &Limits::default());
    let text = tree.to_string();
    // Node "a" is reached three times (first, again, b.next) but rendered once.
    assert_eq!(text.matches("\"name\":\"a\"").count(), 1, "{text}");
    assert!(text.contains("\"$ref\""), "{text}");
}

#[test]
fn nesting_limit_gives_an_error_not_a_stack_overflow() {
    let bytes = std::fs::read(common::fixtures().join("java/deep.ser")).unwrap();
    let limits = Limits { max_depth: 20, ..Limits::default() };
    let err = jser::parse(&bytes, &limits).unwrap_err();
    assert!(err.to_string().contains("nesting deeper than 20"), "{err}");
    // And the default limit accepts the same 61 levels.
    assert!(jser::parse(&bytes, &Limits::default()).is_ok());
}
