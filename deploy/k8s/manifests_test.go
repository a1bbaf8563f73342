// Package k8s_test checks the Kubernetes manifests statically: every file parses, every workload
// is covered by a NetworkPolicy besides the namespace's default deny, the ports the policies open
// are ports of the pods they select, and the flows between the components (and from outside) are
// exactly the allowed ones, evaluated as Kubernetes evaluates NetworkPolicies.
package k8s_test

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// object is one parsed manifest.
type object map[string]any

func (o object) str(path ...string) string {
	v, _ := o.get(path...).(string)
	return v
}

func (o object) get(path ...string) any {
	var v any = map[string]any(o)
	for _, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func list(v any) []any { l, _ := v.([]any); return l }

func labels(v any) map[string]string {
	m, _ := v.(map[string]any)
	out := map[string]string{}
	for k, v := range m {
		out[k] = fmt.Sprint(v)
	}
	return out
}

// load parses the resources of kustomization.yaml.
func load(t *testing.T) []object {
	t.Helper()
	k := parseFile(t, "kustomization.yaml")[0]
	var objs []object
	for _, r := range list(k.get("resources")) {
		objs = append(objs, parseFile(t, r.(string))...)
	}
	return objs
}

func parseFile(t *testing.T, name string) []object {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	docs, err := parseYAML(string(b))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	var out []object
	for _, d := range docs {
		m, ok := d.(map[string]any)
		if !ok {
			t.Fatalf("%s: a document is not a map", name)
		}
		out = append(out, object(m))
	}
	return out
}

func TestManifestsParse(t *testing.T) {
	files, err := filepath.Glob("*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	more, _ := filepath.Glob("*/*.yaml")
	files = append(append(files, more...), "../prometheus/scrape.yaml")
	for _, f := range files {
		for _, o := range parseFile(t, f) {
			if f == "kustomization.yaml" || f == "../prometheus/scrape.yaml" {
				continue
			}
			if o.str("apiVersion") == "" || o.str("kind") == "" || o.str("metadata", "name") == "" {
				t.Errorf("%s: object without apiVersion, kind or name: %v", f, o)
			}
		}
	}
	// Every manifest is applied.
	listed := map[string]bool{}
	for _, r := range list(parseFile(t, "kustomization.yaml")[0].get("resources")) {
		listed[r.(string)] = true
	}
	for _, f := range files {
		if !listed[f] && f != "kustomization.yaml" && f != "../prometheus/scrape.yaml" {
			t.Errorf("%s is not a resource of kustomization.yaml", f)
		}
	}
}

// pod is a source or destination of traffic: a pod (namespace labels and pod labels) or, with
// external set, something outside the cluster.
type pod struct {
	name     string
	ns       map[string]string
	labels   map[string]string
	external bool
}

const namespace = "govpulse"

func inNS(name string, l map[string]string) pod {
	return pod{name: name, ns: map[string]string{"kubernetes.io/metadata.name": namespace}, labels: l}
}

func component(name string) pod { return inNS(name, map[string]string{"app.kubernetes.io/name": name}) }

var (
	internet   = pod{name: "internet", external: true}
	prometheus = pod{name: "prometheus", ns: map[string]string{"kubernetes.io/metadata.name": "monitoring"},
		labels: map[string]string{"app.kubernetes.io/name": "prometheus"}}
	kubeDNS = pod{name: "kube-dns", ns: map[string]string{"kubernetes.io/metadata.name": "kube-system"},
		labels: map[string]string{"k8s-app": "kube-dns"}}
	elsewhere = pod{name: "a pod of another namespace", ns: map[string]string{"kubernetes.io/metadata.name": "other"},
		labels: map[string]string{"app.kubernetes.io/name": "ingest"}}
	ingest     = component("ingest")
	aggregate  = inNS("aggregate", map[string]string{"app.kubernetes.io/name": "aggregate", "govpulse.io/partition": "a"})
	nats       = component("nats")
	clickhouse = component("clickhouse")
	keeper     = component("clickhouse-keeper")
	grafana    = component("grafana")
	site       = component("site")
	other      = component("other")
	natsTool   = inNS("nats tool", map[string]string{"govpulse.io/nats-client": "true"})
	chTool     = inNS("clickhouse tool", map[string]string{"govpulse.io/clickhouse-client": "true"})
)

func matches(sel any, l map[string]string) bool {
	if sel == nil {
		return true
	}
	s, _ := sel.(map[string]any)
	if len(s) > 0 && s["matchExpressions"] != nil {
		panic("matchExpressions: not evaluated by this test")
	}
	for k, v := range labels(s["matchLabels"]) {
		if l[k] != v {
			return false
		}
	}
	return true
}

// peerMatches reports whether a from/to entry of a policy in namespace matches p.
func peerMatches(peer map[string]any, p pod) bool {
	if peer["ipBlock"] != nil {
		return p.external
	}
	if p.external {
		return false
	}
	if ns, ok := peer["namespaceSelector"]; ok {
		if !matches(ns, p.ns) {
			return false
		}
	} else if p.ns["kubernetes.io/metadata.name"] != namespace {
		return false
	}
	ps, ok := peer["podSelector"]
	return !ok || matches(ps, p.labels)
}

func portMatches(ports []any, port int) bool {
	if len(ports) == 0 {
		return true
	}
	for _, p := range ports {
		if fmt.Sprint(p.(map[string]any)["port"]) == fmt.Sprint(port) {
			return true
		}
	}
	return false
}

// allowed evaluates the policies for a connection of direction ("Ingress" or "Egress") of the
// pod self with peer on port: a pod no policy of that type selects is not isolated; otherwise one
// rule of a selecting policy must allow it.
func allowed(policies []object, direction string, self, peer pod, port int) bool {
	if self.external || self.ns["kubernetes.io/metadata.name"] != namespace {
		return true // not governed by this namespace's policies
	}
	isolated := false
	for _, p := range policies {
		if !matches(p.get("spec", "podSelector"), self.labels) || !slices.ContainsFunc(list(p.get("spec", "policyTypes")), func(v any) bool { return v == direction }) {
			continue
		}
		isolated = true
		key, peerKey := "ingress", "from"
		if direction == "Egress" {
			key, peerKey = "egress", "to"
		}
		for _, r := range list(p.get("spec", key)) {
			rule := r.(map[string]any)
			if !portMatches(list(rule["ports"]), port) {
				continue
			}
			peers := list(rule[peerKey])
			if len(peers) == 0 || slices.ContainsFunc(peers, func(v any) bool { return peerMatches(v.(map[string]any), peer) }) {
				return true
			}
		}
	}
	return !isolated
}

func TestNetworkPolicies(t *testing.T) {
	objs := load(t)
	var policies []object
	for _, o := range objs {
		if o.str("kind") == "NetworkPolicy" {
			policies = append(policies, o)
		}
	}

	// The namespace denies everything by default.
	deny := false
	for _, p := range policies {
		if len(labels(p.get("spec", "podSelector", "matchLabels"))) == 0 && p.get("spec", "ingress") == nil && p.get("spec", "egress") == nil &&
			slices.Contains(list(p.get("spec", "policyTypes")), any("Ingress")) && slices.Contains(list(p.get("spec", "policyTypes")), any("Egress")) {
			deny = true
		}
	}
	if !deny {
		t.Error("no default-deny NetworkPolicy (empty podSelector, Ingress and Egress, no rules)")
	}

	// Every workload has a policy of its own, and every port a policy opens to it is a port of
	// its containers.
	for _, o := range objs {
		if k := o.str("kind"); k != "Deployment" && k != "StatefulSet" {
			continue
		}
		podLabels := labels(o.get("spec", "template", "metadata", "labels"))
		ports := map[string]bool{}
		for _, c := range list(o.get("spec", "template", "spec", "containers")) {
			for _, p := range list(c.(map[string]any)["ports"]) {
				ports[fmt.Sprint(p.(map[string]any)["containerPort"])] = true
			}
		}
		own := 0
		for _, p := range policies {
			sel := labels(p.get("spec", "podSelector", "matchLabels"))
			if len(sel) == 0 || !matches(p.get("spec", "podSelector"), podLabels) {
				continue
			}
			own++
			for _, r := range list(p.get("spec", "ingress")) {
				for _, pt := range list(r.(map[string]any)["ports"]) {
					if port := fmt.Sprint(pt.(map[string]any)["port"]); !ports[port] {
						t.Errorf("%s %s: policy %s opens port %s, which no container has (%v)",
							o.str("kind"), o.str("metadata", "name"), p.str("metadata", "name"), port, slices.Sorted(maps.Keys(ports)))
					}
				}
			}
		}
		if own == 0 {
			t.Errorf("%s %s: no NetworkPolicy selects its pods", o.str("kind"), o.str("metadata", "name"))
		}
	}
	// Grafana and the site are not deployed here but have their policies.
	for _, c := range []pod{grafana, site} {
		found := false
		for _, p := range policies {
			if len(labels(p.get("spec", "podSelector", "matchLabels"))) > 0 && matches(p.get("spec", "podSelector"), c.labels) {
				found = true
			}
		}
		if !found {
			t.Errorf("no NetworkPolicy selects %s", c.name)
		}
	}

	flows := []struct {
		from, to pod
		port     int
		want     bool
	}{
		{internet, ingest, 8080, true},
		{prometheus, ingest, 8091, true},
		{internet, ingest, 8091, false},
		{other, ingest, 8091, false},
		{ingest, nats, 4222, true},
		{ingest, nats, 6222, false},
		{ingest, clickhouse, 9000, false},
		{ingest, internet, 443, false},
		{aggregate, nats, 4222, true},
		{aggregate, clickhouse, 9000, true},
		{aggregate, clickhouse, 8123, false},
		{aggregate, nats, 6222, false},
		{prometheus, aggregate, 8081, true},
		{internet, aggregate, 8081, false},
		{other, aggregate, 8081, false},
		{nats, nats, 6222, true},
		{nats, nats, 4222, false},
		{nats, internet, 443, false},
		{internet, nats, 4222, false},
		{internet, nats, 8222, false},
		{other, nats, 4222, false},
		{elsewhere, nats, 4222, false},
		{natsTool, nats, 4222, true},
		{natsTool, nats, 6222, false},
		{prometheus, nats, 8222, false},
		{site, nats, 4222, true},
		{site, clickhouse, 9000, true},
		{site, clickhouse, 8123, false},
		{internet, site, 8088, true},
		{site, internet, 443, false},
		{grafana, clickhouse, 8123, true},
		{grafana, clickhouse, 9000, false},
		{grafana, prometheus, 9090, true},
		{internet, grafana, 3000, true},
		{chTool, clickhouse, 9000, true},
		{chTool, clickhouse, 8123, true},
		{prometheus, clickhouse, 9363, true},
		{internet, clickhouse, 9000, false},
		{internet, clickhouse, 8123, false},
		{other, clickhouse, 9000, false},
		{elsewhere, clickhouse, 9000, false},
		{clickhouse, internet, 443, false},
		{clickhouse, nats, 4222, false},
		{clickhouse, clickhouse, 9000, true},
		{clickhouse, clickhouse, 9009, true},
		{aggregate, clickhouse, 9009, false},
		{clickhouse, keeper, 9181, true},
		{clickhouse, keeper, 9234, false},
		{keeper, keeper, 9234, true},
		{keeper, keeper, 9181, false},
		{aggregate, keeper, 9181, false},
		{keeper, clickhouse, 9000, false},
		{keeper, internet, 443, false},
		{internet, keeper, 9181, false},
	}
	for _, c := range []pod{ingest, aggregate, nats, clickhouse, keeper, grafana, site, other} {
		flows = append(flows, struct {
			from, to pod
			port     int
			want     bool
		}{c, kubeDNS, 53, true})
	}
	for _, f := range flows {
		got := allowed(policies, "Egress", f.from, f.to, f.port) && allowed(policies, "Ingress", f.to, f.from, f.port)
		if got != f.want {
			verb := map[bool]string{true: "allowed", false: "refused"}
			t.Errorf("%s -> %s:%d %s, want %s", f.from.name, f.to.name, f.port, verb[got], verb[f.want])
		}
	}
}

// TestIngestAdminPort checks that ingest's metrics are scraped from the admin port, never from
// the producers' port or through the Service.
func TestIngestAdminPort(t *testing.T) {
	for _, o := range load(t) {
		switch {
		case o.str("kind") == "Deployment" && o.str("metadata", "name") == "ingest":
			if port := o.str("spec", "template", "metadata", "annotations", "prometheus.io/port"); port != "8091" {
				t.Errorf("ingest scraped on port %q, want 8091", port)
			}
			env := map[string]string{}
			for _, c := range list(o.get("spec", "template", "spec", "containers")) {
				for _, e := range list(c.(map[string]any)["env"]) {
					m := e.(map[string]any)
					env[fmt.Sprint(m["name"])] = fmt.Sprint(m["value"])
				}
			}
			if !strings.HasSuffix(env["GOVPULSE_INGEST_ADMIN_ADDR"], ":8091") || !strings.HasSuffix(env["GOVPULSE_INGEST_ADDR"], ":8080") {
				t.Errorf("ingest addresses %q and admin %q, want :8080 and :8091", env["GOVPULSE_INGEST_ADDR"], env["GOVPULSE_INGEST_ADMIN_ADDR"])
			}
		case o.str("kind") == "Service" && o.str("metadata", "name") == "ingest":
			for _, p := range list(o.get("spec", "ports")) {
				if port := fmt.Sprint(p.(map[string]any)["port"]); port != "8080" {
					t.Errorf("Service ingest exposes port %s; want 8080 only", port)
				}
			}
		}
	}
}

// TestClickHouseUsersSettings checks that the profile settings Kubernetes mounts are those of
// deploy/clickhouse/cluster/users.d/govpulse.xml (kustomize reads files of its own folder only, so
// the file is a copy with one comment line more).
func TestClickHouseUsersSettings(t *testing.T) {
	want, err := os.ReadFile("../clickhouse/cluster/users.d/govpulse.xml")
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("clickhouse/users-govpulse.xml")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, _ := strings.Cut(string(got), "\n")
	if rest != string(want) {
		t.Error("clickhouse/users-govpulse.xml differs from deploy/clickhouse/cluster/users.d/govpulse.xml (after its first line)")
	}
}
