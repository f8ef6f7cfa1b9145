package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// packageJSON is the part of a package.json this host reads.
type packageJSON struct {
	Name                 string            `json:"name"`
	Version              string            `json:"version"`
	Main                 string            `json:"main"`
	Dependencies         map[string]string `json:"dependencies"`
	OptionalDependencies map[string]string `json:"optionalDependencies"`
	DevDependencies      map[string]string `json:"devDependencies"`
	Pulumi               struct {
		Resource bool   `json:"resource"`
		Name     string `json:"name"`
		Version  string `json:"version"`
		Server   string `json:"server"`
	} `json:"pulumi"`
}

func readPackageJSON(path string) (*packageJSON, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var p packageJSON
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &p, nil
}

// findUp returns the first directory at or above dir that holds rel.
func findUp(dir, rel string) (string, bool) {
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, rel)); err == nil {
			return d, true
		}
		if filepath.Dir(d) == d {
			return "", false
		}
	}
}

// resolvePackage finds a dependency the way Node does: node_modules/<name> in the requiring
// package's folder or any folder above it.
func resolvePackage(from, name string) (string, bool) {
	d, ok := findUp(from, filepath.Join("node_modules", name, "package.json"))
	if !ok {
		return "", false
	}
	return filepath.Join(d, "node_modules", name), true
}

type pluginDep struct {
	Name    string
	Version string
	Server  string
}

// requiredPlugins walks the program's runtime dependency graph (not every package that happens to
// sit in a node_modules folder above it) and returns the resource plugins those packages declare.
// Walking declared dependencies matters when programs share a hoisted node_modules: a program that
// does not depend on @pulumi/aws must not make the engine look for the AWS plugin.
func requiredPlugins(programDir string) ([]pluginDep, error) {
	root, ok := findUp(programDir, "package.json")
	if !ok {
		return nil, nil
	}
	top, err := readPackageJSON(filepath.Join(root, "package.json"))
	if err != nil {
		return nil, err
	}

	seen := map[string]bool{}
	found := map[string]pluginDep{}
	type item struct{ from, name string }
	queue := []item{}
	for _, deps := range []map[string]string{top.Dependencies, top.OptionalDependencies} {
		for name := range deps {
			queue = append(queue, item{root, name})
		}
	}
	for len(queue) > 0 {
		it := queue[0]
		queue = queue[1:]
		dir, ok := resolvePackage(it.from, it.name)
		if !ok || seen[dir] {
			continue
		}
		seen[dir] = true
		p, err := readPackageJSON(filepath.Join(dir, "package.json"))
		if err != nil {
			return nil, err
		}
		if p.Pulumi.Resource {
			dep := pluginDep{Name: pluginName(p), Version: pluginVersion(p), Server: p.Pulumi.Server}
			found[dep.Name+"@"+dep.Version] = dep
		}
		for _, deps := range []map[string]string{p.Dependencies, p.OptionalDependencies} {
			for name := range deps {
				queue = append(queue, item{dir, name})
			}
		}
	}

	out := make([]pluginDep, 0, len(found))
	for _, d := range found {
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name+out[i].Version < out[j].Name+out[j].Version })
	return out, nil
}

func pluginName(p *packageJSON) string {
	if p.Pulumi.Name != "" {
		return p.Pulumi.Name
	}
	// "@pulumi/aws" is plugin "aws"; other scopes keep their scope without the "@".
	if rest, ok := strings.CutPrefix(p.Name, "@pulumi/"); ok {
		return rest
	}
	return strings.TrimPrefix(p.Name, "@")
}

func pluginVersion(p *packageJSON) string {
	v := p.Pulumi.Version
	if v == "" {
		v = p.Version
	}
	if v != "" && !strings.HasPrefix(v, "v") {
		v = "v" + v
	}
	return v
}
