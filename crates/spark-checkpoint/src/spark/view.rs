//! Reading values out of the arena the way Scala/Java would see them: boxes, Options, modules, tuples, Time.

use serde_json::{json, Value as Json};

use crate::jser::{ArrayData, Content, Entry, Stream, Value};
use crate::Limits;

/// A read-only lens over a parsed stream; every accessor returns `None` instead of guessing.
pub struct View<'a> {
    pub s: &'a Stream,
    pub limits: &'a Limits,
}

impl<'a> View<'a> {
    pub fn class(&self, v: &Value) -> Option<&'a str> {
        self.s.class_of(v)
    }

    pub fn is(&self, v: &Value, class: &str) -> bool {
        self.class(v) == Some(class)
    }

    /// True if `class` is anywhere in the object's serialized hierarchy.
    pub fn extends(&self, v: &Value, class: &str) -> bool {
        self.s.object(v).is_some_and(|o| o.class_data.iter().any(|cd| self.s.desc(cd.desc).is_some_and(|d| d.name == class)))
    }

    pub fn field(&self, v: &Value, name: &str) -> Option<Value> {
        self.s.field(v, name)
    }

    pub fn string(&self, v: &Value) -> Option<String> {
        self.s.string(v).map(str::to_string)
    }

    pub fn field_string(&self, v: &Value, name: &str) -> Option<String> {
        self.string(&self.field(v, name)?)
    }

    /// A primitive or boxed integral number (`java.lang.Long` inside `Map[TopicPartition, Long]`, `Tuple4`).
    pub fn long(&self, v: &Value) -> Option<i64> {
        match *v {
            Value::Long(x) => Some(x),
            Value::Int(x) => Some(x.into()),
            Value::Short(x) => Some(x.into()),
            Value::Byte(x) => Some(x.into()),
            Value::Ref(_) => match self.class(v)? {
                // Only a primitive inside the box: a crafted box of a box must not recurse.
                "java.lang.Long" | "java.lang.Integer" | "java.lang.Short" | "java.lang.Byte" => match self.field(v, "value")? {
                    Value::Ref(_) => None,
                    inner => self.long(&inner),
                },
                _ => None,
            },
            _ => None,
        }
    }

    pub fn boolean(&self, v: &Value) -> Option<bool> {
        match *v {
            Value::Boolean(b) => Some(b),
            Value::Ref(_) if self.is(v, "java.lang.Boolean") => match self.field(v, "value")? {
                Value::Boolean(b) => Some(b),
                _ => None,
            },
            _ => None,
        }
    }

    /// `Time` and `Duration` hold one long, name-mangled in some Spark versions (`…$$millis`).
    pub fn millis(&self, v: &Value) -> Option<i64> {
        match self.s.field_suffix(v, "millis")? {
            Value::Long(ms) => Some(ms),
            _ => None,
        }
    }

    /// The Scala `object` a value stands for: a 2.13 `ModuleSerializationProxy` or a 2.12 field-less `X$`.
    pub fn module(&self, v: &Value) -> Option<&'a str> {
        let class = self.class(v)?;
        if class == "scala.runtime.ModuleSerializationProxy" {
            let Value::Ref(h) = self.field(v, "moduleClass")? else { return None };
            return match self.s.entry(h)? {
                Entry::Class(Some(d)) => self.s.desc(*d).map(|d| d.name.as_str()),
                _ => None,
            };
        }
        let obj = self.s.object(v)?;
        let no_fields = obj.class_data.iter().all(|cd| cd.values.is_empty());
        (class.ends_with('$') && no_fields).then_some(class)
    }

    /// `Some(None)` for `None`, `Some(Some(x))` for `Some(x)`, `None` if it is not an Option.
    pub fn option(&self, v: &Value) -> Option<Option<Value>> {
        if self.module(v) == Some("scala.None$") {
            return Some(None);
        }
        if self.is(v, "scala.Some") {
            return Some(Some(self.field(v, "value")?));
        }
        None
    }

    /// `scala.TupleN` fields `_1` … `_N`.
    pub fn tuple(&self, v: &Value) -> Option<Vec<Value>> {
        let class = self.class(v)?;
        let n: usize = class.strip_prefix("scala.Tuple")?.parse().ok()?;
        (1..=n).map(|i| self.field(v, &format!("_{i}"))).collect()
    }

    /// The values of the most-derived custom annotation, block data left out.
    pub fn annotation_values(&self, v: &Value) -> Vec<Value> {
        self.s
            .last_annotation(v)
            .unwrap_or(&[])
            .iter()
            .filter_map(|c| match c {
                Content::Value(v) => Some(*v),
                Content::Block(_) => None,
            })
            .collect()
    }

    pub fn array(&self, v: &Value) -> Option<Vec<Value>> {
        let Value::Ref(h) = v else { return None };
        match self.s.entry(*h)? {
            Entry::Array(a) => Some(match &a.data {
                ArrayData::Bytes(b) => b.iter().map(|&x| Value::Byte(x as i8)).collect(),
                ArrayData::Values(vs) => vs.clone(),
            }),
            _ => None,
        }
    }

    /// A plain-JSON rendering for values users read (kafkaParams, Kafka offsets, conf): no object ids.
    pub fn plain(&self, v: &Value, depth: usize) -> Json {
        if depth > 16 {
            return json!("…");
        }
        match *v {
            Value::Null => Json::Null,
            Value::Boolean(b) => json!(b),
            Value::Char(c) => json!(char::from_u32(c.into()).map(String::from)),
            Value::Float(x) => json!(x),
            Value::Double(x) => json!(x),
            Value::Ref(h) => {
                if let Some(s) = self.s.string(v) {
                    return json!(s);
                }
                if let Some(x) = self.long(v) {
                    return json!(x);
                }
                if let Some(b) = self.boolean(v) {
                    return json!(b);
                }
                match self.s.entry(h) {
                    Some(Entry::Class(d)) => {
                        let name = d.and_then(|d| self.s.desc(d)).map_or("?", |d| d.name.as_str());
                        return json!(format!("class {name}"));
                    }
                    Some(Entry::Enum { constant, .. }) => return json!(constant),
                    _ => {}
                }
                if let Some(tp) = super::kafka::topic_partition(self, v) {
                    return json!(format!("{}-{}", tp.topic, tp.partition));
                }
                if matches!(self.class(v), Some("org.apache.spark.streaming.Time" | "org.apache.spark.streaming.Duration")) {
                    if let Some(ms) = self.millis(v) {
                        return json!(ms);
                    }
                }
                if let Some(pairs) = super::collections::map(self, v) {
                    let all_strings = pairs.iter().all(|(k, _)| self.s.string(k).is_some());
                    if all_strings {
                        let m = pairs.iter().map(|(k, x)| (self.string(k).unwrap_or_default(), self.plain(x, depth + 1))).collect();
                        return Json::Object(m);
                    }
                    return Json::Array(pairs.iter().map(|(k, x)| json!([self.plain(k, depth + 1), self.plain(x, depth + 1)])).collect());
                }
                if let Some(items) = super::collections::seq(self, v) {
                    return Json::Array(items.iter().map(|x| self.plain(x, depth + 1)).collect());
                }
                if let Some(t) = self.tuple(v) {
                    return Json::Array(t.iter().map(|x| self.plain(x, depth + 1)).collect());
                }
                if let Some(m) = self.module(v) {
                    return json!(m);
                }
                json!({ "$class": self.class(v) })
            }
            _ => json!(self.long(v)),
        }
    }
}
