//! Cloud quota from a usage listing, as cloud CLIs print it as JSON.
//!
//! Accepted shapes: `az vm list-usage -o json`
//! (`[{"name": {"value", "localizedValue"}, "currentValue", "limit"}]`), `gcloud compute regions
//! describe … --format=json` (`{"quotas": [{"metric", "usage", "limit"}]}`), and a plain
//! `[{"name", "used", "limit"}]`. The fact `cloud.quota` is the tightest quota: the highest
//! share of its limit in use.

use serde_json::Value as Json;

#[derive(Clone, Debug, PartialEq)]
pub struct Quota {
    pub name: String,
    pub used: f64,
    pub limit: f64,
}

impl Quota {
    /// The share of the limit in use; a zero limit with any use is full.
    pub fn share(&self) -> f64 {
        if self.limit > 0.0 {
            self.used / self.limit
        } else if self.used > 0.0 {
            f64::INFINITY
        } else {
            0.0
        }
    }
}

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum CloudError {
    #[error("the quota listing is not JSON: {0}")]
    #[diagnostic(code(phasev::collect::cloud::syntax))]
    Syntax(String),
    #[error("the quota listing has an unknown shape: {0}")]
    #[diagnostic(
        code(phasev::collect::cloud::shape),
        help(
            "pass the JSON of `az vm list-usage`, `gcloud compute regions describe`, or a list of {{name, used, limit}}"
        )
    )]
    Shape(String),
}

/// Every quota in a listing.
pub fn parse_quota(text: &str) -> Result<Vec<Quota>, CloudError> {
    let json: Json = serde_json::from_str(text).map_err(|e| CloudError::Syntax(e.to_string()))?;
    let items = match &json {
        Json::Array(items) => items,
        Json::Object(map) => match map.get("quotas") {
            Some(Json::Array(items)) => items,
            _ => {
                return Err(CloudError::Shape(
                    "an object without a `quotas` list".to_owned(),
                ));
            }
        },
        _ => return Err(CloudError::Shape("neither a list nor an object".to_owned())),
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            quota(item)
                .ok_or_else(|| CloudError::Shape(format!("item {i} has no name, use and limit")))
        })
        .collect()
}

fn number(v: Option<&Json>) -> Option<f64> {
    match v? {
        Json::Number(n) => n.as_f64(),
        // az prints some values as strings.
        Json::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn quota(item: &Json) -> Option<Quota> {
    let name = match item.get("name") {
        Some(Json::String(s)) => s.clone(),
        Some(Json::Object(n)) => n
            .get("value")
            .or_else(|| n.get("localizedValue"))?
            .as_str()?
            .to_owned(),
        _ => item.get("metric")?.as_str()?.to_owned(),
    };
    let used = number(item.get("used"))
        .or_else(|| number(item.get("currentValue")))
        .or_else(|| number(item.get("usage")))?;
    let limit = number(item.get("limit"))?;
    Some(Quota { name, used, limit })
}

/// The quota closest to (or furthest past) its limit.
pub fn tightest(quotas: &[Quota]) -> Option<&Quota> {
    quotas.iter().max_by(|a, b| a.share().total_cmp(&b.share()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_three_shapes_parse() {
        let az = r#"[{"name": {"value": "cores", "localizedValue": "Total Regional vCPUs"},
                      "currentValue": 95, "limit": 100, "unit": "Count"},
                     {"name": {"value": "vms"}, "currentValue": "3", "limit": "25000"}]"#;
        let q = parse_quota(az).unwrap_or_default();
        assert_eq!(
            tightest(&q).map(|q| (q.name.as_str(), q.used)),
            Some(("cores", 95.0))
        );
        let gcloud = r#"{"quotas": [{"metric": "CPUS", "usage": 12.0, "limit": 24.0}]}"#;
        assert_eq!(parse_quota(gcloud).map(|q| q.len()).ok(), Some(1));
        let plain = r#"[{"name": "nodes", "used": 10, "limit": 0}]"#;
        assert!(parse_quota(plain).is_ok_and(|q| q[0].share().is_infinite()));
    }

    #[test]
    fn other_shapes_are_errors() {
        assert!(matches!(parse_quota("{"), Err(CloudError::Syntax(_))));
        assert!(matches!(
            parse_quota("{\"a\": 1}"),
            Err(CloudError::Shape(_))
        ));
        assert!(matches!(
            parse_quota("[{\"name\": \"x\"}]"),
            Err(CloudError::Shape(_))
        ));
    }
}
