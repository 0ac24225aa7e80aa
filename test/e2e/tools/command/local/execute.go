package local

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"

	p "github.com/pulumi/pulumi-go-provider"
)

// execute runs one command the way local/commandOutputs.go `run` does at v1.2.1:
//   - argv: the interpreter (default /bin/sh -c) followed by the command text;
//   - exec.CommandContext: when the engine cancels (Ctrl-C), the interpreter process alone is
//     killed (SIGKILL); its children are not, and no shell trap runs;
//   - working directory: `dir`, else the provider process's own working directory;
//   - environment: the provider's whole environment, then `environment` on top, then (unless
//     addPreviousOutputInEnv is false) PULUMI_COMMAND_STDOUT/STDERR from the previous outputs when
//     they are not empty;
//   - stdin only when non-empty;
//   - logged streams go to the engine line by line as ephemeral info status messages;
//   - a failure returns "<exit error>: running <command quoted>:\n<stdout and stderr interleaved>";
//   - stdout and stderr are stored with one trailing newline removed.
func execute(ctx context.Context, command string, in BaseInputs, out *BaseOutputs) error {
	if in.AssetPaths != nil || in.ArchivePaths != nil {
		return errAssetsNotServed
	}
	argv := []string{"/bin/sh", "-c"}
	if in.Interpreter != nil && len(*in.Interpreter) > 0 {
		argv = append([]string{}, *in.Interpreter...)
	}
	argv = append(argv, command)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)

	if in.Dir != nil {
		cmd.Dir = *in.Dir
	} else {
		wd, err := os.Getwd()
		if err != nil {
			return err
		}
		cmd.Dir = wd
	}
	cmd.Env = os.Environ()
	if in.Environment != nil {
		for name, value := range *in.Environment {
			cmd.Env = append(cmd.Env, name+"="+value)
		}
	}
	if in.AddPreviousOutputInEnv == nil || *in.AddPreviousOutputInEnv {
		if out.Stdout != "" {
			cmd.Env = append(cmd.Env, "PULUMI_COMMAND_STDOUT="+out.Stdout)
		}
		if out.Stderr != "" {
			cmd.Env = append(cmd.Env, "PULUMI_COMMAND_STDERR="+out.Stderr)
		}
	}
	if in.Stdin != nil && *in.Stdin != "" {
		cmd.Stdin = strings.NewReader(*in.Stdin)
	}

	var stdout, stderr bytes.Buffer
	combined := &lockedBuffer{}
	logR, logW := io.Pipe()
	stdoutTo := []io.Writer{&stdout, combined}
	stderrTo := []io.Writer{&stderr, combined}
	if in.Logging.logs("stdout") {
		stdoutTo = append(stdoutTo, logW)
	}
	if in.Logging.logs("stderr") {
		stderrTo = append(stderrTo, logW)
	}
	cmd.Stdout = io.MultiWriter(stdoutTo...)
	cmd.Stderr = io.MultiWriter(stderrTo...)

	logged := make(chan struct{})
	go func() {
		defer close(logged)
		lines := bufio.NewScanner(logR)
		for lines.Scan() {
			p.GetLogger(ctx).InfoStatus(lines.Text())
		}
	}()
	err := cmd.Run()
	_ = logW.Close()
	<-logged
	if err != nil {
		return fmt.Errorf("%w: running %q:\n%s", err, command, combined.String())
	}
	out.Stdout = strings.TrimSuffix(stdout.String(), "\n")
	out.Stderr = strings.TrimSuffix(stderr.String(), "\n")
	return nil
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(data []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(data)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
