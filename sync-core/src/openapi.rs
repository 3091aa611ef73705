//! JSON Schemas of the wire types a server's API carries (ops, targets,
//! values), for the server's OpenAPI document. Only with the `openapi`
//! feature; the phone's build (client-wasm) leaves it off.
//!
//! Written by hand rather than derived: these types have their own serde
//! shapes (an internally tagged action flattened into `Op`, tuple variants,
//! vocabularies that keep unknown identifiers), and each bound below is the
//! constant `Op::validate` checks, so the schema is never looser than the
//! validation for what a schema can say. What it cannot say (a known field's
//! own kind, a postcode's shape) is in the descriptions.

use crate::hlc::{Hlc, MAX_WALL_MS};
use crate::ids::{OpId, MAX_SEQ};
use crate::model::{
    ElementKind, FieldKind, PersonField, PersonSet, Position, Value, VisitField, VisitSet,
};
use crate::op::{
    Op, SetTarget, Target, MAX_PREDS, MAX_REASON_CHARS, MAX_SAFE_INTEGER, MAX_TEXT_CHARS,
};
use crate::vocab::{Status, MAX_IDENTIFIER_LEN};
use serde_json::{json, Value as Json};
use utoipa::openapi::{RefOr, Schema};

/// Text without control characters other than tab, line feed and carriage
/// return (what `check_text` refuses).
pub const TEXT_PATTERN: &str = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$";
/// A lower snake case identifier (`vocab::is_identifier`).
pub const IDENTIFIER_PATTERN: &str = "^[a-z][a-z0-9_]*$";

fn schema(v: Json) -> RefOr<Schema> {
    serde_json::from_value(v).expect("a schema sync-core writes is valid")
}

fn reference(name: &str) -> Json {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

fn identifier() -> Json {
    json!({
        "type": "string",
        "pattern": IDENTIFIER_PATTERN,
        "minLength": 1,
        "maxLength": MAX_IDENTIFIER_LEN,
        "description": "A lower snake case identifier; unknown identifiers from newer clients are kept."
    })
}

fn uuid() -> Json {
    json!({ "type": "string", "format": "uuid" })
}

fn text(max: usize, non_empty: bool) -> Json {
    let mut t = json!({ "type": "string", "maxLength": max, "pattern": TEXT_PATTERN });
    if non_empty {
        // Not blank: at least one character that is not white space.
        t["pattern"] = json!(
            r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$"
        );
        t["minLength"] = json!(1);
    }
    t
}

fn one_key(key: &str, v: Json) -> Json {
    json!({
        "type": "object",
        "properties": { key: v },
        "required": [key],
        "additionalProperties": false
    })
}

/// Implements `utoipa::ToSchema` with `$name`, the schema `$body` and the
/// named schemas it refers to.
macro_rules! to_schema {
    ($ty:ty, $name:literal, [$($dep:ty),*], $body:expr) => {
        impl utoipa::PartialSchema for $ty {
            fn schema() -> RefOr<Schema> {
                schema($body)
            }
        }
        impl utoipa::ToSchema for $ty {
            fn name() -> std::borrow::Cow<'static, str> {
                $name.into()
            }
            fn schemas(out: &mut Vec<(String, RefOr<Schema>)>) {
                let _ = &out;
                $(
                    out.push((<$dep as utoipa::ToSchema>::name().into(), <$dep as utoipa::PartialSchema>::schema()));
                    <$dep as utoipa::ToSchema>::schemas(out);
                )*
            }
        }
    };
}

to_schema!(
    OpId,
    "OpId",
    [],
    json!({
        "type": "object",
        "properties": {
            "replica": { "type": "string", "format": "uuid", "description": "The writing replica (a device id, or the server's)." },
            "seq": { "type": "integer", "format": "int64", "minimum": 1, "maximum": MAX_SEQ, "description": "1, 2, 3, … with no gaps per replica." }
        },
        "required": ["replica", "seq"]
    })
);

to_schema!(
    Hlc,
    "Hlc",
    [],
    json!({
        "type": "object",
        "description": "Hybrid logical clock reading of the writer.",
        "properties": {
            "wall_ms": { "type": "integer", "format": "int64", "minimum": 0, "maximum": MAX_WALL_MS },
            "counter": { "type": "integer", "format": "int64", "minimum": 0, "maximum": u32::MAX }
        },
        "required": ["wall_ms", "counter"]
    })
);

to_schema!(
    Position,
    "Position",
    [],
    json!({
        "type": "object",
        "description": "A GPS fix: degrees × 10⁷ and the reported accuracy in metres.",
        "properties": {
            "lat_e7": { "type": "integer", "format": "int32", "minimum": -900_000_000, "maximum": 900_000_000 },
            "lon_e7": { "type": "integer", "format": "int32", "minimum": -1_800_000_000, "maximum": 1_800_000_000 },
            "accuracy_m": { "type": "integer", "format": "int64", "minimum": 0, "maximum": u32::MAX }
        },
        "required": ["lat_e7", "lon_e7", "accuracy_m"]
    })
);

to_schema!(
    Value,
    "Value",
    [Position],
    json!({
        "description": "A field value: the string `\"empty\"` (clears the field) or an object with exactly one key. \
            A known field takes one kind only, and some narrow it further (a postcode, a country code, a date, \
            an integer range: sync-core `FieldKind`); a field unknown to this version takes any of these.",
        "oneOf": [
            { "type": "string", "enum": ["empty"] },
            one_key("text", text(MAX_TEXT_CHARS, false)),
            one_key("int", json!({ "type": "integer", "format": "int64", "minimum": -MAX_SAFE_INTEGER, "maximum": MAX_SAFE_INTEGER })),
            one_key("bool", json!({ "type": "boolean" })),
            one_key("time", json!({ "type": "integer", "format": "int64", "minimum": -MAX_SAFE_INTEGER, "maximum": MAX_SAFE_INTEGER, "description": "UTC ms since the Unix epoch." })),
            one_key("position", reference("Position"))
        ]
    })
);

fn person_pair() -> Json {
    person_pair_of(identifier())
}

fn person_pair_of(name: Json) -> Json {
    json!({
        "type": "array",
        "description": "`[person id, field or set name]`.",
        "prefixItems": [uuid(), name],
        "items": false,
        "minItems": 2,
        "maxItems": 2
    })
}

/// The values a field of `kind` takes (`check_value`): `"empty"` or one kind.
fn kind_values(kind: FieldKind) -> Json {
    let text = |t: Json| one_key("text", t);
    let one = match kind {
        FieldKind::Any => return reference("Value"),
        FieldKind::Text { max } => text(self::text(max, false)),
        FieldKind::Vocab => text(identifier()),
        FieldKind::Int { min, max } => one_key(
            "int",
            json!({ "type": "integer", "format": "int64", "minimum": min, "maximum": max }),
        ),
        FieldKind::Bool => one_key("bool", json!({ "type": "boolean" })),
        FieldKind::Time => one_key(
            "time",
            json!({ "type": "integer", "format": "int64", "minimum": -MAX_SAFE_INTEGER, "maximum": MAX_SAFE_INTEGER }),
        ),
        FieldKind::Date => text(json!({
            "type": "string", "format": "date",
            "pattern": "^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"
        })),
        FieldKind::Postcode => text(json!({
            "type": "string",
            "pattern": "^[A-Z][A-Z0-9]{1,3} ?[0-9][A-Z]{2}$",
            "description": "A UK postcode in capitals, with or without its space."
        })),
        FieldKind::Country => text(json!({ "type": "string", "pattern": "^[A-Z]{2}$" })),
        FieldKind::Position => one_key("position", reference("Position")),
    };
    json!({ "oneOf": [{ "type": "string", "enum": ["empty"] }, one] })
}

/// One `(target, value)` pair family.
fn write(target: Json, value: Json) -> Json {
    json!({
        "type": "object",
        "properties": { "target": target, "value": value },
        "required": ["target", "value"]
    })
}

/// Which values which field takes: every known field of a visit and of a
/// person with its kind, the arrests for an offence (0 to 1,000), and a
/// field this version does not know (any value).
pub struct FieldWrite;

to_schema!(FieldWrite, "FieldWrite", [Value, Position], {
    let mut writes = Vec::new();
    for f in VisitField::known() {
        writes.push(write(
            one_key("visit", json!({ "type": "string", "enum": [f.as_str()] })),
            kind_values(f.kind()),
        ));
    }
    for f in PersonField::known() {
        writes.push(write(
            one_key(
                "person",
                person_pair_of(json!({ "type": "string", "enum": [f.as_str()] })),
            ),
            kind_values(f.kind()),
        ));
    }
    writes.push(write(
        one_key("arrests", identifier()),
        kind_values(FieldKind::Int { min: 0, max: 1_000 }),
    ));
    let mut unknown = identifier();
    unknown["not"] = json!({ "enum": VisitField::KNOWN });
    writes.push(write(one_key("visit", unknown), reference("Value")));
    let mut unknown = identifier();
    unknown["not"] = json!({ "enum": PersonField::KNOWN });
    writes.push(write(
        one_key("person", person_pair_of(unknown)),
        reference("Value"),
    ));
    json!({
        "description": "A `target` and the `value` it may take: a known field takes its own kind \
            (sync-core `FieldKind`), an unknown one any value.",
        "oneOf": writes
    })
});

to_schema!(
    Target,
    "Target",
    [],
    json!({
        "description": "A scalar field: of the visit, of one person, or the arrests for one offence.",
        "oneOf": [
            one_key("visit", identifier()),
            one_key("person", person_pair()),
            one_key("arrests", identifier())
        ]
    })
);

to_schema!(
    SetTarget,
    "SetTarget",
    [],
    json!({
        "description": "A set field: of the visit or of one person.",
        "oneOf": [one_key("visit", identifier()), one_key("person", person_pair())]
    })
);

/// One op kind: the fields every op has, its `type` and its own fields.
fn op_kind(kind: &str, description: &str, fields: Json, required: &[&str]) -> Json {
    let mut properties = json!({
        "id": reference("OpId"),
        "hlc": reference("Hlc"),
        "visit": uuid(),
        "type": { "type": "string", "enum": [kind] }
    });
    for (k, v) in fields.as_object().expect("fields") {
        properties[k] = v.clone();
    }
    let mut req = vec!["id", "hlc", "visit", "type"];
    req.extend(required);
    json!({ "type": "object", "description": description, "properties": properties, "required": req })
}

/// A set's element, by the set's `ElementKind`.
fn element(kind: ElementKind) -> Json {
    match kind {
        ElementKind::Vocab => identifier(),
        ElementKind::Text { max } => text(max, true),
    }
}

/// Which elements which set takes: a known vocabulary set its identifiers
/// (unknown ones kept), the officers set short text, a set this version does
/// not know text (`VisitSet::element_kind`, `PersonSet::element_kind`).
pub struct SetWrite;

to_schema!(SetWrite, "SetWrite", [], {
    let write = |set: Json, elem: Json| {
        json!({
            "type": "object",
            "properties": { "set": set, "elem": elem },
            "required": ["set", "elem"]
        })
    };
    let named = |name: &str| json!({ "type": "string", "enum": [name] });
    let mut writes = Vec::new();
    for s in VisitSet::known() {
        writes.push(write(
            one_key("visit", named(s.as_str())),
            element(s.element_kind()),
        ));
    }
    for s in PersonSet::known() {
        writes.push(write(
            one_key("person", person_pair_of(named(s.as_str()))),
            element(s.element_kind()),
        ));
    }
    // A set this version does not know (an identifier none of the above).
    let unknown = element(VisitSet::Unrecognised(String::new()).element_kind());
    writes.push(write(one_key("visit", identifier()), unknown.clone()));
    writes.push(write(one_key("person", person_pair()), unknown));
    json!({ "description": "A `set` and the elements it takes.", "oneOf": writes })
});

/// A `returned` status carries a reason; any other may.
fn returned_needs_a_reason() -> Json {
    let returned = Status::Returned.as_str();
    json!({ "oneOf": [
        {
            "type": "object",
            "properties": { "status": { "type": "string", "enum": [returned] } },
            "required": ["status", "reason"]
        },
        {
            "type": "object",
            "properties": { "status": { "type": "string", "pattern": format!("^(?!{returned}$)[a-z][a-z0-9_]*$") } }
        }
    ] })
}

fn preds(description: &str) -> Json {
    json!({ "type": "array", "items": reference("OpId"), "maxItems": MAX_PREDS, "description": description })
}

to_schema!(
    Op,
    "Op",
    [OpId, Hlc, Target, SetTarget, Value, Position, FieldWrite, SetWrite],
    json!({
        "description": "One change to one visit (sync-core `Action`, internally tagged by `type` and flattened \
            into `Op`). Ops are validated one by one (`Op::validate`); an element of a vocabulary set must be \
            an identifier, of a text set not blank, and a value must fit its field's kind.",
        "oneOf": [
            op_kind("create", "Creates the visit in an operation.", json!({ "operation": uuid() }), &["operation"]),
            json!({ "allOf": [
                op_kind("set", "Writes a scalar field, superseding the writes named in `pred`.",
                    json!({ "target": reference("Target"), "value": reference("Value"), "pred": preds("The writes this one has seen and replaces.") }),
                    &["target", "value", "pred"]),
                reference("FieldWrite")
            ] }),
            json!({ "allOf": [
                op_kind("add", "Adds an element to a set.",
                    json!({ "set": reference("SetTarget"), "elem": { "type": "string" } }), &["set", "elem"]),
                reference("SetWrite")
            ] }),
            json!({ "allOf": [
                op_kind("remove", "Removes the adds of an element that the writer had seen.",
                    json!({ "set": reference("SetTarget"), "elem": { "type": "string" }, "observed": preds("The add ops of `elem` the writer saw.") }),
                    &["set", "elem", "observed"]),
                reference("SetWrite")
            ] }),
            op_kind("add_person", "Records a person.", json!({ "person": uuid() }), &["person"]),
            op_kind("note", "Appends a note.", json!({ "text": text(MAX_TEXT_CHARS, true) }), &["text"]),
            json!({ "allOf": [
                op_kind("status", "Moves the status forward within the lattice of rounds; `returned` needs a reason.",
                    json!({
                        "status": identifier(),
                        "round": { "type": "integer", "format": "int64", "minimum": 0, "maximum": u32::MAX },
                        "reason": text(MAX_REASON_CHARS, true)
                    }),
                    &["status"]),
                returned_needs_a_reason()
            ] })
        ]
    })
);
