// Package deploy holds no code: it is the home of spotifyhist's deployment
// files, and its tests check them against the source of the daemon.
//
// # Files
//
//   - Containerfile: the container image (static binary on distroless, non-root).
//   - kubernetes/base, kubernetes/overlays/example: kustomize manifests for
//     several serve replicas on PostgreSQL, the link-artists CronJob and
//     Prometheus Operator monitoring.
//   - prometheus/rules.yml: the alerts as a plain Prometheus rule file,
//     generated from kubernetes/base/prometheusrule.yaml; rules_test.yml and
//     rules_days_test.yml hold their promtool unit tests.
//   - grafana/spotifyhist.json: a Grafana dashboard over the metrics.
//
// # Tests
//
// The tests parse every manifest and check what a typo would silently break:
// probe paths are routes cmd/spotifyhist serves, every environment variable is
// one cmd/spotifyhist reads, the CronJob runs a real subcommand, the alert
// rules and dashboard query metrics the code registers, the security context
// is complete, and every kustomization lists every file of its directory.
// With promtool installed they also run `promtool check rules` and the rule
// unit tests; with kubectl, `kubectl kustomize` on the example overlay.
//
//	go test ./deploy
//	go test ./deploy -update   # rewrite prometheus/rules.yml from the PrometheusRule
package deploy
