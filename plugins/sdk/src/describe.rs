use crate::{ConfigField, Description, OutputField};

impl Description {
    /// Starts a description: the plugin's name, its version (`env!("CARGO_PKG_VERSION")`) and a
    /// one-line summary.
    pub fn builder(
        name: impl Into<String>,
        version: impl Into<String>,
        summary: impl Into<String>,
    ) -> DescriptionBuilder {
        DescriptionBuilder {
            description: Description {
                name: name.into(),
                version: version.into(),
                summary: summary.into(),
                reads: Vec::new(),
                outputs: Vec::new(),
                config: Vec::new(),
            },
        }
    }
}

/// Builds a [`Description`]; types are written in the policy language (`"int"`, `"percent"`,
/// `"list<string>"`, `"{file: string, line: int}"`).
#[derive(Debug)]
pub struct DescriptionBuilder {
    description: Description,
}

impl DescriptionBuilder {
    /// A fact path the plugin reads (`helm.chart.exists`); the request carries its value.
    pub fn reads(mut self, path: impl Into<String>) -> Self {
        self.description.reads.push(path.into());
        self
    }

    /// An output policies read as `<check>.<name>`.
    pub fn output(
        mut self,
        name: impl Into<String>,
        ty: impl Into<String>,
        doc: impl Into<String>,
    ) -> Self {
        self.description.outputs.push(OutputField {
            name: name.into(),
            type_: ty.into(),
            doc: doc.into(),
        });
        self
    }

    /// A configuration key (`check x = plugin "name" { key: value }`), required or optional.
    pub fn config(
        mut self,
        name: impl Into<String>,
        ty: impl Into<String>,
        required: bool,
        doc: impl Into<String>,
    ) -> Self {
        self.description.config.push(ConfigField {
            name: name.into(),
            type_: ty.into(),
            required,
            doc: doc.into(),
        });
        self
    }

    pub fn build(self) -> Description {
        self.description
    }
}
