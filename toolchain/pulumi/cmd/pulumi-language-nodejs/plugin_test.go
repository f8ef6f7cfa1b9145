package main

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// The pack gets the stack the engine configured the way @pulumi/pulumi reads it from the environment.
func TestPolicyEnvCarriesTheStackConfiguration(t *testing.T) {
	stack := &pulumirpc.AnalyzerStackConfigureRequest{
		Project:          "platform-sdk",
		Stack:            "prod",
		DryRun:           true,
		Config:           map[string]string{"platform-sdk:team": "payments", "platform-sdk:token": "s3cr3t"},
		ConfigSecretKeys: []string{"platform-sdk:token"},
	}
	env, err := policyEnv([]string{"PATH=/bin"}, runOptions{typescript: true}, stack)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"PATH=/bin",
		"PULUMI_NODEJS_TYPESCRIPT=true",
		"PULUMI_NODEJS_PROJECT=platform-sdk",
		"PULUMI_NODEJS_STACK=prod",
		"PULUMI_NODEJS_DRY_RUN=true",
		`PULUMI_CONFIG={"platform-sdk:team":"payments","platform-sdk:token":"s3cr3t"}`,
		`PULUMI_CONFIG_SECRET_KEYS=["platform-sdk:token"]`,
	} {
		if !slices.Contains(env, want) {
			t.Errorf("missing %s in %v", want, env)
		}
	}
	for _, e := range env {
		if strings.HasPrefix(e, "PULUMI_NODEJS_ORGANIZATION=") {
			t.Errorf("an empty organization must not be set: %s", e)
		}
	}
}

// Without a configuration (e.g. `pulumi policy publish`) the pack starts with the engine's environment only.
func TestPolicyEnvWithoutStack(t *testing.T) {
	env, err := policyEnv(nil, runOptions{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(env) == 0 {
		t.Fatal("expected the host's environment when the engine sends none")
	}
	for _, e := range env {
		if strings.HasPrefix(e, "PULUMI_NODEJS_STACK=") || strings.HasPrefix(e, "PULUMI_NODEJS_TYPESCRIPT=") {
			t.Errorf("unexpected %s", e)
		}
	}
}

func TestFindPolicyRunnerResolvesFromThePack(t *testing.T) {
	root := t.TempDir()
	pack := filepath.Join(root, "policies", "baseline")
	writeJSON(t, filepath.Join(pack, "package.json"), `{"name":"baseline"}`)
	if _, err := findPolicyRunner(pack); err == nil || !strings.Contains(err.Error(), "npm ci") {
		t.Fatalf("expected an install hint, got %v", err)
	}
	writeJSON(t, filepath.Join(root, "node_modules", "@pulumi", "pulumi", "package.json"),
		`{"name":"@pulumi/pulumi","version":"3.270.0"}`)
	runner, err := findPolicyRunner(pack)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(root, "node_modules", "@pulumi", "pulumi", "cmd", "run-policy-pack"); runner != want {
		t.Fatalf("runner %s, want %s", runner, want)
	}
}
