package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"

	sdk "github.com/pulumi/pulumi/sdk/v3"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// RunPlugin runs a plugin written in Node.js. The engine asks for it to start a Node.js policy
// pack (kind "analyzer": a folder with PulumiPolicy.yaml, as given to --policy-pack); since the
// engine finds this language host it no longer looks for a pulumi-analyzer-policy launcher.
// Other plugin kinds are not supported: dynamic providers have their own launcher.
func (h *languageHost) RunPlugin(
	req *pulumirpc.RunPluginRequest, server pulumirpc.LanguageRuntime_RunPluginServer,
) error {
	if req.GetKind() != string(apitype.AnalyzerPlugin) {
		return status.Errorf(codes.Unimplemented,
			"pulumi-language-nodejs runs policy packs only, not %q plugins", req.GetKind())
	}
	ctx := server.Context()
	info := req.GetInfo()
	dir := programDir(info, req.GetPwd())
	runner, err := findPolicyRunner(dir)
	if err != nil {
		return err
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return fmt.Errorf("could not find node on the PATH to run the policy pack in %s", dir)
	}

	closer, stdout, stderr, err := rpcutil.MakeRunPluginStreams(server, false)
	if err != nil {
		return err
	}
	defer closer.Close()

	// The engine sends the stack (name, project, config) over gRPC once the plugin is up, but the
	// Node SDK reads them from the environment when the pack starts. The SDK's proxy answers the
	// engine first, then the pack is started with that environment and the proxy forwards the
	// rest of the engine's calls to it.
	proxy, stdout, err := sdk.NewPolicyProxy(ctx, stdout)
	if err != nil {
		return fmt.Errorf("could not start the policy pack proxy: %w", err)
	}
	stack, err := proxy.AwaitConfiguration(ctx)
	if err != nil {
		return fmt.Errorf("could not get the stack configuration for the policy pack: %w", err)
	}
	opts := parseOptions(info)
	env, err := policyEnv(req.GetEnv(), opts, stack)
	if err != nil {
		return err
	}

	args := append([]string{}, opts.nodeargs...)
	// run-policy-pack takes the engine address, then the pack's folder.
	args = append(args, runner)
	args = append(args, req.GetArgs()...)
	args = append(args, dir)

	cmd := exec.CommandContext(ctx, node, args...)
	// Policy packs have always run in their own folder, whatever the program's folder is.
	cmd.Dir = dir
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Start(); err != nil {
		proxy.Abort(err)
		return fmt.Errorf("could not start node for the policy pack in %s: %w", dir, err)
	}
	if err := proxy.Attach(ctx, cmd); err != nil {
		return fmt.Errorf("policy pack in %s: %w", dir, err)
	}
	return closer.Close()
}

// findPolicyRunner locates @pulumi/pulumi's policy pack runner as Node would resolve it from the pack.
func findPolicyRunner(dir string) (string, error) {
	pkg, ok := resolvePackage(dir, "@pulumi/pulumi")
	if !ok {
		return "", fmt.Errorf(
			"@pulumi/pulumi is not installed for the policy pack in %s: install its dependencies (npm ci there)", dir)
	}
	return filepath.Join(pkg, "cmd", "run-policy-pack"), nil
}

// policyEnv is the pack's environment: the engine's (or ours when it sends none), the TypeScript
// options, and the stack the engine configured, the way @pulumi/pulumi reads them.
func policyEnv(
	base []string, opts runOptions, stack *pulumirpc.AnalyzerStackConfigureRequest,
) ([]string, error) {
	env := append([]string{}, base...)
	if len(env) == 0 {
		env = os.Environ()
	}
	add := func(k, v string) {
		if v != "" {
			env = append(env, k+"="+v)
		}
	}
	if opts.typescript {
		add("PULUMI_NODEJS_TYPESCRIPT", "true")
	}
	add("PULUMI_NODEJS_TSCONFIG_PATH", opts.tsconfig)
	if stack == nil {
		return env, nil
	}
	add("PULUMI_NODEJS_ORGANIZATION", stack.GetOrganization())
	add("PULUMI_NODEJS_PROJECT", stack.GetProject())
	add("PULUMI_NODEJS_STACK", stack.GetStack())
	add("PULUMI_NODEJS_DRY_RUN", strconv.FormatBool(stack.GetDryRun()))
	if config := stack.GetConfig(); len(config) > 0 {
		configJSON, err := json.Marshal(config)
		if err != nil {
			return nil, fmt.Errorf("serializing the stack config for the policy pack: %w", err)
		}
		add("PULUMI_CONFIG", string(configJSON))
		secretKeys := append([]string{}, stack.GetConfigSecretKeys()...)
		sort.Strings(secretKeys)
		secretJSON, err := json.Marshal(secretKeys)
		if err != nil {
			return nil, fmt.Errorf("serializing the secret config keys for the policy pack: %w", err)
		}
		add("PULUMI_CONFIG_SECRET_KEYS", string(secretJSON))
	}
	return env, nil
}
