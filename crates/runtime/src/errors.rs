//! Engine errors as findings need them: the engine's own words (without bollard's "Docker
//! responded with status code" prefix) and the status codes that steer the run.

use bollard::errors::Error;

/// The engine's message, or bollard's description of a transport failure.
pub fn message(e: &Error) -> String {
    match e {
        Error::DockerResponseServerError { message, .. } => message.trim().to_owned(),
        Error::DockerStreamError { error } => error.trim().to_owned(),
        other => other.to_string(),
    }
}

pub fn status(e: &Error) -> Option<u16> {
    match e {
        Error::DockerResponseServerError { status_code, .. } => Some(*status_code),
        _ => None,
    }
}

pub fn is_not_found(e: &Error) -> bool {
    status(e) == Some(404)
}
