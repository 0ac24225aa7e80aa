// Input and output shapes of command:local:Command and command:local:run, field for field as in
// pulumi/pulumi-command@v1.2.1 provider/pkg/provider/local/base.go, command.go, run.go and
// provider/pkg/provider/common/inputs.go: the infer framework derives the schema and the diff
// from these tags, so they must not differ from the real provider's.
package local

import (
	"github.com/pulumi/pulumi-go-provider/infer"
	"github.com/pulumi/pulumi-go-provider/infer/types"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// ResourceInputs: common/inputs.go. `triggers` is the only replaceOnChanges input.
type ResourceInputs struct {
	Triggers *[]any  `pulumi:"triggers,optional" provider:"replaceOnChanges"`
	Create   *string `pulumi:"create,optional"`
	Update   *string `pulumi:"update,optional"`
	Delete   *string `pulumi:"delete,optional"`
}

// BaseInputs: local/base.go.
type BaseInputs struct {
	Stdin                  *string            `pulumi:"stdin,optional"`
	Logging                *Logging           `pulumi:"logging,optional"`
	Interpreter            *[]string          `pulumi:"interpreter,optional"`
	Dir                    *string            `pulumi:"dir,optional"`
	Environment            *map[string]string `pulumi:"environment,optional"`
	AssetPaths             *[]string          `pulumi:"assetPaths,optional"`
	ArchivePaths           *[]string          `pulumi:"archivePaths,optional"`
	AddPreviousOutputInEnv *bool              `pulumi:"addPreviousOutputInEnv,optional"`
}

// BaseOutputs: local/base.go.
type BaseOutputs struct {
	Stdout  string                            `pulumi:"stdout"`
	Stderr  string                            `pulumi:"stderr"`
	Assets  *map[string]*types.AssetOrArchive `pulumi:"assets,optional"`
	Archive *resource.Archive                 `pulumi:"archive,optional"`
}

// Command is command:local:Command (local/command.go).
type Command struct{}

type CommandInputs struct {
	ResourceInputs
	BaseInputs
}

type CommandOutputs struct {
	CommandInputs
	BaseOutputs
}

// Run is the command:local:run function (local/run.go).
type Run struct{}

type RunInputs struct {
	BaseInputs
	Command string `pulumi:"command"`
}

type RunOutputs struct {
	RunInputs
	BaseOutputs
}

// Logging: local/logging.go; an enum, default (nil) logs both streams.
type Logging string

func (Logging) Values() []infer.EnumValue[Logging] {
	return []infer.EnumValue[Logging]{
		{Name: "stdout", Value: "stdout"},
		{Name: "stderr", Value: "stderr"},
		{Name: "stdoutAndStderr", Value: "stdoutAndStderr"},
		{Name: "none", Value: "none"},
	}
}

func (l *Logging) logs(stream string) bool {
	return l == nil || string(*l) == stream || *l == "stdoutAndStderr"
}
