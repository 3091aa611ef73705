//! Values that a JSON Schema (as the served document writes them) accepts,
//! drawn from a seeded `SplitMix64`: types, enums, `const`, integer ranges,
//! string lengths, formats (uuid, date, date-time), patterns (a small regex
//! generator over a set of safe characters), objects with their required and
//! some optional properties, arrays within their item counts, and `oneOf` /
//! `allOf`. Lengths and ranges favour their bounds, where a server that is
//! stricter than its schema shows it.

use serde_json::{json, Map, Value as Json};
use sync_core::rand::SplitMix64;

/// Characters a negated class may draw from: letters, digits, punctuation,
/// a space, tab and line feed (a class may or may not allow them) and
/// characters beyond ASCII.
const SAFE: &[char] = &[
    'a', 'q', 'z', 'A', 'M', 'Z', '0', '7', '9', ' ', '-', '_', '.', '\'', ',', '/', ':', '\t',
    '\n', 'é', 'ł', 'ß', '€', '中', '😀',
];

pub struct Gen<'a> {
    doc: &'a Json,
    pub rng: SplitMix64,
}

impl<'a> Gen<'a> {
    pub fn new(doc: &'a Json, seed: u64) -> Self {
        Self {
            doc,
            rng: SplitMix64::new(seed),
        }
    }

    pub fn chance(&mut self, n: u64) -> bool {
        self.rng.below(n) == 0
    }

    fn pick<'b, T>(&mut self, items: &'b [T]) -> &'b T {
        &items[self.rng.below(items.len() as u64) as usize]
    }

    /// Follows a local `$ref`.
    pub fn resolve(&self, s: &'a Json) -> &'a Json {
        match s.get("$ref").and_then(Json::as_str) {
            Some(r) => self.resolve(
                self.doc
                    .pointer(r.trim_start_matches('#'))
                    .unwrap_or_else(|| panic!("dangling {r}")),
            ),
            None => s,
        }
    }

    /// A value `schema` accepts.
    pub fn value(&mut self, schema: &'a Json) -> Json {
        let s = self.resolve(schema);
        if let Some(Json::Array(refused)) = s.get("not").map(|n| &n["enum"]) {
            let rest = strip(s, "not");
            for _ in 0..100 {
                let v = self.value_owned(rest.clone());
                if !refused.contains(&v) {
                    return v;
                }
            }
            panic!("cannot draw a value outside {refused:?}");
        }
        if s == &Json::Bool(true) {
            return json!("anything");
        }
        if let Some(c) = s.get("const") {
            return c.clone();
        }
        if let Some(Json::Array(all)) = s.get("allOf") {
            let mut merged = strip(s, "allOf");
            for part in all {
                merged = merge(&merged, self.resolve(part));
            }
            return self.value_owned(merged);
        }
        for key in ["oneOf", "anyOf"] {
            if let Some(Json::Array(branches)) = s.get(key) {
                let picked = self.pick(branches);
                let branch = self.resolve(picked);
                let merged = merge(&strip(s, key), branch);
                let mut v = self.value_owned(merged);
                if key == "oneOf" {
                    self.exclude_others(&mut v, s, branch, branches);
                }
                return v;
            }
        }
        if let Some(Json::Array(values)) = s.get("enum") {
            return self.pick(values).clone();
        }
        let ty = match s.get("type") {
            Some(Json::String(t)) => t.clone(),
            Some(Json::Array(ts)) => {
                let ts: Vec<&str> = ts.iter().filter_map(Json::as_str).collect();
                let non_null: Vec<&str> = ts.iter().copied().filter(|t| *t != "null").collect();
                if non_null.is_empty() || (ts.contains(&"null") && self.chance(8)) {
                    return Json::Null;
                }
                self.pick(&non_null).to_string()
            }
            _ if s.get("properties").is_some() => "object".into(),
            _ => panic!("a schema the generator cannot read: {s}"),
        };
        match ty.as_str() {
            "object" => self.object(s),
            "array" => self.array(s),
            "integer" => json!(self.integer(s)),
            "number" => json!(self.integer(s) as f64 / 4.0),
            "boolean" => json!(self.chance(2)),
            "string" => json!(self.string(s)),
            "null" => Json::Null,
            other => panic!("type {other}"),
        }
    }

    /// `oneOf` means exactly one: drops from `v` an optional property that
    /// would make another branch's `required` list hold too.
    fn exclude_others(&self, v: &mut Json, base: &Json, chosen: &Json, branches: &[Json]) {
        let Some(obj) = v.as_object_mut() else {
            return;
        };
        let needed = |s: &Json| -> Vec<String> {
            s["required"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|k| k.as_str().map(String::from))
                .collect()
        };
        let keep: Vec<String> = needed(base).into_iter().chain(needed(chosen)).collect();
        for other in branches.iter().map(|b| self.resolve(b)) {
            let req = needed(other);
            if std::ptr::eq(other, chosen) || req.is_empty() {
                continue;
            }
            if req.iter().all(|k| obj.contains_key(k)) {
                if let Some(k) = req.iter().find(|k| !keep.contains(k)) {
                    obj.remove(k);
                }
            }
        }
    }

    fn value_owned(&mut self, s: Json) -> Json {
        // Leaked so the recursion can borrow it like the document's own
        // schemas; a test run makes a few thousand small ones.
        let s: &'a Json = Box::leak(Box::new(s));
        self.value(s)
    }

    fn object(&mut self, s: &'a Json) -> Json {
        let required: Vec<&str> = s["required"]
            .as_array()
            .map(|r| r.iter().filter_map(Json::as_str).collect())
            .unwrap_or_default();
        let mut out = Map::new();
        if let Some(props) = s.get("properties").and_then(Json::as_object) {
            for (k, v) in props {
                if required.contains(&k.as_str()) || self.chance(2) {
                    out.insert(k.clone(), self.value(v));
                }
            }
        } else if let Some(extra @ Json::Object(_)) = s.get("additionalProperties") {
            for _ in 0..self.rng.below(3) {
                let key = self.regex("^[a-z][a-z0-9_]*$", 1, 12);
                out.insert(key, self.value(extra));
            }
        }
        Json::Object(out)
    }

    fn array(&mut self, s: &'a Json) -> Json {
        let min = s["minItems"].as_u64().unwrap_or(0);
        let max = s["maxItems"].as_u64().unwrap_or(u64::MAX).min(min + 3);
        if let Some(Json::Array(prefix)) = s.get("prefixItems") {
            return prefix.iter().map(|p| self.value(p)).collect();
        }
        let n = min + self.rng.below(max - min + 1);
        (0..n).map(|_| self.value(&s["items"])).collect()
    }

    fn integer(&mut self, s: &Json) -> i64 {
        let (lo, hi) = match s["format"].as_str() {
            Some("int32") => (i64::from(i32::MIN), i64::from(i32::MAX)),
            _ => (i64::MIN, i64::MAX),
        };
        let lo = s["minimum"].as_i64().unwrap_or(lo);
        let hi = s["maximum"]
            .as_i64()
            .or_else(|| s["maximum"].as_u64().map(|_| i64::MAX))
            .unwrap_or(hi);
        match self.rng.below(6) {
            0 => lo,
            1 => hi,
            2 if lo <= 0 && 0 <= hi => 0,
            3 => lo.saturating_add(self.rng.below(10) as i64).min(hi),
            _ => {
                let span = (hi as i128 - lo as i128 + 1) as u128;
                let r = (u128::from(self.rng.next_u64()) << 64 | u128::from(self.rng.next_u64()))
                    % span;
                (lo as i128 + r as i128) as i64
            }
        }
    }

    fn string(&mut self, s: &Json) -> String {
        let min = s["minLength"].as_u64().unwrap_or(0) as usize;
        let max = s["maxLength"].as_u64().map_or(usize::MAX, |m| m as usize);
        match s["format"].as_str() {
            Some("uuid") => return self.uuid(),
            Some("date") => return self.date(),
            Some("date-time") => return format!("{}T12:34:56.789Z", self.date()),
            _ => {}
        }
        let pattern = s["pattern"].as_str().unwrap_or(".*");
        self.regex(pattern, min, max)
    }

    pub fn uuid(&mut self) -> String {
        let (a, b) = (self.rng.next_u64(), self.rng.next_u64());
        uuid::Uuid::from_u64_pair(a, b).to_string()
    }

    /// A real calendar date: usually near today, sometimes anywhere in
    /// 0000–9999 (what `format: date` allows).
    fn date(&mut self) -> String {
        let year = if self.chance(4) {
            self.rng.below(10_000) as i32
        } else {
            2020 + self.rng.below(10) as i32
        };
        let month = 1 + self.rng.below(12) as u32;
        let day = 1 + self
            .rng
            .below(u64::from(sync_core::summary::days_in_month(year, month)))
            as u32;
        format!("{year:04}-{month:02}-{day:02}")
    }

    /// A string matching `pattern` with `min..=max` characters.
    pub fn regex(&mut self, pattern: &str, min: usize, max: usize) -> String {
        let node = Parser::new(pattern).alternation();
        let refused = refused(&node);
        for _ in 0..200 {
            // Aim at a length: often a bound, else short.
            let target = match self.rng.below(5) {
                0 => min,
                1 if max < 100_000 => max,
                _ => min + self.rng.below(12) as usize,
            };
            let mut out = String::new();
            self.emit(&node, target.min(max), &mut out);
            let n = out.chars().count();
            if (min..=max).contains(&n) && !refused.contains(&out) {
                return out;
            }
        }
        panic!("cannot make a string of {min}..={max} characters matching {pattern}")
    }

    fn emit(&mut self, node: &Node, budget: usize, out: &mut String) {
        match node {
            Node::Seq(items) => {
                let open = items.iter().filter(|n| n.open_ended()).count().max(1);
                for n in items {
                    let used = out.chars().count();
                    self.emit(n, budget.saturating_sub(used) / open, out);
                }
            }
            Node::Alt(branches) => {
                let b = &branches[self.rng.below(branches.len() as u64) as usize];
                self.emit(b, budget, out);
            }
            Node::Repeat(inner, lo, hi) => {
                let hi = hi.unwrap_or(usize::MAX);
                let want = if self.chance(3) {
                    budget
                } else {
                    self.rng.below(6) as usize
                };
                let n = want.clamp(*lo, hi.min((*lo).max(budget)).max(*lo));
                for _ in 0..n {
                    self.emit(inner, 1, out);
                }
            }
            Node::Class(items, negated) => {
                let c = if *negated {
                    let allowed: Vec<char> = SAFE
                        .iter()
                        .copied()
                        .filter(|c| !items.iter().any(|i| i.contains(*c)))
                        .collect();
                    *self.pick(&allowed)
                } else {
                    let item = self.pick(items);
                    item.draw(&mut self.rng)
                };
                out.push(c);
            }
            Node::Char(c) => out.push(*c),
            Node::NotAhead(_) => {}
        }
    }
}

/// `s` without `key`.
fn strip(s: &Json, key: &str) -> Json {
    let mut m = s.as_object().cloned().unwrap_or_default();
    m.remove(key);
    Json::Object(m)
}

/// Two object schemas as one: properties and required lists joined, other
/// keywords from `b` where both have them.
fn merge(a: &Json, b: &Json) -> Json {
    let mut out = a.as_object().cloned().unwrap_or_default();
    for (k, v) in b.as_object().into_iter().flatten() {
        match (k.as_str(), out.get(k)) {
            ("properties", Some(Json::Object(p))) => {
                let mut p = p.clone();
                p.extend(v.as_object().cloned().unwrap_or_default());
                out.insert(k.clone(), Json::Object(p));
            }
            ("required", Some(Json::Array(r))) => {
                let mut r = r.clone();
                r.extend(v.as_array().cloned().unwrap_or_default());
                out.insert(k.clone(), Json::Array(r));
            }
            _ => {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    Json::Object(out)
}

#[derive(Debug)]
enum Node {
    Seq(Vec<Node>),
    Alt(Vec<Node>),
    Repeat(Box<Node>, usize, Option<usize>),
    Class(Vec<ClassItem>, bool),
    Char(char),
    /// `(?!a|b$)` at the start: the whole string is none of these.
    NotAhead(Vec<String>),
}

/// The strings a lookahead of literal alternatives (each ending at `$`) names.
fn literals(node: &Node) -> Vec<String> {
    match node {
        Node::Alt(branches) => branches.iter().flat_map(literals).collect(),
        Node::Seq(items) => vec![items
            .iter()
            .map(|n| match n {
                Node::Char(c) => *c,
                other => panic!("a lookahead the generator cannot read: {other:?}"),
            })
            .collect()],
        Node::Char(c) => vec![c.to_string()],
        other => panic!("a lookahead the generator cannot read: {other:?}"),
    }
}

/// The strings a pattern's leading lookahead refuses.
fn refused(node: &Node) -> Vec<String> {
    match node {
        Node::Seq(items) => items
            .iter()
            .flat_map(|n| match n {
                Node::NotAhead(words) => words.clone(),
                _ => Vec::new(),
            })
            .collect(),
        _ => Vec::new(),
    }
}

impl Node {
    fn open_ended(&self) -> bool {
        matches!(self, Node::Repeat(_, _, None))
    }
}

#[derive(Debug)]
enum ClassItem {
    Range(char, char),
    Space,
}

impl ClassItem {
    fn contains(&self, c: char) -> bool {
        match self {
            ClassItem::Range(a, b) => (*a..=*b).contains(&c),
            ClassItem::Space => c.is_whitespace(),
        }
    }

    fn draw(&self, rng: &mut SplitMix64) -> char {
        match self {
            ClassItem::Range(a, b) => {
                let span = u64::from(*b as u32 - *a as u32 + 1);
                char::from_u32(*a as u32 + rng.below(span) as u32).unwrap_or(*a)
            }
            ClassItem::Space => ' ',
        }
    }
}

/// The regex subset the document's patterns use: `^…$`, literals, escapes
/// (`\uXXXX`, `\s`, `\.`), classes with ranges and negation, groups with
/// alternation, and `* + ? {m} {m,n}`.
struct Parser<'p> {
    chars: std::iter::Peekable<std::str::Chars<'p>>,
}

impl<'p> Parser<'p> {
    fn new(pattern: &'p str) -> Self {
        Self {
            chars: pattern.chars().peekable(),
        }
    }

    fn alternation(&mut self) -> Node {
        let mut branches = vec![self.sequence()];
        while self.chars.peek() == Some(&'|') {
            self.chars.next();
            branches.push(self.sequence());
        }
        if branches.len() == 1 {
            branches.pop().unwrap()
        } else {
            Node::Alt(branches)
        }
    }

    fn sequence(&mut self) -> Node {
        let mut items = Vec::new();
        while let Some(&c) = self.chars.peek() {
            let atom = match c {
                '|' | ')' => break,
                '^' | '$' => {
                    self.chars.next();
                    continue;
                }
                '(' => {
                    self.chars.next();
                    let ahead = self.chars.peek() == Some(&'?');
                    if ahead {
                        assert_eq!(
                            (self.chars.next(), self.chars.next()),
                            (Some('?'), Some('!'))
                        );
                    }
                    let inner = self.alternation();
                    assert_eq!(self.chars.next(), Some(')'));
                    if ahead {
                        Node::NotAhead(literals(&inner))
                    } else {
                        inner
                    }
                }
                '[' => {
                    self.chars.next();
                    self.class()
                }
                '.' => {
                    self.chars.next();
                    Node::Class(vec![ClassItem::Range('\n', '\n')], true)
                }
                '\\' => {
                    self.chars.next();
                    match self.escape() {
                        ClassItem::Range(a, _) => Node::Char(a),
                        space => Node::Class(vec![space], false),
                    }
                }
                _ => {
                    self.chars.next();
                    Node::Char(c)
                }
            };
            items.push(self.quantified(atom));
        }
        Node::Seq(items)
    }

    fn quantified(&mut self, atom: Node) -> Node {
        let (lo, hi) = match self.chars.peek() {
            Some('*') => (0, None),
            Some('+') => (1, None),
            Some('?') => (0, Some(1)),
            Some('{') => {
                self.chars.next();
                let mut text = String::new();
                for c in self.chars.by_ref() {
                    if c == '}' {
                        break;
                    }
                    text.push(c);
                }
                let (lo, hi) = match text.split_once(',') {
                    Some((a, b)) => (a.parse().unwrap(), b.parse().ok()),
                    None => (text.parse().unwrap(), text.parse().ok()),
                };
                return Node::Repeat(Box::new(atom), lo, hi);
            }
            _ => return atom,
        };
        self.chars.next();
        Node::Repeat(Box::new(atom), lo, hi)
    }

    fn escape(&mut self) -> ClassItem {
        match self.chars.next().expect("escape") {
            'u' => {
                let hex: String = (0..4).filter_map(|_| self.chars.next()).collect();
                let c = char::from_u32(u32::from_str_radix(&hex, 16).unwrap()).unwrap();
                ClassItem::Range(c, c)
            }
            's' => ClassItem::Space,
            'n' => ClassItem::Range('\n', '\n'),
            't' => ClassItem::Range('\t', '\t'),
            c => ClassItem::Range(c, c),
        }
    }

    fn class(&mut self) -> Node {
        let negated = self.chars.peek() == Some(&'^');
        if negated {
            self.chars.next();
        }
        let mut items = Vec::new();
        loop {
            let c = self.chars.next().expect("unclosed class");
            let item = match c {
                ']' => break,
                '\\' => self.escape(),
                c => ClassItem::Range(c, c),
            };
            match (item, self.chars.peek()) {
                (ClassItem::Range(a, _), Some('-')) => {
                    self.chars.next();
                    if self.chars.peek() == Some(&']') {
                        items.push(ClassItem::Range(a, a));
                        items.push(ClassItem::Range('-', '-'));
                        continue;
                    }
                    let b = match self.chars.next().unwrap() {
                        '\\' => match self.escape() {
                            ClassItem::Range(b, _) => b,
                            ClassItem::Space => panic!("a range ending in \\s"),
                        },
                        b => b,
                    };
                    items.push(ClassItem::Range(a, b));
                }
                (item, _) => items.push(item),
            }
        }
        Node::Class(items, negated)
    }
}
