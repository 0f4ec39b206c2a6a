//! `edgecert route test`: parses a route exactly as edgeHub does (errors and warnings rendered
//! with a caret under the offending character) and decides whether a message would be routed,
//! saying why. The language and its semantics live in `edgecert_edge::route`; this file only
//! reads the message file and renders. Exit codes: 0 routed, 1 not routed, 2 the route does
//! not parse (or the message file cannot be read).

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, Subcommand};
use edgecert_edge::route::{self, Message, Sink};

use crate::style::Painter;

#[derive(Subcommand, Debug)]
pub enum RouteCommand {
    /// Would edgeHub route this message with this route? Exit 0 routed, 1 not, 2 invalid route.
    Test(RouteTestArgs),
}

#[derive(Args, Debug)]
pub struct RouteTestArgs {
    /// The route, e.g. "FROM /messages/* WHERE $body.temperature > 30 INTO $upstream".
    #[arg(long)]
    pub route: String,
    /// The message as a JSON file ("-" for standard input): {"source": "/messages/modules/m/outputs/o",
    /// "properties": {...}, "systemProperties": {"contentType": "application/json",
    /// "contentEncoding": "utf-8"}, "body": {...}}; every member is optional.
    #[arg(long)]
    pub message: PathBuf,
}

pub fn run(args: RouteTestArgs) -> anyhow::Result<u8> {
    let parsed = route::parse(&args.route);
    for d in &parsed.diagnostics {
        eprintln!("{}\n", d.render(&args.route));
    }
    let Some(r) = parsed.route else {
        let n = parsed.errors().count();
        eprintln!(
            "edgecert: the route is invalid ({n} error(s)): edgeHub would reject the whole routing configuration"
        );
        return Ok(2);
    };
    let text = read(&args.message)?;
    let message = Message::from_json(&text)
        .with_context(|| format!("{}: not a valid message", args.message.display()))?;
    let e = route::evaluate(&r, &message);
    let p = Painter::for_stdout();
    let sink = match &r.sink {
        Sink::Upstream { .. } => "$upstream (IoT Hub)".to_owned(),
        Sink::Brokered { module, input, .. } => format!("input {input} of module {module}"),
        Sink::Placeholder { name, .. } => name.clone(),
    };
    if e.routed {
        println!("{} to {sink}", p.green("routed"));
    } else {
        println!("{} (the route sends to {sink})", p.red("not routed"));
    }
    for line in e.explain(&r, &message) {
        println!("  {line}");
    }
    Ok(if e.routed { 0 } else { 1 })
}

fn read(path: &Path) -> anyhow::Result<String> {
    if path == Path::new("-") {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .context("cannot read the message from standard input")?;
        return Ok(s);
    }
    edgecert_engine::input::read_text(path, edgecert_engine::input::MAX_DOCUMENT)
        .with_context(|| format!("cannot read {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn test(route: &str, message: &str) -> anyhow::Result<u8> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("msg.json");
        std::fs::write(&path, message).unwrap();
        run(RouteTestArgs {
            route: route.into(),
            message: path,
        })
    }

    #[test]
    fn exit_codes() {
        let msg = r#"{"source": "/messages/modules/f/outputs/o",
            "systemProperties": {"contentType": "application/json", "contentEncoding": "utf-8"},
            "body": {"temperature": 35}}"#;
        let hot = "FROM /messages/modules/f/* WHERE $body.temperature > 30 INTO $upstream";
        assert_eq!(test(hot, msg).unwrap(), 0);
        let cold = "FROM /messages/modules/f/* WHERE $body.temperature > 40 INTO $upstream";
        assert_eq!(test(cold, msg).unwrap(), 1);
        let bad = "FROM /messages/modules/f/* WHERE temperature > 30 INTO $upstream";
        assert_eq!(test(bad, msg).unwrap(), 2);
        assert!(test(hot, "{not json").is_err());
        assert!(
            run(RouteTestArgs {
                route: hot.into(),
                message: "/nonexistent/msg.json".into()
            })
            .is_err()
        );
    }
}
