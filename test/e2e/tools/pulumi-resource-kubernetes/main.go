// pulumi-resource-kubernetes v4.25.0. Upstream's main package embeds two files that its build
// generates first (schema-embed.json: the provider schema stamped with the release version;
// terraform-mapping-embed.json) and are not in the module; so this package does the same with
// the files ./gen writes beside it in build.sh's scratch copy of this directory (never here).
package main

import (
	_ "embed"

	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider"
	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version"
)

//go:embed schema-embed.json
var schema []byte

//go:embed terraform-mapping-embed.json
var terraformMapping []byte

func main() {
	// version.Version is set by the build's -ldflags, as upstream's Makefile sets it.
	provider.Serve("kubernetes", version.Version, schema, terraformMapping)
}
