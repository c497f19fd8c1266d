use std::fmt;

/// Why a helper could not read a fact or the configuration, or write an output.
///
/// It converts into the `String` that `evaluate` returns on error, so `?` passes it on; phasev
/// then makes every output of the check inconclusive with this message as the reason.
#[derive(Debug)]
pub enum Error {
    /// The request has no fact at this path: the description's `reads` does not list it.
    NotRead { path: String },
    /// phasev does not have the fact (a missing input, a stale one, a collector's error).
    Absent { path: String, reason: String },
    /// The fact's JSON does not have the shape asked for.
    Fact {
        path: String,
        source: serde_json::Error,
    },
    /// The configuration's JSON does not have the shape asked for.
    Config(serde_json::Error),
    /// An output value could not be written as JSON.
    Output {
        name: String,
        source: serde_json::Error,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NotRead { path } => write!(
                f,
                "the request has no fact `{path}`: add it to the description's reads"
            ),
            Error::Absent { path, reason } => write!(f, "fact `{path}` is absent: {reason}"),
            Error::Fact { path, source } => write!(f, "fact `{path}`: {source}"),
            Error::Config(source) => write!(f, "configuration: {source}"),
            Error::Output { name, source } => write!(f, "output `{name}`: {source}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::NotRead { .. } | Error::Absent { .. } => None,
            Error::Fact { source, .. } | Error::Output { source, .. } | Error::Config(source) => {
                Some(source)
            }
        }
    }
}

impl From<Error> for String {
    fn from(error: Error) -> String {
        error.to_string()
    }
}
