// A stand-in for pulumi-resource-command v1.2.1, used only by the end-to-end tests.
//
// The Go module proxy reachable here refuses github.com/pulumi/pulumi-command/provider at every
// version (HTTP 403), so the real provider cannot be built. This program serves the same package
// ("command"), version (1.2.1), resource `command:local:Command` and function `command:local:run`
// through the real pulumi-go-provider v1.3.0 `infer` framework, which derives the schema, Check,
// Diff (including the engine-side ignoreChanges handling) and the gRPC server from the same input
// and output structs as the real provider. Only the bodies of Create/Update/Delete/Invoke are
// written here; each follows pulumi/pulumi-command@v1.2.1 provider/pkg/provider/local (cited beside
// each behaviour). Remote commands and asset/archive globbing are not served: the program uses
// neither.
package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/infer"

	"homeops.test/tools/command/local"
)

// Version is set with -ldflags "-X main.Version=v1.2.1" (the real provider sets
// github.com/pulumi/pulumi-command/provider/pkg/version.Version the same way).
var Version = "v1.2.1"

func main() {
	provider := infer.Provider(infer.Options{
		Resources: []infer.InferredResource{infer.Resource(&local.Command{})},
		Functions: []infer.InferredFunction{infer.Function(&local.Run{})},
	})
	// provider/cmd/pulumi-resource-command/main.go @ v1.2.1: package name "command", version
	// without its leading "v".
	if err := p.RunProvider(context.Background(), "command", strings.TrimPrefix(Version, "v"), provider); err != nil {
		fmt.Fprintf(os.Stderr, "Error: %s", err.Error())
		os.Exit(1)
	}
}
