//! Renders the arena as a readable JSON tree: each entry in full once, then `{"$ref": id}`; bounded size and depth.

use serde_json::{json, Map, Value as Json};

use super::model::*;
use crate::Limits;

/// Renders the top-level contents of a stream.
pub fn render(stream: &Stream, limits: &Limits) -> Json {
    let mut r = Renderer { s: stream, seen: vec![false; stream.entries.len()], nodes: 0, limits };
    Json::Array(stream.contents.iter().map(|c| r.content(c, 0)).collect())
}

/// Renders one value (and what it reaches) on its own.
pub fn render_value(stream: &Stream, v: &Value, limits: &Limits) -> Json {
    let mut r = Renderer { s: stream, seen: vec![false; stream.entries.len()], nodes: 0, limits };
    r.value(v, 0)
}

struct Renderer<'a> {
    s: &'a Stream,
    seen: Vec<bool>,
    nodes: usize,
    limits: &'a Limits,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Renderer<'_> {
    fn content(&mut self, c: &Content, depth: usize) -> Json {
        match c {
            Content::Value(v) => self.value(v, depth),
            Content::Block(b) => {
                self.nodes += 1 + b.len() / 16;
                json!({ "$block": hex(b) })
            }
        }
    }

    fn value(&mut self, v: &Value, depth: usize) -> Json {
        self.nodes += 1;
        match *v {
            Value::Null => Json::Null,
            Value::Boolean(b) => json!(b),
            Value::Byte(b) => json!(b),
            Value::Char(c) => json!(char::from_u32(u32::from(c)).map_or_else(|| format!("\\u{c:04x}"), String::from)),
            Value::Short(x) => json!(x),
            Value::Int(x) => json!(x),
            Value::Long(x) => json!(x),
            Value::Float(x) => json!(x),
            Value::Double(x) => json!(x),
            Value::Ref(h) => self.entry(h, depth),
        }
    }

    fn entry(&mut self, h: Handle, depth: usize) -> Json {
        let Some(entry) = self.s.entries.get(h) else { return json!({ "$missing": h }) };
        if let Entry::String(s) = entry {
            return json!(s);
        }
        if self.seen[h] {
            return json!({ "$ref": h });
        }
        if self.nodes > self.limits.max_tree_nodes || depth >= self.limits.max_depth {
            return json!({ "$ref": h, "$cut": "tree size or depth limit" });
        }
        self.seen[h] = true;
        match entry {
            Entry::String(s) => json!(s),
            Entry::Pending => json!({ "$id": h, "$pending": true }),
            Entry::ClassDesc(d) => json!({ "$id": h, "$classDesc": d.name }),
            Entry::Class(d) => {
                let name = d.and_then(|d| self.s.desc(d)).map(|d| d.name.as_str());
                json!({ "$id": h, "$classRef": name })
            }
            Entry::Enum { desc, constant } => {
                json!({ "$id": h, "$enum": self.s.desc(*desc).map(|d| d.name.as_str()), "constant": constant })
            }
            Entry::Array(a) => {
                let items = match &a.data {
                    ArrayData::Bytes(b) => {
                        self.nodes += b.len() / 16;
                        json!(hex(b))
                    }
                    ArrayData::Values(vs) => Json::Array(vs.iter().map(|v| self.value(v, depth + 1)).collect()),
                };
                json!({ "$id": h, "$array": self.s.desc(a.desc).map(|d| d.name.as_str()), "items": items })
            }
            Entry::Object(o) => self.object(h, o, depth),
        }
    }

    fn object(&mut self, h: Handle, o: &Object, depth: usize) -> Json {
        let mut m = Map::new();
        m.insert("$id".into(), json!(h));
        m.insert("$class".into(), json!(self.s.desc(o.desc).map(|d| d.name.as_str())));
        // Most-derived class last in the stream; its names win, shadowed ones get a class prefix.
        for cd in o.class_data.iter().rev() {
            let Some(d) = self.s.desc(cd.desc) else { continue };
            let short = d.name.rsplit('.').next().unwrap_or(&d.name);
            for (f, v) in d.fields.iter().zip(&cd.values) {
                let key = if m.contains_key(&f.name) { format!("{short}.{}", f.name) } else { f.name.clone() };
                let rendered = self.value(v, depth + 1);
                m.insert(key, rendered);
            }
            if let Some(ann) = &cd.annotation {
                let items: Vec<Json> = ann.iter().map(|c| self.content(c, depth + 1)).collect();
                m.insert(format!("$data({short})"), Json::Array(items));
            }
        }
        Json::Object(m)
    }
}
