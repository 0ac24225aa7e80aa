// The fakes' native client (test fixture). A test run starts the fake server (test/fakes/lib/
// server.js): Node.js processes that have the fakes loaded once and run call after call. This
// client stands for talosctl, talosctl-v1.NN, kubectl, op and curl (a link under each name, first
// on the PATH of the scripts a test runs): it hands its argv, environment, working directory and
// pid to the server at $FAKE_SERVER_SOCKET, writes the call's stdout and stderr, and exits with the
// call's status, so a script sees what the fake as a process of its own (test/fakes/bin/<tool>)
// would print and return. Its umask goes too: the files a call writes get the modes they would.
// It starts in about a millisecond where a Node.js process takes 40 ms and more.
//
// A signal the client gets (SIGTERM, SIGINT, SIGHUP, SIGQUIT: what a watchdog, the engine or a
// shell sends) is passed on to the process running the call: a fake in a real hang ends with its
// handler's message and status; any other call dies of it, and then this client dies of the same
// signal. The client catches these signals even when its caller had them ignored (a background
// job's SIGINT), as the fake's own Node.js process did: Node.js sets every inherited disposition
// but SIGKILL, SIGSTOP, SIGPIPE and SIGXFSZ back to the default as it starts (src/node.cc,
// ResetSignalHandlers: "Restore signal dispositions, the parent process may have changed them").
// When the client itself is killed, its connection closes and the server kills the call.
// No fake reads its stdin (test/fakes/lib: none reads fd 0), so stdin is not passed on.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"
)

type request struct {
	Argv0 string   `json:"argv0"`
	Args  []string `json:"args"`
	Env   []string `json:"env"`
	Cwd   string   `json:"cwd"`
	Pid   int      `json:"pid"`
	Umask int      `json:"umask"`
}

type reply struct {
	Stdout []byte `json:"stdout"`
	Stderr []byte `json:"stderr"`
	Code   int    `json:"code"`
	Signal string `json:"signal"`
}

var forwarded = map[os.Signal]string{
	syscall.SIGTERM: "SIGTERM",
	syscall.SIGINT:  "SIGINT",
	syscall.SIGHUP:  "SIGHUP",
	syscall.SIGQUIT: "SIGQUIT",
}

func fail(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "fake client: "+format+"\n", a...)
	os.Exit(70)
}

func main() {
	socket := os.Getenv("FAKE_SERVER_SOCKET")
	if socket == "" {
		fail("FAKE_SERVER_SOCKET is not set (the fake server runs the fakes: test/fakes/lib/server.js)")
	}
	cwd, err := os.Getwd()
	if err != nil {
		fail("working directory: %v", err)
	}
	// Signals are caught before the call is sent: none that arrives while it runs is lost.
	signals := make(chan os.Signal, 8)
	for s := range forwarded {
		signal.Notify(signals, s)
	}
	conn, err := net.Dial("unix", socket)
	if err != nil {
		fail("the fake server at %s: %v", socket, err)
	}
	// The umask is read by setting it: set it back at once.
	umask := syscall.Umask(0)
	syscall.Umask(umask)
	req, err := json.Marshal(request{Argv0: os.Args[0], Args: os.Args[1:], Env: os.Environ(), Cwd: cwd, Pid: os.Getpid(), Umask: umask})
	if err != nil {
		fail("%v", err)
	}
	if _, err := conn.Write(append(req, '\n')); err != nil {
		fail("sending the call: %v", err)
	}
	go func() {
		for s := range signals {
			// The server passes it on to the process running this call.
			fmt.Fprintf(conn, "{\"signal\":%q}\n", forwarded[s])
		}
	}()
	var r reply
	if err := json.NewDecoder(bufio.NewReader(conn)).Decode(&r); err != nil {
		fail("the fake server's answer: %v", err)
	}
	os.Stdout.Write(r.Stdout)
	os.Stderr.Write(r.Stderr)
	if r.Signal != "" {
		for s, name := range forwarded {
			if name == r.Signal {
				// Die of the signal the call died of, as the fake's own process did.
				signal.Reset(s)
				_ = syscall.Kill(os.Getpid(), s.(syscall.Signal))
				time.Sleep(time.Second)
				os.Exit(128 + int(s.(syscall.Signal)))
			}
		}
		fail("the call ended by an unknown signal %s", r.Signal)
	}
	os.Exit(r.Code)
}
