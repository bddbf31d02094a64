//! The policy test matrix, judged: given what `sys/capabilities` answered for a test token,
//! does each expectation hold? Pure; the executor (`vaultops_bootstrap::verify`)
//! makes the tokens and asks the server.
//!
//! "Has capabilities C" holds when every capability in C is among the server's answer (the
//! token may have more). "Denied" holds only when the answer is exactly `["deny"]`.

use crate::model::{Expectation, Expected};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;

/// The verdict on one expectation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExpectationResult {
    /// Position in the file's `expectations` list (0-based).
    pub index: usize,
    /// The test token's policies.
    pub policies: Vec<String>,
    /// The API path tested.
    pub path: String,
    /// `denied`, or the capabilities asked for.
    pub expected: Vec<String>,
    /// What the server answered.
    pub actual: Vec<String>,
    /// Capabilities asked for but not granted (empty for a `denied` expectation).
    pub missing: Vec<String>,
    pub passed: bool,
}

impl ExpectationResult {
    /// What the expectation says, e.g. `#2 [atmr-api-rotate] denied on sys/mounts`.
    pub fn describe(&self) -> String {
        let what = if self.expected == ["denied"] {
            "denied".to_owned()
        } else {
            format!("has [{}]", self.expected.join(", "))
        };
        format!(
            "#{} [{}] {what} on {}",
            self.index,
            self.policies.join(", "),
            self.path
        )
    }
}

/// Judges expectation number `index` against the capabilities the server reported.
pub fn evaluate(index: usize, expectation: &Expectation, actual: &[String]) -> ExpectationResult {
    let policies = expectation.policies.iter().map(|p| p.to_string()).collect();
    let actual_sorted = {
        let mut a = actual.to_vec();
        a.sort();
        a
    };
    let (expected, missing, passed) = match expectation.expected() {
        Expected::Denied => (
            vec!["denied".to_owned()],
            Vec::new(),
            actual_sorted == ["deny"],
        ),
        Expected::Capabilities(caps) => {
            let expected: Vec<String> = caps.iter().map(|c| c.as_str().to_owned()).collect();
            let missing: Vec<String> = expected
                .iter()
                .filter(|c| !actual.contains(c))
                .cloned()
                .collect();
            let passed = missing.is_empty() && !expected.is_empty();
            (expected, missing, passed)
        }
    };
    ExpectationResult {
        index,
        policies,
        path: expectation.path.clone(),
        expected,
        actual: actual_sorted,
        missing,
        passed,
    }
}

/// The outcome of a whole test matrix.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    pub results: Vec<ExpectationResult>,
}

impl VerifyReport {
    /// True when every expectation holds.
    pub fn passed(&self) -> bool {
        self.results.iter().all(|r| r.passed)
    }

    /// The expectations that do not hold.
    pub fn failures(&self) -> Vec<&ExpectationResult> {
        self.results.iter().filter(|r| !r.passed).collect()
    }
}

impl fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for r in &self.results {
            if r.passed {
                writeln!(f, "ok   {}", r.describe())?;
            } else if r.missing.is_empty() {
                writeln!(
                    f,
                    "FAIL {}: the server grants [{}]",
                    r.describe(),
                    r.actual.join(", ")
                )?;
            } else {
                writeln!(
                    f,
                    "FAIL {}: missing [{}] (the server grants [{}])",
                    r.describe(),
                    r.missing.join(", "),
                    r.actual.join(", ")
                )?;
            }
        }
        let failed = self.failures().len();
        if failed == 0 {
            write!(f, "Verify: all {} expectation(s) hold.", self.results.len())
        } else {
            write!(
                f,
                "Verify: {failed} of {} expectation(s) FAILED.",
                self.results.len()
            )
        }
    }
}

/// The expectations grouped by the exact policy set of their test token (sorted, without
/// duplicates), so one token per set is enough: set → `(index, path)` pairs.
pub fn token_groups(expectations: &[Expectation]) -> BTreeMap<Vec<String>, Vec<(usize, String)>> {
    let mut groups: BTreeMap<Vec<String>, Vec<(usize, String)>> = BTreeMap::new();
    for (i, e) in expectations.iter().enumerate() {
        let mut set: Vec<String> = e.policies.iter().map(|p| p.to_string()).collect();
        set.sort();
        set.dedup();
        groups.entry(set).or_default().push((i, e.path.clone()));
    }
    groups
}
