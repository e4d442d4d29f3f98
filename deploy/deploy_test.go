// Package deploy_test checks the deployment files as far as this machine
// allows: Kubernetes manifests decoded strictly into the real API types,
// their command lines run through the CLI's own flags, the ConfigMap's
// jobs.yaml validated, and the Terraform example applied for real (twice:
// one export, then no changes). There is no Docker engine or cluster here:
// the Dockerfile is not built and nothing is applied to a cluster.
package deploy_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// buildCLI builds the export binary once per test.
func buildCLI(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "export")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/export").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// decodeStrict decodes a manifest into its API type; an unknown or
// misspelt field is an error, as `kubectl apply --validate=strict` makes it.
func decodeStrict(t *testing.T, file string, into any) {
	t.Helper()
	body, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.UnmarshalStrict(body, into); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
}

func TestKubernetesManifests(t *testing.T) {
	cli := buildCLI(t)
	var cron batchv1.CronJob
	decodeStrict(t, "kubernetes/cronjob.yaml", &cron)
	var indexed batchv1.Job
	decodeStrict(t, "kubernetes/indexed-job.yaml", &indexed)
	var sa corev1.ServiceAccount
	decodeStrict(t, "kubernetes/serviceaccount.yaml", &sa)
	var cm corev1.ConfigMap
	decodeStrict(t, "kubernetes/configmap.yaml", &cm)

	if cron.Spec.ConcurrencyPolicy != batchv1.ForbidConcurrent {
		t.Errorf("the CronJob's concurrencyPolicy is %q, want Forbid", cron.Spec.ConcurrencyPolicy)
	}
	if indexed.Spec.CompletionMode == nil || *indexed.Spec.CompletionMode != batchv1.IndexedCompletion {
		t.Error("the sharded Job is not an Indexed Job: JOB_COMPLETION_INDEX would be unset")
	}
	for name, pod := range map[string]corev1.PodSpec{"cronjob": cron.Spec.JobTemplate.Spec.Template.Spec, "indexed-job": indexed.Spec.Template.Spec} {
		if pod.ServiceAccountName != sa.Name {
			t.Errorf("%s runs as %q, not the service account %q", name, pod.ServiceAccountName, sa.Name)
		}
		c := pod.Containers[0]
		if c.SecurityContext == nil || c.SecurityContext.ReadOnlyRootFilesystem == nil || !*c.SecurityContext.ReadOnlyRootFilesystem ||
			pod.SecurityContext == nil || pod.SecurityContext.RunAsNonRoot == nil || !*pod.SecurityContext.RunAsNonRoot {
			t.Errorf("%s: not a non-root container with a read-only root", name)
		}
		checkCommandLine(t, cli, name, c.Args, cm)
	}
}

// checkCommandLine runs a manifest's command line through the real CLI,
// with its config replaced by the ConfigMap's jobs.yaml pointed at the
// built-in simulator and --dry-run added: flags the CLI does not have, a
// bad --shards, or a config it rejects fail here.
func checkCommandLine(t *testing.T, cli, name string, args []string, cm corev1.ConfigMap) {
	t.Helper()
	i := slices.Index(args, "-c")
	if i < 0 || i+1 >= len(args) {
		t.Fatalf("%s: args %v name no config with -c", name, args)
	}
	dir := t.TempDir()
	cfg := cm.Data["jobs.yaml"]
	for _, p := range []string{"medipim", "nameshield"} {
		cfg = strings.ReplaceAll(cfg, "    provider: "+p+"\n", "    provider: "+p+"\n    base_url: simulator\n")
	}
	for _, secret := range []string{"medipim-key-id", "medipim-key-secret", "nameshield-token"} {
		if err := os.WriteFile(filepath.Join(dir, secret), []byte("demo"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfg = strings.ReplaceAll(cfg, "/run/secrets/export/", dir+"/")
	path := filepath.Join(dir, "jobs.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	run := slices.Clone(args)
	run[i+1] = path
	cmd := exec.Command(cli, append(run, "--dry-run")...)
	cmd.Env = append(os.Environ(), "JOB_COMPLETION_INDEX=0", "AWS_REGION=eu-west-1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Errorf("%s: export %s --dry-run: %v\n%s", name, strings.Join(run, " "), err, stderr.String())
	}
}

// terraform finds the machine's terraform; CI must have it.
func terraform(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("terraform")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("terraform is not installed; CI checks deploy/terraform with it")
		}
		t.Skip("terraform is not installed")
	}
	return bin
}

func tf(t *testing.T, bin, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	// No CLI configuration and no checkpoint calls: CI reaches no registry
	// but the package registries, and the example needs none.
	cmd.Env = append(os.Environ(), "TF_CLI_CONFIG_FILE=/dev/null", "CHECKPOINT_DISABLE=1", "TF_IN_AUTOMATION=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("terraform %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func TestTerraformModulesAreFormatted(t *testing.T) {
	tf(t, terraform(t), "terraform", "fmt", "-check", "-recursive", "-diff", ".")
}

// The example runs the export on the first apply, and a second apply
// with the same jobs.yaml changes nothing and runs nothing.
func TestTerraformExampleAppliesOnceThenNoChanges(t *testing.T) {
	bin := terraform(t)
	cli := buildCLI(t)
	dir := t.TempDir()
	for _, f := range []string{"main.tf", "jobs.yaml"} {
		body, err := os.ReadFile(filepath.Join("terraform/example", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tf(t, bin, dir, "init", "-input=false", "-no-color")
	first := tf(t, bin, dir, "apply", "-auto-approve", "-input=false", "-no-color", "-var", "export_command="+cli)
	if !strings.Contains(first, "Resources: 1 added, 0 changed, 0 destroyed") {
		t.Fatalf("first apply:\n%s", first)
	}
	for _, job := range []string{"medipim", "nameshield"} {
		matches, _ := filepath.Glob(filepath.Join(dir, "out", job, "parquet", "dt=*", "run=*", "_SUCCESS"))
		if len(matches) != 1 {
			t.Errorf("job %s: %d committed runs after the first apply, want 1", job, len(matches))
		}
	}
	summary, err := os.ReadFile(filepath.Join(dir, "export-summary.json"))
	if err != nil || !bytes.Contains(summary, []byte(`"status": "succeeded"`)) {
		t.Errorf("export-summary.json: %v\n%s", err, summary)
	}
	second := tf(t, bin, dir, "apply", "-auto-approve", "-input=false", "-no-color", "-var", "export_command="+cli)
	if !strings.Contains(second, "No changes.") {
		t.Fatalf("second apply changed something:\n%s", second)
	}
	matches, _ := filepath.Glob(filepath.Join(dir, "out", "medipim", "parquet", "dt=*", "run=*", "_SUCCESS"))
	if len(matches) != 1 {
		t.Errorf("the second apply ran the export again: %d committed runs", len(matches))
	}
}
