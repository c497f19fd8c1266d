use serde::de::DeserializeOwned;

use crate::{Error, FactValue, Request};

impl Request {
    /// The fact at `path`, deserialised from its JSON.
    ///
    /// An absent fact is [`Error::Absent`]; returned from `evaluate` with `?`, it makes the
    /// check inconclusive with phasev's reason.
    ///
    /// ```
    /// # use phasev_plugin_sdk::{Fact, FactValue, Request};
    /// let request = Request {
    ///     feature: "orders".into(),
    ///     target: "cloud_prod".into(),
    ///     config: "{}".into(),
    ///     facts: vec![Fact {
    ///         path: "tests.unit.failed".into(),
    ///         value: FactValue::Present("3".into()),
    ///     }],
    /// };
    /// let failed: u32 = request.fact("tests.unit.failed").unwrap();
    /// assert_eq!(failed, 3);
    /// ```
    pub fn fact<T: DeserializeOwned>(&self, path: &str) -> Result<T, Error> {
        match self.value(path)? {
            FactValue::Present(json) => parse(path, json),
            FactValue::Absent(reason) => Err(Error::Absent {
                path: path.to_owned(),
                reason: reason.clone(),
            }),
        }
    }

    /// The fact at `path`, or `None` when phasev reports it absent (the reason is dropped: match
    /// [`Request::fact`]'s [`Error::Absent`] to keep it).
    pub fn optional_fact<T: DeserializeOwned>(&self, path: &str) -> Result<Option<T>, Error> {
        match self.value(path)? {
            FactValue::Present(json) => parse(path, json).map(Some),
            FactValue::Absent(_) => Ok(None),
        }
    }

    /// The check's configuration (a JSON object) as `T`.
    ///
    /// Give optional keys `#[serde(default)]`; phasev has already checked the configuration
    /// against the description's `config`, so a key the description marks required is there.
    pub fn config<T: DeserializeOwned>(&self) -> Result<T, Error> {
        serde_json::from_str(&self.config).map_err(Error::Config)
    }

    fn value(&self, path: &str) -> Result<&FactValue, Error> {
        self.facts
            .iter()
            .find(|fact| fact.path == path)
            .map(|fact| &fact.value)
            .ok_or_else(|| Error::NotRead {
                path: path.to_owned(),
            })
    }
}

fn parse<T: DeserializeOwned>(path: &str, json: &str) -> Result<T, Error> {
    serde_json::from_str(json).map_err(|source| Error::Fact {
        path: path.to_owned(),
        source,
    })
}
