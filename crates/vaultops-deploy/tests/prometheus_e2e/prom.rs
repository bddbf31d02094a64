//! The Prometheus child process (killed on drop) and the parts of its HTTP API the scenario
//! reads: targets, alerts, rule groups and instant queries.

use super::*;

/// A `prometheus` child process, killed when dropped.
pub(crate) struct Prometheus {
    pub(crate) child: Mutex<Child>,
    pub(crate) log: PathBuf,
    pub(crate) api: PromApi,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let child = self.child.get_mut().unwrap_or_else(|p| p.into_inner());
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Prometheus {
    /// Starts Prometheus on a free loopback port with storage under `dir`; waits until ready.
    pub(crate) async fn start(config: &Path, dir: &Path) -> Prometheus {
        let port = vaultops_testkit::free_port();
        let log = dir.join("prometheus.log");
        let out = std::fs::File::create(&log).unwrap();
        let child = Command::new(PROMETHEUS)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {PROMETHEUS}: {e}"));
        let prom = Prometheus {
            child: Mutex::new(child),
            log,
            api: PromApi {
                http: reqwest::Client::builder()
                    .timeout(Duration::from_secs(5))
                    .build()
                    .unwrap(),
                base: format!("http://127.0.0.1:{port}"),
            },
        };
        let api = &prom.api;
        prom.wait("Prometheus ready (/-/ready)", DEADLINE, || async move {
            api.ready().await
        })
        .await;
        prom
    }

    pub(crate) fn exited(&self) -> Option<String> {
        let mut child = self.child.lock().unwrap();
        child.try_wait().ok().flatten().map(|s| s.to_string())
    }

    pub(crate) fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// Polls `check` until it returns `Ok`, failing after `deadline` (or when Prometheus
    /// exits) with `what`, the last `Err` and Prometheus's log tail.
    pub(crate) async fn wait<T, F, Fut>(&self, what: &str, deadline: Duration, mut check: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, String>>,
    {
        let start = Instant::now();
        loop {
            let last = match check().await {
                Ok(v) => return v,
                Err(e) => e,
            };
            if let Some(status) = self.exited() {
                panic!(
                    "prometheus exited ({status}) while waiting for {what}; its log:\n{}",
                    self.log_tail()
                );
            }
            assert!(
                start.elapsed() < deadline,
                "timed out after {deadline:?} waiting for {what}; last: {last}\nprometheus log:\n{}",
                self.log_tail()
            );
            tokio::time::sleep(POLL).await;
        }
    }
}

pub(crate) struct PromApi {
    pub(crate) http: reqwest::Client,
    pub(crate) base: String,
}

#[derive(Debug)]
pub(crate) struct Target {
    pub(crate) instance: String,
    pub(crate) health: String,
    pub(crate) last_error: String,
}

#[derive(Debug, Clone)]
pub(crate) struct ActiveAlert {
    pub(crate) name: String,
    pub(crate) labels: BTreeMap<String, String>,
    /// `pending` or `firing` (resolved alerts are not listed).
    pub(crate) state: String,
}

impl ActiveAlert {
    pub(crate) fn instance(&self) -> &str {
        self.labels.get("instance").map_or("", String::as_str)
    }
}

#[derive(Debug)]
pub(crate) struct RuleGroup {
    pub(crate) name: String,
    pub(crate) last_evaluation: SystemTime,
    pub(crate) rules: Vec<RuleState>,
}

#[derive(Debug)]
pub(crate) struct RuleState {
    pub(crate) name: String,
    pub(crate) health: String,
    pub(crate) last_error: String,
}

pub(crate) fn labels(v: &Value) -> BTreeMap<String, String> {
    v.as_object()
        .map(|o| {
            o.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                .collect()
        })
        .unwrap_or_default()
}

pub(crate) fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
}

impl PromApi {
    pub(crate) async fn ready(&self) -> Result<(), String> {
        let url = format!("{}/-/ready", self.base);
        let resp = self
            .http
            .get(&url)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if resp.status().is_success() {
            Ok(())
        } else {
            Err(format!("{url}: {}", resp.status()))
        }
    }

    /// `data` of a successful API answer.
    pub(crate) async fn data(&self, path: &str, query: &[(&str, &str)]) -> Result<Value, String> {
        let url = format!("{}{path}", self.base);
        let resp = self
            .http
            .get(&url)
            .query(query)
            .send()
            .await
            .map_err(|e| format!("GET {url}: {e}"))?;
        let status = resp.status();
        let body: Value = resp
            .json()
            .await
            .map_err(|e| format!("GET {url}: {status}, not JSON: {e}"))?;
        if body["status"] != "success" {
            return Err(format!("GET {url} {query:?}: {status} {body}"));
        }
        Ok(body["data"].clone())
    }

    /// The active targets of job `vault`.
    pub(crate) async fn server_targets(&self) -> Result<Vec<Target>, String> {
        let data = self.data("/api/v1/targets", &[("state", "active")]).await?;
        Ok(data["activeTargets"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|t| t["labels"]["job"] == JOB_SERVERS)
            .map(|t| Target {
                instance: text(&t["labels"]["instance"]),
                health: text(&t["health"]),
                last_error: text(&t["lastError"]),
            })
            .collect())
    }

    /// Pending and firing alerts.
    pub(crate) async fn alerts(&self) -> Result<Vec<ActiveAlert>, String> {
        let data = self.data("/api/v1/alerts", &[]).await?;
        Ok(data["alerts"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|a| {
                let labels = labels(&a["labels"]);
                ActiveAlert {
                    name: labels.get("alertname").cloned().unwrap_or_default(),
                    labels,
                    state: text(&a["state"]),
                }
            })
            .collect())
    }

    /// An instant vector query: each sample's labels and value.
    pub(crate) async fn query(
        &self,
        expr: &str,
    ) -> Result<Vec<(BTreeMap<String, String>, f64)>, String> {
        let data = self.data("/api/v1/query", &[("query", expr)]).await?;
        if data["resultType"] != "vector" {
            return Err(format!("{expr}: not a vector: {data}"));
        }
        data["result"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|s| {
                let value = s["value"][1]
                    .as_str()
                    .and_then(|v| v.parse::<f64>().ok())
                    .ok_or_else(|| format!("{expr}: bad sample {s}"))?;
                Ok((labels(&s["metric"]), value))
            })
            .collect()
    }

    pub(crate) async fn rule_groups(&self) -> Result<Vec<RuleGroup>, String> {
        let data = self.data("/api/v1/rules", &[]).await?;
        data["groups"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|g| {
                let when = text(&g["lastEvaluation"]);
                let parsed = time::OffsetDateTime::parse(
                    &when,
                    &time::format_description::well_known::Rfc3339,
                )
                .map_err(|e| format!("lastEvaluation {when:?}: {e}"))?;
                Ok(RuleGroup {
                    name: text(&g["name"]),
                    last_evaluation: parsed.into(),
                    rules: g["rules"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|r| RuleState {
                            name: text(&r["name"]),
                            health: text(&r["health"]),
                            last_error: text(&r["lastError"]),
                        })
                        .collect(),
                })
            })
            .collect()
    }
}

pub(crate) fn find<'a>(
    alerts: &'a [ActiveAlert],
    name: &str,
    instance: Option<&str>,
    state: &str,
) -> Option<&'a ActiveAlert> {
    alerts
        .iter()
        .find(|a| a.name == name && a.state == state && instance.is_none_or(|i| a.instance() == i))
}

/// `{cluster="a"} 1, {cluster=""} 0`: a query result without the labels every series has.
pub(crate) fn series_text(series: &[(BTreeMap<String, String>, f64)]) -> String {
    if series.is_empty() {
        return "none".to_owned();
    }
    series
        .iter()
        .map(|(labels, v)| {
            let own: Vec<String> = labels
                .iter()
                .filter(|(k, _)| !matches!(k.as_str(), "__name__" | "instance" | "job"))
                .map(|(k, v)| format!("{k}=\"{v}\""))
                .collect();
            format!("{{{}}} {v}", own.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// "127.0.0.1:1234 up, 127.0.0.1:1235 down (connection refused)" for messages.
pub(crate) fn describe_targets(targets: &[Target]) -> String {
    if targets.is_empty() {
        return "no target of job vault yet".to_owned();
    }
    targets
        .iter()
        .map(|t| match t.last_error.as_str() {
            "" => format!("{} {}", t.instance, t.health),
            e => format!("{} {} ({e})", t.instance, t.health),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// "VaultNodeSealed{127.0.0.1:1234} firing, …" for messages.
pub(crate) fn summary(alerts: &[ActiveAlert]) -> String {
    if alerts.is_empty() {
        return "no alert active".to_owned();
    }
    alerts
        .iter()
        .map(|a| format!("{}{{{}}} {}", a.name, a.instance(), a.state))
        .collect::<Vec<_>>()
        .join(", ")
}
