//! Resolves the generator's check paths (`#0/first/next/name`, `$plain`, `[1]`, `^field`) against a parsed stream.

use serde_json::{json, Value as Json};
use spark_checkpoint::jser::{Content, Entry, Stream, Value};
use spark_checkpoint::spark::view::View;
use spark_checkpoint::Limits;

/// Where a path leads: a value, or top-level block data.
#[derive(Debug, Clone)]
pub enum Node {
    Value(Value),
    Block(Vec<u8>),
    Json(Json),
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

pub fn resolve(stream: &Stream, path: &str) -> Result<Node, String> {
    let limits = Limits::default();
    let view = View { s: stream, limits: &limits };
    let mut node: Option<Node> = None;
    for seg in path.split('/') {
        let next = match (&node, seg) {
            (None, s) if s.starts_with('#') => {
                let i: usize = s[1..].parse().map_err(|_| format!("bad segment {s}"))?;
                match stream.contents.get(i) {
                    Some(Content::Value(v)) => Node::Value(*v),
                    Some(Content::Block(b)) => Node::Block(b.clone()),
                    None => return Err(format!("no top-level item {i} (have {})", stream.contents.len())),
                }
            }
            (Some(Node::Block(b)), "$hex") => Node::Json(json!(hex(b))),
            (Some(Node::Value(v)), s) => step(&view, v, s)?,
            (n, s) => return Err(format!("cannot apply {s} to {n:?}")),
        };
        node = Some(next);
    }
    node.ok_or_else(|| "empty path".to_string())
}

fn step(view: &View, v: &Value, seg: &str) -> Result<Node, String> {
    let s = view.s;
    let miss = || format!("{seg} not found on {:?} ({:?})", v, view.class(v));
    Ok(match seg {
        "$class" => Node::Json(json!(view.class(v).ok_or_else(miss)?)),
        "$plain" => Node::Json(view.plain(v, 0)),
        "$len" => Node::Json(json!(view.array(v).ok_or_else(miss)?.len())),
        "$strlen" => Node::Json(json!(s.string(v).ok_or_else(miss)?.encode_utf16().count())),
        "$strtail" => {
            let st = s.string(v).ok_or_else(miss)?;
            let tail: String = st.chars().rev().take(6).collect::<Vec<_>>().into_iter().rev().collect();
            Node::Json(json!(tail))
        }
        "$option" => Node::Json(json!(match view.option(v).ok_or_else(miss)? {
            None => "None",
            Some(_) => "Some",
        })),
        "$blocks" => {
            let ann = s.last_annotation(v).ok_or_else(miss)?;
            let bytes: Vec<u8> = ann
                .iter()
                .flat_map(|c| match c {
                    Content::Block(b) => b.clone(),
                    Content::Value(_) => vec![],
                })
                .collect();
            Node::Json(json!(hex(&bytes)))
        }
        "$enum" | "$classRef" => {
            let Value::Ref(h) = v else { return Err(miss()) };
            match (seg, s.entry(*h)) {
                ("$enum", Some(Entry::Enum { constant, .. })) => Node::Json(json!(constant)),
                ("$classRef", Some(Entry::Class(d))) => Node::Json(json!(d.and_then(|d| s.desc(d)).map(|d| d.name.clone()))),
                _ => return Err(miss()),
            }
        }
        a if a.starts_with("$ann[") => {
            let i: usize = a[5..a.len() - 1].parse().map_err(|_| miss())?;
            Node::Value(*view.annotation_values(v).get(i).ok_or_else(miss)?)
        }
        a if a.starts_with('[') => {
            let i: usize = a[1..a.len() - 1].parse().map_err(|_| miss())?;
            Node::Value(*view.array(v).ok_or_else(miss)?.get(i).ok_or_else(miss)?)
        }
        a if a.starts_with('^') => {
            // The least-derived class's slot: the shadowed field.
            let name = &a[1..];
            let obj = s.object(v).ok_or_else(miss)?;
            let found = obj.class_data.iter().find_map(|cd| {
                let d = s.desc(cd.desc)?;
                let i = d.fields.iter().position(|f| f.name == name)?;
                cd.values.get(i).copied()
            });
            Node::Value(found.ok_or_else(miss)?)
        }
        name => Node::Value(view.field(v, name).ok_or_else(miss)?),
    })
}

/// The JSON a leaf compares as: primitives and strings directly, anything else by class.
pub fn leaf(stream: &Stream, node: &Node) -> Json {
    match node {
        Node::Json(j) => j.clone(),
        Node::Block(b) => json!({ "$block": hex(b) }),
        Node::Value(v) => match v {
            Value::Null => Json::Null,
            Value::Boolean(b) => json!(b),
            Value::Byte(x) => json!(x),
            Value::Char(c) => json!(char::from_u32(u32::from(*c)).map(String::from)),
            Value::Short(x) => json!(x),
            Value::Int(x) => json!(x),
            Value::Long(x) => json!(x),
            Value::Float(x) => json!(x),
            Value::Double(x) => json!(x),
            Value::Ref(_) => match stream.string(v) {
                Some(s) => json!(s),
                None => json!({ "$class": stream.class_of(v) }),
            },
        },
    }
}
