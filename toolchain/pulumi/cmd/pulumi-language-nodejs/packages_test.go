package main

import (
	"os"
	"path/filepath"
	"testing"
)

func writeJSON(t *testing.T, path, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

// A program with a hoisted node_modules above it: only the plugins of packages it declares
// (and their dependencies) are required, not every plugin package in node_modules.
func TestRequiredPluginsFollowsDeclaredDependencies(t *testing.T) {
	root := t.TempDir()
	program := filepath.Join(root, "stacks", "app")
	writeJSON(t, filepath.Join(program, "package.json"),
		`{"name":"app","dependencies":{"@pulumi/pulumi":"3","@acme/component":"1"}}`)
	writeJSON(t, filepath.Join(root, "node_modules", "@pulumi", "pulumi", "package.json"),
		`{"name":"@pulumi/pulumi","version":"3.270.0"}`)
	writeJSON(t, filepath.Join(root, "node_modules", "@acme", "component", "package.json"),
		`{"name":"@acme/component","version":"1.0.0","dependencies":{"@pulumi/random":"4"}}`)
	writeJSON(t, filepath.Join(root, "node_modules", "@pulumi", "random", "package.json"),
		`{"name":"@pulumi/random","version":"4.16.0","pulumi":{"resource":true}}`)
	// Installed beside the program's dependencies but not depended on.
	writeJSON(t, filepath.Join(root, "node_modules", "@pulumi", "aws", "package.json"),
		`{"name":"@pulumi/aws","version":"7.48.0","pulumi":{"resource":true,"name":"aws","version":"7.48.0"}}`)

	got, err := requiredPlugins(program)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Name != "random" || got[0].Version != "v4.16.0" {
		t.Fatalf("want only random v4.16.0, got %+v", got)
	}
}

func TestPluginNameAndVersion(t *testing.T) {
	cases := []struct {
		pkg           packageJSON
		name, version string
	}{
		{packageJSON{Name: "@pulumi/kubernetes", Version: "4.34.2"}, "kubernetes", "v4.34.2"},
		{packageJSON{Name: "@acme/thing", Version: "v1.0.0"}, "acme/thing", "v1.0.0"},
	}
	for _, c := range cases {
		if got := pluginName(&c.pkg); got != c.name {
			t.Errorf("pluginName(%s) = %s, want %s", c.pkg.Name, got, c.name)
		}
		if got := pluginVersion(&c.pkg); got != c.version {
			t.Errorf("pluginVersion(%s) = %s, want %s", c.pkg.Name, got, c.version)
		}
	}
	withOverride := packageJSON{Name: "@pulumi/aws", Version: "7.48.0"}
	withOverride.Pulumi.Name, withOverride.Pulumi.Version = "aws", "7.47.0"
	if pluginName(&withOverride) != "aws" || pluginVersion(&withOverride) != "v7.47.0" {
		t.Errorf("the package's pulumi block must win: %+v", withOverride.Pulumi)
	}
}

func TestNoPackageJSONMeansNoPlugins(t *testing.T) {
	got, err := requiredPlugins(t.TempDir())
	if err != nil || len(got) != 0 {
		t.Fatalf("want no plugins and no error, got %+v, %v", got, err)
	}
}
