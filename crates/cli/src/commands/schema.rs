//! `edgecert schema offer|report`: JSON Schemas derived from the very types the parser and the
//! report writer use, so they cannot drift.

use edgecert_engine::offer::Offer;
use edgecert_engine::report::Report;

use crate::SchemaKind;

pub fn run(which: SchemaKind) -> anyhow::Result<()> {
    let schema = match which {
        SchemaKind::Offer => schemars::schema_for!(Offer),
        SchemaKind::Report => schemars::schema_for!(Report),
    };
    let mut text = serde_json::to_string_pretty(&schema)?;
    text.push('\n');
    crate::output::write(None, &text)
}
