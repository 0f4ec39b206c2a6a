//! Entrypoint resolution shared by EC203 and EC204: `Entrypoint` + `Cmd` resolved in a
//! platform's merged filesystem through `PATH`, symlinks and `#!` interpreters, as the kernel
//! and `execvp` would inside the container.

use crate::analyze::FileFact;
use crate::analyze::header::ElfInfo;
use crate::facts::PlatformFacts;
use crate::facts::merged::NodeKind;

/// Docker's default PATH when the image config sets none.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// A `#!` chain is followed at most this deep (Linux allows 4 levels of interpreters).
const MAX_INTERPRETERS: usize = 4;

#[derive(Debug, Clone)]
pub struct ResolvedEntrypoint {
    /// The command as written (argv[0]).
    pub command: String,
    /// Each file executed, first to last: the script(s), then the ELF interpreter/binary.
    pub chain: Vec<String>,
    /// The ELF binary finally executed.
    pub elf: ElfInfo,
}

pub fn resolve(p: &PlatformFacts) -> Result<ResolvedEntrypoint, String> {
    let config = p
        .config
        .as_ref()
        .ok_or("the image config could not be read")?;
    let argv: Vec<&String> = config.entrypoint.iter().chain(&config.cmd).collect();
    let command = argv
        .first()
        .ok_or("neither Entrypoint nor Cmd is set")?
        .to_string();
    if command.is_empty() {
        return Err("argv[0] is an empty string".into());
    }
    let path_var = config.env_var("PATH").unwrap_or(DEFAULT_PATH);
    let cwd = config.working_dir.as_deref().unwrap_or("/");
    let mut chain = Vec::new();
    let mut next = command.clone();
    for _ in 0..=MAX_INTERPRETERS {
        let (path, node) =
            p.fs.which(&next, path_var, cwd)
                .map_err(|e| format!("{next}: {e}"))?;
        if node.kind != NodeKind::File {
            return Err(format!("/{path} is not a regular file"));
        }
        if node.mode & 0o111 == 0 {
            return Err(format!(
                "/{path} is not executable (mode {:o})",
                node.mode & 0o7777
            ));
        }
        chain.push(format!("/{path}"));
        // What the header analyzer found: ELF (done) or a script (follow its interpreter).
        let script = node.facts.iter().find_map(|f| match f {
            FileFact::Elf(e) => Some(Ok(*e)),
            FileFact::Script { interpreter, arg } => Some(Err((interpreter.clone(), arg.clone()))),
            _ => None,
        });
        match script {
            Some(Ok(elf)) => {
                return Ok(ResolvedEntrypoint {
                    command,
                    chain,
                    elf,
                });
            }
            Some(Err((interpreter, arg))) => {
                // `#!/usr/bin/env NAME` runs NAME from PATH; env itself must exist too.
                let is_env = interpreter.rsplit('/').next() == Some("env");
                if let (true, Some(name)) = (is_env, arg.filter(|a| !a.starts_with('-'))) {
                    p.fs.resolve(&interpreter, "/")
                        .map_err(|e| format!("interpreter {interpreter}: {e}"))?;
                    next = name;
                    continue;
                }
                if !interpreter.starts_with('/') {
                    return Err(format!(
                        "/{path}: interpreter {interpreter:?} is not an absolute path"
                    ));
                }
                next = interpreter;
            }
            None => return Err(format!("/{path} is neither an ELF binary nor a #! script")),
        }
    }
    Err(format!(
        "{command}: more than {MAX_INTERPRETERS} levels of #! interpreters"
    ))
}
