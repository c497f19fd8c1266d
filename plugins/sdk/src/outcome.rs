use serde::Serialize;

use crate::{Error, Finding, Outcome, Output, Severity, Status};

impl Default for Outcome {
    /// No findings and no outputs: a passing outcome.
    fn default() -> Self {
        Outcome {
            findings: Vec::new(),
            outputs: Vec::new(),
        }
    }
}

impl Outcome {
    /// Adds a passing finding (severity info) and returns it, to [place](Finding::at) it.
    pub fn pass(&mut self, message: impl Into<String>) -> &mut Finding {
        self.finding(Status::Pass, Severity::Info, message.into())
    }

    /// Adds a failing finding and returns it, to [place](Finding::at) it.
    pub fn fail(&mut self, severity: Severity, message: impl Into<String>) -> &mut Finding {
        self.finding(Status::Fail, severity, message.into())
    }

    /// Adds a finding the plugin could not decide (a missing file, say) and returns it.
    pub fn inconclusive(&mut self, severity: Severity, message: impl Into<String>) -> &mut Finding {
        self.finding(Status::Inconclusive, severity, message.into())
    }

    /// Sets output `name` to `value` as JSON (see the crate's value conventions), replacing an
    /// earlier value of the same name.
    pub fn output<T: Serialize + ?Sized>(
        &mut self,
        name: &str,
        value: &T,
    ) -> Result<&mut Self, Error> {
        let value = serde_json::to_string(value).map_err(|source| Error::Output {
            name: name.to_owned(),
            source,
        })?;
        match self.outputs.iter_mut().find(|output| output.name == name) {
            Some(output) => output.value = value,
            None => self.outputs.push(Output {
                name: name.to_owned(),
                value,
            }),
        }
        Ok(self)
    }

    /// Whether phasev will count the check passed: no finding failed and none was inconclusive.
    pub fn passed(&self) -> bool {
        self.findings
            .iter()
            .all(|finding| finding.status == Status::Pass)
    }

    fn finding(&mut self, status: Status, severity: Severity, message: String) -> &mut Finding {
        let index = self.findings.len();
        self.findings.push(Finding {
            status,
            severity,
            message,
            location: None,
        });
        &mut self.findings[index]
    }
}

impl Finding {
    /// Where the finding is (`charts/orders/values.yaml:12`).
    pub fn at(&mut self, location: impl Into<String>) -> &mut Self {
        self.location = Some(location.into());
        self
    }
}
