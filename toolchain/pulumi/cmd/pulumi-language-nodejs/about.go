package main

import (
	"context"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

func (h *languageHost) About(ctx context.Context, _ *pulumirpc.AboutRequest) (*pulumirpc.AboutResponse, error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return &pulumirpc.AboutResponse{}, nil
	}
	out, err := exec.CommandContext(ctx, node, "--version").Output()
	if err != nil {
		return &pulumirpc.AboutResponse{Executable: node}, nil
	}
	return &pulumirpc.AboutResponse{
		Executable: node,
		Version:    strings.TrimPrefix(strings.TrimSpace(string(out)), "v"),
	}, nil
}

// GetProgramDependencies lists the program's direct dependencies with their installed versions.
func (h *languageHost) GetProgramDependencies(
	_ context.Context, req *pulumirpc.GetProgramDependenciesRequest,
) (*pulumirpc.GetProgramDependenciesResponse, error) {
	dir := programDir(req.GetInfo(), req.GetProgram())
	root, ok := findUp(dir, "package.json")
	if !ok {
		return &pulumirpc.GetProgramDependenciesResponse{}, nil
	}
	top, err := readPackageJSON(filepath.Join(root, "package.json"))
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(top.Dependencies))
	for name := range top.Dependencies {
		names = append(names, name)
	}
	sort.Strings(names)
	resp := &pulumirpc.GetProgramDependenciesResponse{}
	for _, name := range names {
		version := top.Dependencies[name]
		if pkgDir, ok := resolvePackage(root, name); ok {
			if p, err := readPackageJSON(filepath.Join(pkgDir, "package.json")); err == nil && p.Version != "" {
				version = p.Version
			}
		}
		resp.Dependencies = append(resp.Dependencies, &pulumirpc.DependencyInfo{Name: name, Version: version})
	}
	return resp, nil
}
