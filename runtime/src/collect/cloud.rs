//! Cloud quota from a usage listing, as cloud CLIs print it as JSON.
//!
//! Accepted shapes: `az vm list-usage -o json`
//! (`[{"name": {"value", "localizedValue"}, "currentValue", "limit"}]`), `gcloud compute regions
//! describe … --format=json` (`{"quotas": [{"metric", "usage", "limit"}]}`), and a plain
//! `[{"name", "used", "limit"}]`; also `gcloud compute regions list --format=json`, a list of
//! regions each with its `quotas`, whose names become `<region>/<metric>`. Numbers may be JSON
//! numbers or numeric strings (az prints strings); a value that is not a finite number is an
//! error. The fact `cloud.quota` is the tightest quota: the highest share of its limit in use,
//! where any use of a zero limit is full.

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

/// Every quota in a listing, in its order.
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
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        match item.get("quotas") {
            // A region of `gcloud compute regions list`.
            Some(Json::Array(quotas)) => {
                let region = item.get("name").and_then(Json::as_str).ok_or_else(|| {
                    CloudError::Shape(format!("region {i} has quotas but no `name`"))
                })?;
                for (j, q) in quotas.iter().enumerate() {
                    let mut q = quota(q)
                        .map_err(|why| CloudError::Shape(format!("{region} quota {j}: {why}")))?;
                    q.name = format!("{region}/{}", q.name);
                    out.push(q);
                }
            }
            _ => {
                out.push(quota(item).map_err(|why| CloudError::Shape(format!("item {i}: {why}")))?)
            }
        }
    }
    Ok(out)
}

/// A finite number, from a JSON number or a numeric string; `Ok(None)` when absent.
fn number(item: &Json, key: &str) -> Result<Option<f64>, String> {
    let n = match item.get(key) {
        None | Some(Json::Null) => return Ok(None),
        Some(Json::Number(n)) => n.as_f64(),
        // az prints some values as strings.
        Some(Json::String(s)) => s.trim().parse::<f64>().ok(),
        Some(_) => None,
    };
    match n {
        Some(n) if n.is_finite() => Ok(Some(n)),
        _ => Err(format!("`{key}` is not a finite number")),
    }
}

fn first_number(item: &Json, keys: &[&str]) -> Result<f64, String> {
    for key in keys {
        if let Some(n) = number(item, key)? {
            return Ok(n);
        }
    }
    let names: Vec<String> = keys.iter().map(|k| format!("`{k}`")).collect();
    Err(format!("no {}", names.join(" or ")))
}

fn quota(item: &Json) -> Result<Quota, String> {
    if !item.is_object() {
        return Err("not an object".to_owned());
    }
    let name = match item.get("name") {
        Some(Json::String(s)) => Some(s.clone()),
        Some(Json::Object(n)) => n
            .get("value")
            .or_else(|| n.get("localizedValue"))
            .and_then(Json::as_str)
            .map(str::to_owned),
        _ => item.get("metric").and_then(Json::as_str).map(str::to_owned),
    };
    let name = name.ok_or("no `name` or `metric`")?;
    let used = first_number(item, &["used", "currentValue", "usage"])?;
    let limit = first_number(item, &["limit"])?;
    Ok(Quota { name, used, limit })
}

/// The quota closest to (or furthest past) its limit; of equals, the first listed.
pub fn tightest(quotas: &[Quota]) -> Option<&Quota> {
    quotas
        .iter()
        .reduce(|best, q| if q.share() > best.share() { q } else { best })
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
        assert!(matches!(
            parse_quota(r#"[{"name": "x", "used": "NaN", "limit": 1}]"#),
            Err(CloudError::Shape(m)) if m == "item 0: `used` is not a finite number"
        ));
    }
}
