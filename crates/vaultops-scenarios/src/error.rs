//! Why a scenario could not run to its end. A scenario that ran but broke a budget is not an
//! error: its report says `passed: false` and lists the failed checks.

use vaultops_api::ApiError;
use vaultops_bootstrap::wait::WaitTimeout;
use vaultops_bootstrap::BootstrapError;
use vaultops_testbed::TestbedError;

/// A scenario step failed.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("unknown scenario {0:?}; known: {known}", known = crate::Scenario::names().join(", "))]
    UnknownScenario(String),
    #[error("testbed: {0}")]
    Testbed(#[from] Box<TestbedError>),
    #[error("{step}: {source}")]
    Api {
        step: &'static str,
        #[source]
        source: Box<ApiError>,
    },
    #[error("{step}: {source}")]
    Bootstrap {
        step: &'static str,
        #[source]
        source: Box<BootstrapError>,
    },
    #[error("{0}")]
    Wait(#[source] WaitTimeout),
    #[error("writing the report {path}: {reason}")]
    Report { path: String, reason: String },
    #[error("scenario setup: {0}")]
    Setup(String),
    /// A scenario stopped on an error; `logs` holds every node's last log lines.
    #[error("scenario {scenario}: {source}\n{logs}")]
    InScenario {
        scenario: String,
        logs: String,
        #[source]
        source: Box<ScenarioError>,
    },
}

impl From<TestbedError> for ScenarioError {
    fn from(e: TestbedError) -> Self {
        ScenarioError::Testbed(Box::new(e))
    }
}

/// Shorthand for mapping an API error of step `step`.
pub(crate) fn api(step: &'static str) -> impl FnOnce(ApiError) -> ScenarioError {
    move |source| ScenarioError::Api {
        step,
        source: Box::new(source),
    }
}

/// Shorthand for mapping a bootstrap error of step `step`.
pub(crate) fn boot(step: &'static str) -> impl FnOnce(BootstrapError) -> ScenarioError {
    move |source| ScenarioError::Bootstrap {
        step,
        source: Box::new(source),
    }
}
