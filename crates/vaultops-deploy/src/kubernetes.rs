//! Kubernetes manifests: per engine a namespace, RBAC for service registration, the per-pod
//! server configs in a ConfigMap, headless / client / active Services, the StatefulSet, a
//! PodDisruptionBudget and a NetworkPolicy; the application Deployment of the seed; and
//! templates for the objects that hold key material (never applied with placeholders).
//!
//! One object per file, so `kubectl apply -f deploy/kubernetes/openbao/` applies a directory
//! and `kubernetes-validate` checks each file against the official schema.

use vaultops_config::RenderError;

use crate::options::{DeployOptions, Profile};
use crate::servers::{
    headless_service, kubernetes_hcl, pod_dns, pod_name, API_PORT, CLUSTER_PORT, METRICS_PORT,
    SINK_PORT,
};
use crate::yaml::{label_map, literal_block, q};
use crate::{GeneratedFile, HEADER_NOTE};

/// Manifests for one engine under `kubernetes/<name>/`.
pub(crate) fn server_manifests(
    opts: &DeployOptions,
    profile: Profile,
) -> Result<Vec<GeneratedFile>, RenderError> {
    let dir = format!("kubernetes/{}", profile.name);
    let k = K { opts, profile };
    let file = |name: &str, contents: String| GeneratedFile {
        path: format!("{dir}/{name}"),
        contents,
    };
    Ok(vec![
        file("00-namespace.yaml", k.namespace()),
        file("10-serviceaccount.yaml", k.service_account()),
        file("11-role.yaml", k.role()),
        file("12-rolebinding.yaml", k.role_binding()),
        file("20-configmap.yaml", k.config_map()?),
        file("30-service-internal.yaml", k.headless_service()),
        file("31-service-client.yaml", k.client_service()),
        file("32-service-active.yaml", k.active_service()),
        file("40-statefulset.yaml", k.stateful_set()),
        file("50-poddisruptionbudget.yaml", k.pdb()),
        file("60-networkpolicy.yaml", k.network_policy()),
    ])
}

/// The application's namespace and Deployment under `kubernetes/app/`.
pub(crate) fn app_manifests(opts: &DeployOptions) -> Vec<GeneratedFile> {
    vec![
        GeneratedFile {
            path: "kubernetes/app/00-namespace.yaml".to_owned(),
            contents: namespace_doc(
                &opts.app.namespace,
                "The application's namespace (the seed's `atmr`).",
            ),
        },
        GeneratedFile {
            path: format!("kubernetes/app/10-{}-deployment.yaml", opts.app.name),
            contents: app_deployment(opts),
        },
    ]
}

/// Templates under `kubernetes/templates/`: objects holding key material or credentials.
/// They are kept out of the applied directories, so applying those never replaces real keys
/// with placeholders; each says how to create the real object.
pub(crate) fn templates(opts: &DeployOptions) -> Vec<GeneratedFile> {
    let mut files: Vec<GeneratedFile> = [Profile::OPENBAO, Profile::VAULT]
        .into_iter()
        .map(|p| GeneratedFile {
            path: format!("kubernetes/templates/{}-tls-secret.yaml", p.name),
            contents: tls_secret_template(opts, p),
        })
        .collect();
    files.push(GeneratedFile {
        path: format!(
            "kubernetes/templates/{}-secret.yaml",
            opts.app.credentials_secret
        ),
        contents: credentials_template(opts),
    });
    files.push(GeneratedFile {
        path: format!(
            "kubernetes/templates/{}-configmap.yaml",
            opts.app.ca_config_map
        ),
        contents: ca_config_map_template(opts),
    });
    files
}

/// The DNS names a server certificate needs in Kubernetes: every pod through the headless
/// Service (one wildcard), the client and active Services, and localhost for `bao` inside
/// the pod (plus IP 127.0.0.1).
pub fn kubernetes_cert_dns(opts: &DeployOptions, profile: Profile) -> Vec<String> {
    let ns = profile.namespace(opts);
    vec![
        format!("*.{}.{ns}.svc", headless_service(profile)),
        format!("{}.{ns}.svc", profile.name),
        format!("{}-active.{ns}.svc", profile.name),
        "localhost".to_owned(),
    ]
}

/// The `vaultops tls` commands and the `kubectl create secret` command that fill the TLS
/// Secret, as shell lines.
pub fn tls_secret_commands(opts: &DeployOptions, profile: Profile) -> Vec<String> {
    let ns = profile.namespace(opts);
    let mut node = format!("vaultops tls node --ca-dir ./ca --name {}", profile.name);
    for dns in kubernetes_cert_dns(opts, profile) {
        node.push_str(&format!(" --dns '{dns}'"));
    }
    node.push_str(" --ip 127.0.0.1 --out ./tls");
    vec![
        "vaultops tls ca --out ./ca".to_owned(),
        node,
        format!(
            "kubectl -n {ns} create secret generic {name}-tls --from-file=ca.pem=./ca/ca.pem \
             --from-file=node.pem=./tls/{name}.pem --from-file=node-key.pem=./tls/{name}-key.pem",
            name = profile.name
        ),
    ]
}

struct K<'a> {
    opts: &'a DeployOptions,
    profile: Profile,
}

impl K<'_> {
    fn ns(&self) -> &str {
        self.profile.namespace(self.opts)
    }

    fn name(&self) -> &'static str {
        self.profile.name
    }

    /// Labels that select the server pods.
    fn selector(&self) -> Vec<(&str, &str)> {
        vec![
            ("app.kubernetes.io/name", self.profile.name),
            ("app.kubernetes.io/instance", &self.opts.cluster_name),
            ("app.kubernetes.io/component", "server"),
        ]
    }

    fn labels(&self, indent: usize) -> String {
        let mut l = self.selector();
        l.push(("app.kubernetes.io/managed-by", "vaultops"));
        label_map(&l, indent)
    }

    fn metadata(&self, name: &str) -> String {
        format!(
            "metadata:\n  name: {}\n  namespace: {}\n  labels:\n{}",
            q(name),
            q(self.ns()),
            self.labels(4)
        )
    }

    fn namespace(&self) -> String {
        namespace_doc(
            self.ns(),
            &format!(
                "The {} servers' own namespace. Pod Security \"restricted\" is enforced: the \
                 StatefulSet runs non-root, without capabilities or privilege escalation.",
                self.profile.engine
            ),
        )
    }

    fn service_account(&self) -> String {
        format!(
            "{HEADER_NOTE}\
             # Identity of the server pods; its token lets service registration label the pod.\n\
             apiVersion: v1\nkind: ServiceAccount\n{}\
             automountServiceAccountToken: true\n",
            self.metadata(self.name())
        )
    }

    fn role(&self) -> String {
        format!(
            "{HEADER_NOTE}\
             # What service_registration \"kubernetes\" needs: read and patch the pod's own labels\n\
             # ({label}, …). Kubernetes RBAC cannot narrow this to the pod itself, which is why\n\
             # the servers live in a namespace of their own.\n\
             apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\n{}\
             rules:\n  - apiGroups: [\"\"]\n    resources: [\"pods\"]\n    verbs: [\"get\", \"update\", \"patch\"]\n",
            self.metadata(&format!("{}-service-registration", self.name())),
            label = self.profile.active_label(),
        )
    }

    fn role_binding(&self) -> String {
        format!(
            "{HEADER_NOTE}\
             apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\n{}\
             roleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: Role\n  name: {}\n\
             subjects:\n  - kind: ServiceAccount\n    name: {}\n    namespace: {}\n",
            self.metadata(&format!("{}-service-registration", self.name())),
            q(&format!("{}-service-registration", self.name())),
            q(self.name()),
            q(self.ns()),
        )
    }

    fn config_map(&self) -> Result<String, RenderError> {
        let mut data = String::new();
        for i in 0..self.opts.replicas {
            data.push_str(&format!(
                "  {}.hcl: |\n{}",
                pod_name(self.profile, i),
                literal_block(&kubernetes_hcl(self.opts, self.profile, i)?, 4)
            ));
        }
        Ok(format!(
            "{HEADER_NOTE}\
             # One server config per replica, rendered by vaultops-config: the pod starts with\n\
             # -config=<dir>/$(POD_NAME).hcl, so node_id, api_addr and cluster_addr are literal\n\
             # values a linter can check, not environment overrides. Adding replicas means\n\
             # regenerating with DeployOptions::replicas.\n\
             apiVersion: v1\nkind: ConfigMap\n{}data:\n{data}",
            self.metadata(&format!("{}-config", self.name()))
        ))
    }

    fn ports(&self, with_cluster: bool, with_metrics: bool) -> String {
        let mut s = format!(
            "  ports:\n    - name: https\n      port: {API_PORT}\n      targetPort: {API_PORT}\n      protocol: TCP\n"
        );
        if with_cluster {
            s.push_str(&format!(
                "    - name: https-internal\n      port: {CLUSTER_PORT}\n      targetPort: {CLUSTER_PORT}\n      protocol: TCP\n"
            ));
        }
        if with_metrics {
            s.push_str(&format!(
                "    - name: metrics\n      port: {METRICS_PORT}\n      targetPort: {METRICS_PORT}\n      protocol: TCP\n"
            ));
        }
        s
    }

    fn headless_service(&self) -> String {
        format!(
            "{HEADER_NOTE}\
             # Gives every pod a stable DNS name (<pod>.{svc}.{ns}.svc) for api_addr,\n\
             # cluster_addr, retry_join and Prometheus (port metrics). publishNotReadyAddresses:\n\
             # sealed and uninitialised pods are not ready, yet they must find each other to join\n\
             # and to be unsealed, and their metrics show that they are sealed.\n\
             apiVersion: v1\nkind: Service\n{}spec:\n  clusterIP: None\n  publishNotReadyAddresses: true\n\
             {}  selector:\n{}",
            self.metadata(&headless_service(self.profile)),
            self.ports(true, true),
            label_map(&self.selector(), 4),
            svc = headless_service(self.profile),
            ns = self.ns(),
        )
    }

    fn client_service(&self) -> String {
        format!(
            "{HEADER_NOTE}\
             # What applications use: every ready (unsealed) pod. Standbys forward writes to the\n\
             # active node, and with disable_standby_reads reads too, so every answer is current.\n\
             apiVersion: v1\nkind: Service\n{}spec:\n  type: ClusterIP\n  publishNotReadyAddresses: false\n\
             {}  selector:\n{}",
            self.metadata(self.name()),
            self.ports(false, false),
            label_map(&self.selector(), 4),
        )
    }

    fn active_service(&self) -> String {
        let mut selector = self.selector();
        selector.push((self.profile.active_label(), "true"));
        format!(
            "{HEADER_NOTE}\
             # Only the active node: service registration sets {label}=\"true\" on it and\n\
             # \"false\" on standbys. For operators and tools that must reach the leader.\n\
             apiVersion: v1\nkind: Service\n{}spec:\n  type: ClusterIP\n  publishNotReadyAddresses: false\n\
             {}  selector:\n{}",
            self.metadata(&format!("{}-active", self.name())),
            self.ports(true, false),
            label_map(&selector, 4),
            label = self.profile.active_label(),
        )
    }

    fn stateful_set(&self) -> String {
        let p = self.profile;
        let env = p.env_prefix;
        let storage_class = match &self.opts.kubernetes.storage_class {
            Some(c) => format!("        storageClassName: {}\n", q(c)),
            None => String::new(),
        };
        let claim = |name: &str, size: &str| {
            format!(
                "    - metadata:\n        name: {name}\n      spec:\n        accessModes: [\"ReadWriteOnce\"]\n\
                 {storage_class}        resources:\n          requests:\n            storage: {}\n",
                q(size)
            )
        };
        let container_security = "          securityContext:\n            allowPrivilegeEscalation: false\n            readOnlyRootFilesystem: true\n            capabilities:\n              drop: [\"ALL\"]\n";
        format!(
            "{HEADER_NOTE}\
             # {replicas} {engine} raft voters, one per Kubernetes node (required anti-affinity: a\n\
             # node failure takes at most one voter). Image pinned: never `latest`; {pin}\n\
             # No IPC_LOCK and no privileges: {mlock}\n\
             # So the server's memory (unseal key material, tokens) must never reach a disk:\n\
             # - core dumps: no Pod or container field turns them off (the Pod API has no\n\
             #   RLIMIT_CORE), so disable them on every node that may run these pods\n\
             #   (docs/deploy.md, \"Host hardening\"); nothing here pretends to;\n\
             # - swap: keep it off on those nodes; memory request = limit below, so even a node\n\
             #   with swapBehavior LimitedSwap gives this container no swap.\n\
             apiVersion: apps/v1\nkind: StatefulSet\n{meta}spec:\n\
             \x20 serviceName: {headless}\n\
             \x20 replicas: {replicas}\n\
             \x20 # All pods start at once: a raft cluster cannot form one pod at a time while the\n\
             \x20 # first waits (sealed, not ready) for the others.\n\
             \x20 podManagementPolicy: Parallel\n\
             \x20 # Upgrades are operator-driven (docs/deploy.md): a restarted pod comes back sealed\n\
             \x20 # and the active node must go last, which a rolling update does not know.\n\
             \x20 updateStrategy:\n    type: OnDelete\n\
             \x20 selector:\n    matchLabels:\n{selector6}\
             \x20 template:\n    metadata:\n      labels:\n{labels8}\
             \x20   spec:\n\
             \x20     serviceAccountName: {name}\n\
             \x20     # No <SERVICE>_PORT… variables per Service: with Vault they land in VAULT_*, the\n\
             \x20     # prefix the server and CLI read their settings from.\n\
             \x20     enableServiceLinks: false\n\
             \x20     terminationGracePeriodSeconds: 30\n\
             \x20     securityContext:\n        runAsNonRoot: true\n        runAsUser: {uid}\n        runAsGroup: {gid}\n        fsGroup: {gid}\n        seccompProfile:\n          type: RuntimeDefault\n\
             \x20     affinity:\n        podAntiAffinity:\n          requiredDuringSchedulingIgnoredDuringExecution:\n            - topologyKey: kubernetes.io/hostname\n              labelSelector:\n                matchLabels:\n{selector18}\
             \x20     containers:\n\
             \x20       - name: {name}\n\
             \x20         image: {image}\n\
             \x20         imagePullPolicy: IfNotPresent\n\
             \x20         command: [{binary}]\n\
             \x20         args: [\"server\", \"-config={config_dir}/$(POD_NAME).hcl\"]\n\
             \x20         env:\n\
             \x20           - name: POD_NAME\n              valueFrom:\n                fieldRef:\n                  fieldPath: metadata.name\n\
             \x20           # For `kubectl exec … {binary_plain} …` inside the pod (the certificate has 127.0.0.1).\n\
             \x20           - name: {env}_ADDR\n              value: \"https://127.0.0.1:{API_PORT}\"\n\
             \x20           - name: {env}_CACERT\n              value: {ca_file}\n\
             \x20         # https: API (token required, metrics too); https-internal: raft and forwarding;\n\
             \x20         # metrics: /v1/sys/metrics without a token, for Prometheus only (NetworkPolicy).\n\
             \x20         ports:\n            - name: https\n              containerPort: {API_PORT}\n            - name: https-internal\n              containerPort: {CLUSTER_PORT}\n            - name: metrics\n              containerPort: {METRICS_PORT}\n\
             \x20         # Ready = unsealed (active or standby): sealed (503) and uninitialised (501)\n\
             \x20         # pods leave the client Service.\n\
             \x20         readinessProbe:\n            httpGet:\n              path: \"/v1/sys/health?standbyok=true&perfstandbyok=true\"\n              port: {API_PORT}\n              scheme: HTTPS\n            periodSeconds: 5\n            timeoutSeconds: 3\n            failureThreshold: 2\n\
             \x20         # Alive = the process answers. A sealed or uninitialised server is alive and\n\
             \x20         # waits for its keys: restarting it would only seal it again.\n\
             \x20         livenessProbe:\n            httpGet:\n              path: \"/v1/sys/health?standbyok=true&perfstandbyok=true&sealedcode=204&uninitcode=204\"\n              port: {API_PORT}\n              scheme: HTTPS\n            initialDelaySeconds: 60\n            periodSeconds: 10\n            timeoutSeconds: 3\n            failureThreshold: 3\n\
             \x20         # The seed's limits (1 CPU / 1 GiB, reserving 0.5 CPU). Memory request = limit:\n\
             \x20         # under LimitedSwap a container with equal memory request and limit gets no swap.\n\
             \x20         resources:\n            requests:\n              cpu: \"500m\"\n              memory: \"1Gi\"\n            limits:\n              cpu: \"1\"\n              memory: \"1Gi\"\n\
             {container_security}\
             \x20         volumeMounts:\n\
             \x20           - name: config\n              mountPath: {config_dir}\n              readOnly: true\n\
             \x20           - name: tls\n              mountPath: {tls_dir}\n              readOnly: true\n\
             \x20           - name: data\n              mountPath: {data_dir}\n\
             \x20           - name: audit\n              mountPath: {audit_dir}\n\
             \x20           - name: tmp\n              mountPath: /tmp\n\
             \x20       # The socket audit device's sink on the pod's loopback: it copies the audit\n\
             \x20       # stream to this container's log, which the cluster's log collector ships.\n\
             \x20       # Same failure domain as the server; the server refuses to create a socket\n\
             \x20       # device whose sink is unreachable (init fails with 400), measured.\n\
             \x20       - name: audit-sink\n\
             \x20         image: {sink_image}\n\
             \x20         imagePullPolicy: IfNotPresent\n\
             \x20         command: [\"nc\", \"-ll\", \"-p\", \"{SINK_PORT}\", \"-e\", \"/bin/sh\", \"-c\", \"exec cat >&2\"]\n\
             \x20         # It carries the audit stream (HMAC'd, yet sensitive): no swap either.\n\
             \x20         resources:\n            requests:\n              cpu: \"10m\"\n              memory: \"64Mi\"\n            limits:\n              cpu: \"100m\"\n              memory: \"64Mi\"\n\
             {container_security}\
             \x20     volumes:\n\
             \x20       - name: config\n          configMap:\n            name: {name}-config\n\
             \x20       - name: tls\n          secret:\n            secretName: {name}-tls\n            # 0440: readable by the server's group (fsGroup), the key never world-readable.\n            defaultMode: 288\n\
             \x20       - name: tmp\n          emptyDir:\n            sizeLimit: \"64Mi\"\n\
             \x20 volumeClaimTemplates:\n{data_claim}{audit_claim}",
            meta = self.metadata(self.name()),
            headless = q(&headless_service(p)),
            replicas = self.opts.replicas,
            engine = p.engine,
            pin = pin_note(p.image(self.opts)),
            mlock = match p.engine {
                vaultops_types::Engine::OpenBao => "OpenBao has no mlock (disable_mlock is an unknown field to it).",
                vaultops_types::Engine::Vault => "disable_mlock = true, as HashiCorp recommends with raft.",
            },
            selector6 = label_map(&self.selector(), 6),
            labels8 = self.labels(8),
            selector18 = label_map(&self.selector(), 18),
            name = p.name,
            uid = Profile::UID,
            gid = Profile::GID,
            image = q(p.image(self.opts)),
            binary = q(p.binary),
            binary_plain = p.binary,
            config_dir = p.config_dir(),
            ca_file = q(&p.ca_file()),
            tls_dir = p.tls_dir(),
            data_dir = p.data_dir(),
            audit_dir = p.audit_dir(),
            sink_image = q(&self.opts.audit_sink_image),
            data_claim = claim("data", &self.opts.kubernetes.data_storage),
            audit_claim = claim("audit", &self.opts.kubernetes.audit_storage),
        )
    }

    fn pdb(&self) -> String {
        format!(
            "{HEADER_NOTE}\
             # Voluntary disruptions (drains, upgrades) take one server at a time: with 3 voters\n\
             # the other two keep quorum. Sealed pods are not ready and count as already\n\
             # disrupted; AlwaysAllow lets a drain evict them (they serve nothing) instead of\n\
             # blocking until someone unseals them.\n\
             apiVersion: policy/v1\nkind: PodDisruptionBudget\n{}spec:\n  maxUnavailable: 1\n\
             \x20 unhealthyPodEvictionPolicy: AlwaysAllow\n  selector:\n    matchLabels:\n{}",
            self.metadata(self.name()),
            label_map(&self.selector(), 6),
        )
    }

    fn network_policy(&self) -> String {
        let o = self.opts;
        let app = [("app.kubernetes.io/name", o.app.name.as_str())];
        let ns = |name: &str| label_map(&[("kubernetes.io/metadata.name", name)], 14);
        format!(
            "{HEADER_NOTE}\
             # Who reaches the servers (enforced only by a network plugin that implements\n\
             # NetworkPolicy):\n\
             # - {API_PORT} (API, a token for everything): the application's pods ({app_name} in\n\
             #   namespace {app_ns}) and the other servers (retry_join and forwarding use it);\n\
             # - {CLUSTER_PORT} (raft, request forwarding): the other servers only;\n\
             # - {METRICS_PORT} (metrics without a token): pods in namespace {prom_ns} (Prometheus and\n\
             #   the blackbox exporter) only.\n\
             # Nothing else: not the audit sink's {SINK_PORT}, not other namespaces. The kubelet's\n\
             # probes come from the node, which a NetworkPolicy always lets through, and\n\
             # `kubectl port-forward` (init, unseal, apply: docs/deploy.md) connects from inside\n\
             # the pod's network namespace, which it never filters. Other clients of the API need\n\
             # a rule of their own here.\n\
             apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n{meta}spec:\n  podSelector:\n    matchLabels:\n{selector6}\
             \x20 policyTypes: [\"Ingress\"]\n  ingress:\n\
             \x20   - from:\n\
             \x20       - namespaceSelector:\n            matchLabels:\n{app_ns14}\
             \x20         podSelector:\n            matchLabels:\n{app14}\
             \x20       - podSelector:\n            matchLabels:\n{selector14}\
             \x20     ports:\n        - protocol: TCP\n          port: {API_PORT}\n\
             \x20   - from:\n        - podSelector:\n            matchLabels:\n{selector14}\
             \x20     ports:\n        - protocol: TCP\n          port: {CLUSTER_PORT}\n\
             \x20   - from:\n        - namespaceSelector:\n            matchLabels:\n{prom_ns14}\
             \x20     ports:\n        - protocol: TCP\n          port: {METRICS_PORT}\n",
            meta = self.metadata(self.name()),
            selector6 = label_map(&self.selector(), 6),
            selector14 = label_map(&self.selector(), 14),
            app_name = o.app.name,
            app_ns = o.app.namespace,
            prom_ns = o.kubernetes.prometheus_namespace,
            app_ns14 = ns(&o.app.namespace),
            app14 = label_map(&app, 14),
            prom_ns14 = ns(&o.kubernetes.prometheus_namespace),
        )
    }
}

/// The manifest comment about an image's pin: a digest pins the bytes, a tag only a name.
fn pin_note(image: &str) -> &'static str {
    if image.contains('@') {
        "pinned by digest (the\n# registry cannot change the bytes under the tag)."
    } else {
        "a tag is mutable\n# (the registry can move it): append @sha256:… (DeployOptions) to pin the bytes."
    }
}

fn namespace_doc(name: &str, why: &str) -> String {
    format!(
        "{HEADER_NOTE}# {why}\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: {}\n  labels:\n\
         \x20   pod-security.kubernetes.io/enforce: \"restricted\"\n\
         \x20   pod-security.kubernetes.io/enforce-version: \"latest\"\n",
        q(name)
    )
}

/// Where the application's pods see the credentials Secret (one file per key).
pub(crate) const CREDENTIALS_DIR: &str = "/var/run/secrets/vault";
/// Key of the credentials Secret holding the role-id (the seed's name), also the file name.
pub(crate) const ROLE_ID_KEY: &str = "vault-role-id";
/// Key of the credentials Secret holding the secret-id (the seed's name), also the file name.
pub(crate) const SECRET_ID_KEY: &str = "vault-secret-id";
/// `fsGroup` of the application's pods: the group that may read the credential files.
const APP_FS_GROUP: u32 = 1000;

/// The seed's `backend/k8s/deployment.yaml`, completed: the seed's has no selector and no
/// pod labels (the API server rejects it), no image, and no CA for `VAULT_CACERT`.
fn app_deployment(opts: &DeployOptions) -> String {
    let a = &opts.app;
    let labels = [
        ("app.kubernetes.io/name", a.name.as_str()),
        ("app.kubernetes.io/instance", opts.cluster_name.as_str()),
    ];
    let server = Profile::OPENBAO;
    let addr = format!(
        "https://{}.{}.svc:{API_PORT}",
        server.name,
        server.namespace(opts)
    );
    let file = |key: &str| format!("{CREDENTIALS_DIR}/{key}");
    format!(
        "{HEADER_NOTE}\
         # The seed's atmr-api Deployment, made valid and pointed at the cluster. VAULT_ADDR is\n\
         # the client Service ({addr}); VAULT_CACERT the cluster CA from the ConfigMap `{ca}`.\n\
         #\n\
         # The AppRole credentials are files, not environment variables: the Secret `{secret}`\n\
         # (keys {role_key}, {secret_key}), written by `vaultops approle credentials --role {name}\n\
         # --k8s-secret …` (see templates/), is mounted read-only at {dir}/, and\n\
         # VAULT_ROLE_ID_FILE / VAULT_SECRET_ID_FILE name the files. The kubelet updates a\n\
         # mounted Secret in place, within about a minute of a change (its sync period plus its\n\
         # cache), so a rotated secret-id reaches the running pods without a restart; the\n\
         # client reads the files again when a login fails (docs/app-integration.md). An\n\
         # environment variable is fixed when the container starts, and a subPath mount is\n\
         # never updated: use neither for credentials that rotate.\n\
         apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {qname}\n  namespace: {ns}\n  labels:\n{labels4}\
         spec:\n  replicas: {replicas}\n  selector:\n    matchLabels:\n{labels6}\
         \x20 template:\n    metadata:\n      labels:\n{labels8}\
         \x20   spec:\n      securityContext:\n        runAsNonRoot: true\n\
         \x20       # Group of the credential files (mode 0440 below): readable by the app, whatever\n\
         \x20       # its uid, and by nobody else.\n\
         \x20       fsGroup: {gid}\n\
         \x20       seccompProfile:\n          type: RuntimeDefault\n\
         \x20     containers:\n        - name: api\n          image: {image}\n\
         \x20         env:\n\
         \x20           - name: VAULT_ADDR\n              value: {qaddr}\n\
         \x20           - name: VAULT_CACERT\n              value: \"/etc/vault-ca/ca.pem\"\n\
         \x20           - name: VAULT_ROLE_ID_FILE\n              value: {role_file}\n\
         \x20           - name: VAULT_SECRET_ID_FILE\n              value: {secret_file}\n\
         \x20           - name: USE_VAULT\n              value: \"true\"\n\
         \x20           - name: FLASK_ENV\n              value: \"production\"\n\
         \x20         securityContext:\n            allowPrivilegeEscalation: false\n            capabilities:\n              drop: [\"ALL\"]\n\
         \x20         volumeMounts:\n            - name: vault-ca\n              mountPath: /etc/vault-ca\n              readOnly: true\n\
         \x20           # The whole volume, never subPath: subPath mounts are not updated.\n\
         \x20           - name: vault-credentials\n              mountPath: {dir}\n              readOnly: true\n\
         \x20     volumes:\n        - name: vault-ca\n          configMap:\n            name: {qca}\n\
         \x20       - name: vault-credentials\n          secret:\n            secretName: {qsecret}\n\
         \x20           # One file per key, named after it: {dir}/{role_key}, …/{secret_key}.\n\
         \x20           # 0440: owner root, group fsGroup.\n\
         \x20           defaultMode: 288\n",
        secret = a.credentials_secret,
        qsecret = q(&a.credentials_secret),
        name = a.name,
        qname = q(&a.name),
        ns = q(&a.namespace),
        ca = a.ca_config_map,
        qca = q(&a.ca_config_map),
        labels4 = label_map(&labels, 4),
        labels6 = label_map(&labels, 6),
        labels8 = label_map(&labels, 8),
        replicas = a.replicas,
        image = q(&a.image),
        qaddr = q(&addr),
        dir = CREDENTIALS_DIR,
        role_key = ROLE_ID_KEY,
        secret_key = SECRET_ID_KEY,
        role_file = q(&file(ROLE_ID_KEY)),
        secret_file = q(&file(SECRET_ID_KEY)),
        gid = APP_FS_GROUP,
    )
}

fn tls_secret_template(opts: &DeployOptions, profile: Profile) -> String {
    let commands: String = tls_secret_commands(opts, profile)
        .iter()
        .map(|c| format!("#   {c}\n"))
        .collect();
    format!(
        "{HEADER_NOTE}\
         # TEMPLATE, do not apply as is. The {engine} servers' TLS material, mounted at {tls}.\n\
         # Create the real Secret instead (keep ./ca/ca-key.pem offline, not in the cluster);\n\
         # the server key must stay readable by uid {uid} / gid {gid} (the pod's fsGroup):\n\
         {commands}\
         apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\n  namespace: {ns}\ntype: Opaque\n\
         stringData:\n\
         \x20 ca.pem: \"REPLACE: the CA certificate (vaultops tls ca)\"\n\
         \x20 node.pem: \"REPLACE: the server certificate (vaultops tls node)\"\n\
         \x20 node-key.pem: \"REPLACE: the server private key (vaultops tls node)\"\n",
        engine = profile.engine,
        tls = profile.tls_dir(),
        uid = Profile::UID,
        gid = Profile::GID,
        name = q(&format!("{}-tls", profile.name)),
        ns = q(profile.namespace(opts)),
    )
}

fn credentials_template(opts: &DeployOptions) -> String {
    let a = &opts.app;
    format!(
        "{HEADER_NOTE}\
         # TEMPLATE, do not apply as is: the seed's vault/k8s/vault-secrets.yaml. Let vaultops\n\
         # issue the secret-id and write the real manifest (0600), proven by a login, from an\n\
         # operator's machine (a token allowed to issue secret-ids in VAULT_TOKEN):\n\
         #   kubectl -n {server_ns} port-forward svc/{server}-active 8200:8200 &\n\
         #   vaultops approle credentials --role {name} --k8s-secret ./{secret}.yaml \\\n\
         #     --namespace {ns_plain} --name {secret} --addr https://127.0.0.1:8200 --ca-cert ./ca/ca.pem\n\
         #   kubectl apply -f ./{secret}.yaml && shred -u ./{secret}.yaml\n\
         # Never commit the real file.\n\
         apiVersion: v1\nkind: Secret\nmetadata:\n  name: {qsecret}\n  namespace: {ns}\ntype: Opaque\n\
         stringData:\n  {ROLE_ID_KEY}: \"<ROLE_ID>\"\n  {SECRET_ID_KEY}: \"<SECRET_ID>\"\n",
        name = a.name,
        secret = a.credentials_secret,
        qsecret = q(&a.credentials_secret),
        ns_plain = a.namespace,
        ns = q(&a.namespace),
        server_ns = Profile::OPENBAO.namespace(opts),
        server = Profile::OPENBAO.name,
    )
}

fn ca_config_map_template(opts: &DeployOptions) -> String {
    let a = &opts.app;
    format!(
        "{HEADER_NOTE}\
         # TEMPLATE: the cluster CA certificate for the application's VAULT_CACERT. Not secret,\n\
         # but it must be the real one:\n\
         #   kubectl -n {ns_plain} create configmap {name_plain} --from-file=ca.pem=./ca/ca.pem\n\
         apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: {ns}\n\
         data:\n  ca.pem: \"REPLACE: the CA certificate (vaultops tls ca)\"\n",
        ns_plain = a.namespace,
        name_plain = a.ca_config_map,
        name = q(&a.ca_config_map),
        ns = q(&a.namespace),
    )
}

/// The Prometheus targets of the StatefulSet's pods (`host:port`, the metrics listener).
pub fn kubernetes_targets(opts: &DeployOptions, profile: Profile) -> Vec<String> {
    (0..opts.replicas)
        .map(|i| format!("{}:{METRICS_PORT}", pod_dns(opts, profile, i)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_commands_cover_every_name_the_pods_are_reached_by() {
        let opts = DeployOptions::default();
        let cmds = tls_secret_commands(&opts, Profile::OPENBAO).join("\n");
        for name in [
            "*.openbao-internal.openbao.svc",
            "openbao.openbao.svc",
            "openbao-active.openbao.svc",
            "localhost",
        ] {
            assert!(cmds.contains(&format!("--dns '{name}'")), "{cmds}");
        }
        assert!(cmds.contains("--ip 127.0.0.1"), "{cmds}");
        // Every retry_join target is covered by the wildcard (one label deep).
        for t in kubernetes_targets(&opts, Profile::OPENBAO) {
            let host = t.split(':').next().unwrap();
            let (first, rest) = host.split_once('.').unwrap();
            assert!(!first.contains('.'));
            assert_eq!(rest, "openbao-internal.openbao.svc");
        }
        assert_eq!(
            kubernetes_targets(&opts, Profile::OPENBAO)[2],
            "openbao-2.openbao-internal.openbao.svc:8202"
        );
    }
}
