package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/pulumi/pulumi/sdk/v3/go/common/version"
)

// exitAfterLoggedError is the exit code @pulumi/pulumi's cmd/run uses after it has already
// reported the error through the engine; the engine must then not print a second error.
const exitAfterLoggedError = 32

func (h *languageHost) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version.Version}, nil
}

func programDir(info *pulumirpc.ProgramInfo, fallback string) string {
	if info != nil && info.GetProgramDirectory() != "" {
		return info.GetProgramDirectory()
	}
	return fallback
}

func (h *languageHost) GetRequiredPlugins(
	_ context.Context, req *pulumirpc.GetRequiredPluginsRequest,
) (*pulumirpc.GetRequiredPluginsResponse, error) {
	deps, err := requiredPlugins(programDir(req.GetInfo(), req.GetProgram()))
	if err != nil {
		return nil, err
	}
	resp := &pulumirpc.GetRequiredPluginsResponse{}
	for _, d := range deps {
		resp.Plugins = append(resp.Plugins, &pulumirpc.PluginDependency{
			Name: d.Name, Kind: "resource", Version: d.Version, Server: d.Server,
		})
	}
	return resp, nil
}

// runOptions are the Pulumi.yaml runtime options this host honours.
type runOptions struct {
	typescript bool
	tsconfig   string
	nodeargs   []string
}

func parseOptions(info *pulumirpc.ProgramInfo) runOptions {
	opts := runOptions{typescript: true}
	if info == nil || info.GetOptions() == nil {
		return opts
	}
	m := info.GetOptions().AsMap()
	if v, ok := m["typescript"].(bool); ok {
		opts.typescript = v
	}
	if v, ok := m["tsconfig"].(string); ok {
		opts.tsconfig = v
	}
	if v, ok := m["nodeargs"].(string); ok && strings.TrimSpace(v) != "" {
		opts.nodeargs = strings.Fields(v)
	}
	return opts
}

// findRunner locates @pulumi/pulumi's program runner as Node would resolve it from the program.
func findRunner(dir string) (string, error) {
	pkg, ok := resolvePackage(dir, "@pulumi/pulumi")
	if !ok {
		return "", fmt.Errorf("@pulumi/pulumi is not installed for the program in %s: run npm install there", dir)
	}
	return filepath.Join(pkg, "cmd", "run"), nil
}

func (h *languageHost) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	info := req.GetInfo()
	dir := programDir(info, req.GetPwd())
	runner, err := findRunner(dir)
	if err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return &pulumirpc.RunResponse{Error: "could not find node on the PATH"}, nil
	}
	opts := parseOptions(info)

	entry := req.GetProgram()
	if info != nil && info.GetEntryPoint() != "" {
		entry = info.GetEntryPoint()
	}
	if entry == "" {
		entry = "."
	}

	args := append([]string{}, opts.nodeargs...)
	args = append(args, runner)
	add := func(k, v string) {
		if v != "" {
			args = append(args, "--"+k, v)
		}
	}
	add("monitor", req.GetMonitorAddress())
	add("engine", h.engineAddress)
	add("organization", req.GetOrganization())
	add("project", req.GetProject())
	if info != nil {
		add("root-directory", info.GetRootDirectory())
	}
	add("stack", req.GetStack())
	add("pwd", dir)
	if req.GetDryRun() {
		args = append(args, "--dry-run")
	}
	add("parallel", fmt.Sprint(req.GetParallel()))
	add("tracing", h.tracing)
	args = append(args, entry)
	args = append(args, req.GetArgs()...)

	env, err := runEnv(req, opts)
	if err != nil {
		return nil, err
	}

	cmd := exec.CommandContext(ctx, node, args...)
	cmd.Dir = dir
	cmd.Stdout = os.Stdout
	cmd.Stderr = os.Stderr
	cmd.Env = env
	if err := cmd.Run(); err != nil {
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			if exitErr.ExitCode() == exitAfterLoggedError {
				return &pulumirpc.RunResponse{Bail: true}, nil
			}
			return &pulumirpc.RunResponse{
				Error: fmt.Sprintf("Program exited with non-zero exit code: %d", exitErr.ExitCode()),
			}, nil
		}
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("could not start node: %v", err)}, nil
	}
	return &pulumirpc.RunResponse{}, nil
}

// runEnv passes config the way @pulumi/pulumi reads it: PULUMI_CONFIG holds every key and value,
// PULUMI_CONFIG_SECRET_KEYS names the ones the program must treat as secrets.
func runEnv(req *pulumirpc.RunRequest, opts runOptions) ([]string, error) {
	config := req.GetConfig()
	if config == nil {
		config = map[string]string{}
	}
	configJSON, err := json.Marshal(config)
	if err != nil {
		return nil, fmt.Errorf("serializing config: %w", err)
	}
	secretKeys := append([]string{}, req.GetConfigSecretKeys()...)
	sort.Strings(secretKeys)
	secretJSON, err := json.Marshal(secretKeys)
	if err != nil {
		return nil, fmt.Errorf("serializing secret keys: %w", err)
	}
	env := append(os.Environ(),
		"PULUMI_CONFIG="+string(configJSON),
		"PULUMI_CONFIG_SECRET_KEYS="+string(secretJSON),
	)
	if opts.typescript {
		env = append(env, "PULUMI_NODEJS_TYPESCRIPT=true")
	}
	if opts.tsconfig != "" {
		env = append(env, "PULUMI_NODEJS_TSCONFIG_PATH="+opts.tsconfig)
	}
	return env, nil
}
