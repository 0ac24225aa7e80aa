package local

import (
	"context"
	"fmt"

	"github.com/pulumi/pulumi-go-provider/infer"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

var (
	_ = (infer.CustomResource[CommandInputs, CommandOutputs])((*Command)(nil))
	_ = (infer.CustomUpdate[CommandInputs, CommandOutputs])((*Command)(nil))
	_ = (infer.CustomDelete[CommandOutputs])((*Command)(nil))
)

// Create (local/commandController.go @ v1.2.1): a random hex ID from the name; in a preview, or
// without a `create` command, nothing runs and the outputs stay empty.
func (*Command) Create(ctx context.Context, req infer.CreateRequest[CommandInputs]) (infer.CreateResponse[CommandOutputs], error) {
	out := CommandOutputs{CommandInputs: req.Inputs}
	id, err := resource.NewUniqueHex(req.Name, 8, 0)
	if err != nil || req.DryRun || req.Inputs.Create == nil {
		return infer.CreateResponse[CommandOutputs]{ID: id, Output: out}, err
	}
	err = execute(ctx, *req.Inputs.Create, out.BaseInputs, &out.BaseOutputs)
	return infer.CreateResponse[CommandOutputs]{ID: id, Output: out}, err
}

// Update (same file): the new inputs with the previous stdout/stderr (they feed
// PULUMI_COMMAND_STDOUT/STDERR); nothing runs in a preview; `update`, or else `create`, runs.
func (*Command) Update(ctx context.Context, req infer.UpdateRequest[CommandInputs, CommandOutputs]) (infer.UpdateResponse[CommandOutputs], error) {
	out := CommandOutputs{CommandInputs: req.Inputs, BaseOutputs: req.State.BaseOutputs}
	script := req.Inputs.Update
	if script == nil {
		script = req.Inputs.Create
	}
	if req.DryRun || script == nil {
		return infer.UpdateResponse[CommandOutputs]{Output: out}, nil
	}
	err := execute(ctx, *script, out.BaseInputs, &out.BaseOutputs)
	return infer.UpdateResponse[CommandOutputs]{Output: out}, err
}

// Delete (same file): the `delete` command and every other input come from the stored state,
// not from the current program.
func (*Command) Delete(ctx context.Context, req infer.DeleteRequest[CommandOutputs]) (infer.DeleteResponse, error) {
	stored := req.State
	if stored.Delete == nil {
		return infer.DeleteResponse{}, nil
	}
	return infer.DeleteResponse{}, execute(ctx, *stored.Delete, stored.BaseInputs, &stored.BaseOutputs)
}

// Invoke of command:local:run (local/runController.go): runs on every preview and update.
func (*Run) Invoke(ctx context.Context, req infer.FunctionRequest[RunInputs]) (infer.FunctionResponse[RunOutputs], error) {
	out := RunOutputs{RunInputs: req.Input}
	err := execute(ctx, req.Input.Command, out.BaseInputs, &out.BaseOutputs)
	return infer.FunctionResponse[RunOutputs]{Output: out}, err
}

var errAssetsNotServed = fmt.Errorf("stand-in command provider: assetPaths/archivePaths are not served (the program uses neither)")
