//! The shape the model answers in, and its JSON schema.
//!
//! [`ModelChange`] is [`TermChange`] without what termwatch computes itself
//! (`span`, `confidence`); the schema is generated from it by `schemars`,
//! with the kinds and statuses taken from the model's own enums, and
//! [`into_change`] builds a `TermChange` naming every field, so a field added
//! to `TermChange` fails to compile here until the model is asked for it
//! (or it is listed as computed in the test, which checks the two field lists).
//!
//! Kind and status are read as plain strings and checked in `verify`: an
//! unknown kind drops that one change, not the whole answer.

use schemars::JsonSchema;
use schemars::generate::SchemaSettings;
use schemars::transform::{RecursiveTransform, Transform};
use serde::Deserialize;

use super::Failure;
use crate::model::{ChangeKind, Span, Status, TermChange};

/// One change as the model reports it.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct ModelChange {
    /// What kind of term changed.
    #[schemars(with = "ChangeKind")]
    pub kind: String,
    /// The organisations involved, as the article names them.
    pub parties: Vec<String>,
    pub licensor: Option<String>,
    pub licensee: Option<String>,
    /// Who pays the revenue share, and who receives it.
    pub payer: Option<String>,
    pub payee: Option<String>,
    /// The model or product, for availability, pricing and deprecation.
    pub product: Option<String>,
    /// The cloud, marketplace or app it is offered on.
    pub platform: Option<String>,
    #[schemars(with = "Status")]
    pub status: String,
    pub exclusive: Option<bool>,
    /// The year or date the term runs to, as written in the evidence.
    pub until: Option<String>,
    /// The date the change takes effect, as written in the evidence.
    pub effective: Option<String>,
    /// The sentence that states the change, copied exactly from the article.
    pub evidence: String,
}

/// The whole answer: every change the article states. Only its schema is
/// used: `parse_answer` reads the changes one by one, so that one bad change
/// is dropped alone.
#[derive(JsonSchema)]
#[expect(dead_code, reason = "a schema source, never built")]
pub struct ModelAnswer {
    pub changes: Vec<ModelChange>,
}

/// A model change with its kind and status understood.
pub struct Fields {
    pub kind: ChangeKind,
    pub status: Status,
    pub change: ModelChange,
}

/// The one place a `TermChange` is built from a model answer: every field
/// is named, so the compiler catches a field the model is not asked for.
pub fn into_change(f: Fields, evidence: String, span: Span, confidence: f32) -> TermChange {
    let ModelChange {
        kind: _,
        parties,
        licensor,
        licensee,
        payer,
        payee,
        product,
        platform,
        status: _,
        exclusive,
        until,
        effective,
        evidence: _,
    } = f.change;
    TermChange {
        kind: f.kind,
        parties,
        licensor,
        licensee,
        payer,
        payee,
        product,
        platform,
        status: f.status,
        exclusive,
        until,
        effective,
        evidence,
        span,
        confidence,
    }
}

/// The `response_format` of the request: the answer's schema in the strict
/// form OpenAI-compatible servers accept (every property required, nulls
/// allowed where optional, no extra properties, no `$ref`).
pub fn response_format() -> serde_json::Value {
    let mut schema = SchemaSettings::draft2020_12()
        .with(|s| {
            s.meta_schema = None;
            s.inline_subschemas = true;
        })
        .for_deserialize()
        .into_generator()
        .into_root_schema_for::<ModelAnswer>();
    RecursiveTransform(strict).transform(&mut schema);
    serde_json::json!({
        "type": "json_schema",
        "json_schema": {"name": "term_changes", "strict": true, "schema": schema},
    })
}

fn strict(s: &mut schemars::Schema) {
    let Some(obj) = s.as_object_mut() else { return };
    obj.remove("title");
    obj.remove("format");
    let keys: Option<Vec<serde_json::Value>> =
        obj.get("properties").and_then(|p| p.as_object()).map(|p| {
            p.keys()
                .map(|k| serde_json::Value::from(k.as_str()))
                .collect()
        });
    if let Some(keys) = keys {
        obj.insert("required".into(), keys.into());
        obj.insert("additionalProperties".into(), false.into());
    }
}

/// The changes in a reply's content. Not JSON (or JSON cut off) is a
/// malformed reply; JSON without a `changes` list does not follow the
/// schema. Either fails the article (the rules stand in); single changes
/// are checked later, one by one. Error messages never quote the reply:
/// it may echo scraped text.
pub fn parse_answer(content: &str) -> Result<Vec<serde_json::Value>, Failure> {
    // Some servers wrap JSON in a Markdown fence despite the schema.
    let body = content.trim();
    let body = body
        .strip_prefix("```json")
        .or_else(|| body.strip_prefix("```"))
        .and_then(|b| b.strip_suffix("```"))
        .unwrap_or(body);
    let value: serde_json::Value = serde_json::from_str(body).map_err(|e| Failure::Malformed {
        what: format!(
            "not JSON ({} at line {} column {})",
            kind(&e),
            e.line(),
            e.column()
        ),
    })?;
    match value {
        serde_json::Value::Object(mut o) => match o.remove("changes") {
            Some(serde_json::Value::Array(a)) => Ok(a),
            Some(_) => Err(Failure::Schema {
                what: "\"changes\" is not a list".into(),
            }),
            None => Err(Failure::Schema {
                what: "no \"changes\" list".into(),
            }),
        },
        _ => Err(Failure::Schema {
            what: "the answer is not a JSON object".into(),
        }),
    }
}

fn kind(e: &serde_json::Error) -> &'static str {
    match e.classify() {
        serde_json::error::Category::Eof => "cut off",
        serde_json::error::Category::Syntax => "syntax error",
        _ => "unexpected value",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `TermChange` fields termwatch fills itself; the model is not asked for them.
    const COMPUTED: &[&str] = &["span", "confidence"];

    #[test]
    fn schema_asks_for_every_term_change_field_but_the_computed_ones() {
        let sample = TermChange {
            kind: ChangeKind::License,
            parties: vec![],
            licensor: None,
            licensee: None,
            payer: None,
            payee: None,
            product: None,
            platform: None,
            status: Status::Started,
            exclusive: None,
            until: None,
            effective: None,
            evidence: String::new(),
            span: Span::default(),
            confidence: 0.0,
        };
        let serde_json::Value::Object(all) = serde_json::to_value(&sample).unwrap() else {
            panic!("a change serialises as an object");
        };
        let mut wanted: Vec<&str> = all
            .keys()
            .map(String::as_str)
            .filter(|k| !COMPUTED.contains(k))
            .collect();
        wanted.sort();
        let rf = response_format();
        let item = &rf["json_schema"]["schema"]["properties"]["changes"]["items"];
        let mut asked: Vec<&str> = item["properties"]
            .as_object()
            .expect("items have properties")
            .keys()
            .map(String::as_str)
            .collect();
        asked.sort();
        assert_eq!(asked, wanted);
        let mut required: Vec<&str> = item["required"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|v| v.as_str())
            .collect();
        required.sort();
        assert_eq!(
            required, wanted,
            "strict mode wants every property required"
        );
        assert_eq!(item["additionalProperties"], false);
    }

    #[test]
    fn schema_lists_the_kinds_and_statuses_of_the_model() {
        let rf = response_format().to_string();
        for k in ChangeKind::ALL {
            assert!(rf.contains(&format!("\"{}\"", k.as_str())), "{k:?} in {rf}");
        }
        for s in Status::ALL {
            assert!(rf.contains(&format!("\"{}\"", s.as_str())), "{s:?} in {rf}");
        }
        assert!(!rf.contains("$ref"), "{rf}");
    }

    #[test]
    fn malformed_and_off_schema_replies_are_told_apart() {
        assert!(matches!(
            parse_answer("{not json"),
            Err(Failure::Malformed { .. })
        ));
        assert!(matches!(
            parse_answer("{\"result\": []}"),
            Err(Failure::Schema { .. })
        ));
        assert_eq!(
            parse_answer("```json\n{\"changes\": []}\n```")
                .unwrap()
                .len(),
            0
        );
    }
}
