// Command pulumi-language-nodejs is tidegate's Node.js language host for the Pulumi engine.
//
// Upstream ships its host as a separate Go module that the module proxy does not serve, so it
// cannot be built here. This host implements the part of the LanguageRuntime protocol that the
// engine needs to run programs (handshake, plugin discovery, run, plugin info, about and program
// dependencies). The program itself is executed by @pulumi/pulumi's own `cmd/run` entry point, so
// the Node SDK does all the resource work exactly as it does under the upstream host.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/logging"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
)

func main() {
	tracing := flag.String("tracing", "", "Zipkin-compatible tracing endpoint")
	// Accepted for compatibility with the engine's and users' invocations; the options in
	// Pulumi.yaml (runtime.options) take precedence and arrive with each request.
	_ = flag.String("root", "", "project root (unused; the engine sends it with each request)")
	_ = flag.Bool("typescript", true, "run programs with TypeScript support (overridden by runtime options)")
	_ = flag.String("tsconfig", "", "tsconfig.json path (overridden by runtime options)")
	_ = flag.String("nodeargs", "", "extra arguments for node (overridden by runtime options)")
	_ = flag.String("packagemanager", "", "package manager (unused)")
	flag.Parse()
	logging.InitLogging(false, 0, false)

	engineAddress := ""
	if flag.NArg() > 0 {
		engineAddress = flag.Arg(0)
	}

	host := &languageHost{engineAddress: engineAddress, tracing: *tracing}
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, host)
			return nil
		},
	})
	if err != nil {
		fatal(fmt.Errorf("could not start language host RPC server: %w", err))
	}
	// The engine reads the port from the first line of stdout.
	fmt.Printf("%d\n", handle.Port)
	if err := <-handle.Done; err != nil {
		fatal(fmt.Errorf("language host RPC stopped serving: %w", err))
	}
}

func fatal(err error) {
	fmt.Fprintf(os.Stderr, "pulumi-language-nodejs: %v\n", err)
	os.Exit(1)
}

// languageHost implements pulumirpc.LanguageRuntimeServer. Methods it does not implement answer
// Unimplemented, which the engine treats as "use the older protocol" where one exists.
type languageHost struct {
	pulumirpc.UnimplementedLanguageRuntimeServer

	engineAddress string
	tracing       string
}

func (h *languageHost) Handshake(
	_ context.Context, req *pulumirpc.LanguageHandshakeRequest,
) (*pulumirpc.LanguageHandshakeResponse, error) {
	if req.GetEngineAddress() != "" {
		h.engineAddress = req.GetEngineAddress()
	}
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}
