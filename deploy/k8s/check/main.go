// Offline check of the Kubernetes manifests in deploy/k8s (run by scripts/k8s-check.sh, hence
// by scripts/test.sh and CI): builds the kustomization with kustomize's own library, then
// strictly decodes every rendered object into its k8s.io/api type (unknown or duplicate fields,
// bad quantities and wrong kinds fail), and checks what a cluster would only tell at apply or
// run time: every image is pinned, every long-running container has resources and, when it
// serves a port, readiness and liveness probes; HPAs, PDBs, Services and NetworkPolicies select
// something that exists; every ConfigMap, Secret and port a pod refers to exists.
//
//	go run . [DIR]   (DIR defaults to .., the kustomization)
package main

import (
	"fmt"
	"os"
	"sort"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

type checker struct {
	errs []string
}

func (c *checker) fail(format string, args ...any) {
	c.errs = append(c.errs, fmt.Sprintf(format, args...))
}

// The typed object for each kind we ship; anything else is an error.
func newObject(apiVersion, kind string) any {
	switch apiVersion + "/" + kind {
	case "v1/Namespace":
		return &corev1.Namespace{}
	case "v1/ConfigMap":
		return &corev1.ConfigMap{}
	case "v1/Secret":
		return &corev1.Secret{}
	case "v1/Service":
		return &corev1.Service{}
	case "apps/v1/Deployment":
		return &appsv1.Deployment{}
	case "batch/v1/Job":
		return &batchv1.Job{}
	case "autoscaling/v2/HorizontalPodAutoscaler":
		return &autoscalingv2.HorizontalPodAutoscaler{}
	case "policy/v1/PodDisruptionBudget":
		return &policyv1.PodDisruptionBudget{}
	case "networking.k8s.io/v1/NetworkPolicy":
		return &networkingv1.NetworkPolicy{}
	}
	return nil
}

func selects(selector, labels map[string]string) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

type workload struct {
	kind, name string
	labels     map[string]string
	spec       corev1.PodSpec
}

func main() {
	dir := ".."
	if len(os.Args) > 1 {
		dir = os.Args[1]
	}
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	resMap, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		fmt.Fprintf(os.Stderr, "k8s-check: kustomize build %s: %v\n", dir, err)
		os.Exit(1)
	}
	c := &checker{}
	configMaps, secrets := map[string]bool{}, map[string]bool{}
	deployments := map[string]*appsv1.Deployment{}
	var workloads []workload
	var services []*corev1.Service
	var hpas []*autoscalingv2.HorizontalPodAutoscaler
	var pdbs []*policyv1.PodDisruptionBudget
	var netpols []*networkingv1.NetworkPolicy
	kinds := map[string]int{}

	for _, r := range resMap.Resources() {
		id := r.OrgId().String()
		raw, err := r.AsYAML()
		if err != nil {
			c.fail("%s: %v", id, err)
			continue
		}
		obj := newObject(r.GetApiVersion(), r.GetKind())
		if obj == nil {
			c.fail("%s: unexpected kind %s %s", id, r.GetApiVersion(), r.GetKind())
			continue
		}
		if err := yaml.UnmarshalStrict(raw, obj); err != nil {
			c.fail("%s: %v", id, err)
			continue
		}
		kinds[r.GetKind()]++
		if ns := r.GetNamespace(); r.GetKind() != "Namespace" && ns != "core-dict" {
			c.fail("%s: namespace %q, want core-dict", id, ns)
		}
		switch o := obj.(type) {
		case *corev1.ConfigMap:
			configMaps[o.Name] = true
		case *corev1.Secret:
			secrets[o.Name] = true
			for key, v := range o.StringData {
				if strings.Contains(v, "PRIVATE KEY") && !strings.Contains(v, "PLACEHOLDER") {
					c.fail("Secret %s: %s looks like a real private key; ship placeholders only", o.Name, key)
				}
			}
			if len(o.Data) > 0 {
				c.fail("Secret %s: data (base64) given; ship readable stringData placeholders only", o.Name)
			}
		case *appsv1.Deployment:
			deployments[o.Name] = o
			if !selects(o.Spec.Selector.MatchLabels, o.Spec.Template.Labels) {
				c.fail("Deployment %s: selector does not select its own pod template", o.Name)
			}
			workloads = append(workloads, workload{"Deployment", o.Name, o.Spec.Template.Labels, o.Spec.Template.Spec})
		case *batchv1.Job:
			workloads = append(workloads, workload{"Job", o.Name, o.Spec.Template.Labels, o.Spec.Template.Spec})
		case *corev1.Service:
			services = append(services, o)
		case *autoscalingv2.HorizontalPodAutoscaler:
			hpas = append(hpas, o)
		case *policyv1.PodDisruptionBudget:
			pdbs = append(pdbs, o)
		case *networkingv1.NetworkPolicy:
			netpols = append(netpols, o)
		}
	}

	for _, w := range workloads {
		c.checkPod(w, configMaps, secrets)
	}
	for _, s := range services {
		var target *workload
		for i := range workloads {
			if workloads[i].kind == "Deployment" && selects(s.Spec.Selector, workloads[i].labels) {
				target = &workloads[i]
			}
		}
		if target == nil {
			c.fail("Service %s: selects no Deployment's pods", s.Name)
			continue
		}
		for _, p := range s.Spec.Ports {
			if p.TargetPort.StrVal != "" && !hasPortName(target.spec, p.TargetPort.StrVal) {
				c.fail("Service %s: targetPort %q is no port of %s", s.Name, p.TargetPort.StrVal, target.name)
			}
		}
	}
	for _, h := range hpas {
		d := deployments[h.Spec.ScaleTargetRef.Name]
		if h.Spec.ScaleTargetRef.Kind != "Deployment" || d == nil {
			c.fail("HorizontalPodAutoscaler %s: target %s/%s does not exist", h.Name, h.Spec.ScaleTargetRef.Kind, h.Spec.ScaleTargetRef.Name)
			continue
		}
		if h.Spec.MinReplicas == nil || *h.Spec.MinReplicas < 2 || h.Spec.MaxReplicas < *h.Spec.MinReplicas {
			c.fail("HorizontalPodAutoscaler %s: want 2 <= minReplicas <= maxReplicas", h.Name)
		}
		for _, ct := range d.Spec.Template.Spec.Containers {
			if ct.Resources.Requests.Cpu().IsZero() {
				c.fail("HorizontalPodAutoscaler %s: container %s has no CPU request to scale on", h.Name, ct.Name)
			}
		}
	}
	for _, p := range pdbs {
		found := false
		for _, d := range deployments {
			if selects(p.Spec.Selector.MatchLabels, d.Spec.Template.Labels) {
				found = true
				if p.Spec.MinAvailable != nil && d.Spec.Replicas != nil && p.Spec.MinAvailable.IntValue() >= int(*d.Spec.Replicas) {
					c.fail("PodDisruptionBudget %s: minAvailable %d blocks every drain of %s (%d replicas)", p.Name, p.Spec.MinAvailable.IntValue(), d.Name, *d.Spec.Replicas)
				}
			}
		}
		if !found {
			c.fail("PodDisruptionBudget %s: selects no Deployment's pods", p.Name)
		}
	}
	for _, n := range netpols {
		if len(n.Spec.PodSelector.MatchLabels) == 0 {
			continue // the whole namespace
		}
		found := false
		for _, w := range workloads {
			found = found || selects(n.Spec.PodSelector.MatchLabels, w.labels)
		}
		if !found {
			c.fail("NetworkPolicy %s: selects no pods", n.Name)
		}
	}
	for _, want := range []string{"Namespace", "ConfigMap", "Secret", "Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget", "NetworkPolicy", "Job"} {
		if kinds[want] == 0 {
			c.fail("no %s in the kustomization", want)
		}
	}

	if len(c.errs) > 0 {
		sort.Strings(c.errs)
		for _, e := range c.errs {
			fmt.Fprintln(os.Stderr, "k8s-check: "+e)
		}
		os.Exit(1)
	}
	names := make([]string, 0, len(kinds))
	for k, n := range kinds {
		names = append(names, fmt.Sprintf("%d %s", n, k))
	}
	sort.Strings(names)
	fmt.Printf("k8s-check: %s: %d objects OK (%s)\n", dir, resMap.Size(), strings.Join(names, ", "))
}

func hasPortName(spec corev1.PodSpec, name string) bool {
	for _, ct := range spec.Containers {
		for _, p := range ct.Ports {
			if p.Name == name {
				return true
			}
		}
	}
	return false
}

func (c *checker) checkPod(w workload, configMaps, secrets map[string]bool) {
	where := w.kind + " " + w.name
	if w.spec.SecurityContext == nil || w.spec.SecurityContext.RunAsNonRoot == nil || !*w.spec.SecurityContext.RunAsNonRoot {
		c.fail("%s: pod securityContext.runAsNonRoot must be true", where)
	}
	if w.spec.AutomountServiceAccountToken == nil || *w.spec.AutomountServiceAccountToken {
		c.fail("%s: automountServiceAccountToken must be false (no pod talks to the Kubernetes API)", where)
	}
	volumes := map[string]bool{}
	for _, v := range w.spec.Volumes {
		volumes[v.Name] = true
		if v.ConfigMap != nil && !configMaps[v.ConfigMap.Name] {
			c.fail("%s: volume %s: no ConfigMap %s", where, v.Name, v.ConfigMap.Name)
		}
		if v.Secret != nil && !secrets[v.Secret.SecretName] {
			c.fail("%s: volume %s: no Secret %s", where, v.Name, v.Secret.SecretName)
		}
	}
	for _, ct := range w.spec.Containers {
		cw := where + " container " + ct.Name
		image := ct.Image
		if i := strings.LastIndex(image, "/"); i >= 0 {
			image = image[i+1:]
		}
		if !strings.Contains(image, ":") && !strings.Contains(ct.Image, "@sha256:") || strings.HasSuffix(ct.Image, ":latest") {
			c.fail("%s: image %q is not pinned to a version", cw, ct.Image)
		}
		if ct.Resources.Requests.Cpu().IsZero() || ct.Resources.Requests.Memory().IsZero() || ct.Resources.Limits.Memory().IsZero() {
			c.fail("%s: needs cpu and memory requests and a memory limit", cw)
		}
		if ct.SecurityContext == nil || ct.SecurityContext.AllowPrivilegeEscalation == nil || *ct.SecurityContext.AllowPrivilegeEscalation {
			c.fail("%s: securityContext.allowPrivilegeEscalation must be false", cw)
		}
		if w.kind == "Deployment" && len(ct.Ports) > 0 && (ct.ReadinessProbe == nil || ct.LivenessProbe == nil) {
			c.fail("%s: serves ports but lacks a readiness or liveness probe", cw)
		}
		for _, p := range []*corev1.Probe{ct.StartupProbe, ct.ReadinessProbe, ct.LivenessProbe} {
			if p == nil {
				continue
			}
			if p.HTTPGet != nil && p.HTTPGet.Port.StrVal != "" && !hasPortName(w.spec, p.HTTPGet.Port.StrVal) {
				c.fail("%s: probe port %q is not a named port", cw, p.HTTPGet.Port.StrVal)
			}
		}
		for _, e := range ct.EnvFrom {
			if e.ConfigMapRef != nil && !configMaps[e.ConfigMapRef.Name] {
				c.fail("%s: envFrom: no ConfigMap %s", cw, e.ConfigMapRef.Name)
			}
			if e.SecretRef != nil && !secrets[e.SecretRef.Name] {
				c.fail("%s: envFrom: no Secret %s", cw, e.SecretRef.Name)
			}
		}
		for _, m := range ct.VolumeMounts {
			if !volumes[m.Name] {
				c.fail("%s: mounts unknown volume %s", cw, m.Name)
			}
		}
	}
}
