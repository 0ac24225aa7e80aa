// Writes the two files the provider's main package embeds, into the current directory (build.sh
// runs it in a scratch copy of this module, never in the repository):
//
//	schema-embed.json            cmd/pulumi-resource-kubernetes/schema.json of the provider module,
//	                             read into the Pulumi schema type and written back with Version set
//	terraform-mapping-embed.json terraform-mapping.json of the same directory, compacted
//
// as upstream's build does (provider cmd/pulumi-resource-kubernetes/generate.go at v4.25.0).
// Usage: go run ./gen <version without v>.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/pulumi/pulumi/pkg/v3/codegen/schema"
)

const providerModule = "github.com/pulumi/pulumi-kubernetes/provider/v4"

func main() {
	if len(os.Args) != 2 || strings.HasPrefix(os.Args[1], "v") {
		fail(fmt.Errorf("usage: gen <version without a leading v>"))
	}
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", providerModule).Output()
	if err != nil {
		fail(fmt.Errorf("locating %s: %w", providerModule, err))
	}
	dir := filepath.Join(strings.TrimSpace(string(out)), "cmd", "pulumi-resource-kubernetes")

	var spec schema.PackageSpec
	read(filepath.Join(dir, "schema.json"), &spec)
	spec.Version = os.Args[1]
	write("schema-embed.json", spec)

	var mapping any
	read(filepath.Join(dir, "terraform-mapping.json"), &mapping)
	write("terraform-mapping-embed.json", mapping)
}

func read(path string, into any) {
	data, err := os.ReadFile(path)
	if err == nil {
		err = json.Unmarshal(data, into)
	}
	if err != nil {
		fail(fmt.Errorf("%s: %w", path, err))
	}
}

func write(path string, value any) {
	data, err := json.Marshal(value)
	if err == nil {
		err = os.WriteFile(path, data, 0o600)
	}
	if err != nil {
		fail(fmt.Errorf("%s: %w", path, err))
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "gen:", err)
	os.Exit(1)
}
