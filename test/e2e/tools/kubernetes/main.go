// One binary for the Kubernetes v1.31.14 control plane the end-to-end tier runs: the API server,
// the controller manager and the scheduler compile the same k8s.io packages, so linking them once
// costs one build instead of three. kubectl is built apart, from upstream's own main
// (k8s.io/kubernetes/cmd/kubectl, test/e2e/tools/build.sh): the steps and the tests start it
// hundreds of times, and alone it starts in about 0.11 CPU-s, within this binary in about 0.18
// (every program's package initialisation runs at each start; measured 2026-12-07).
//
// The program is chosen by the name it is called by (a symlink named kube-apiserver, ...) or, when
// called as anything else, by its first argument (`kube kube-apiserver --etcd-servers=...`).
// Each program's own command constructor does the rest, exactly as its upstream main would.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	_ "time/tzdata" // CronJob time zones, as the upstream API server and controller manager embed

	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"          // --logging-format=json
	_ "k8s.io/component-base/metrics/prometheus/clientgo" // client-go metrics
	_ "k8s.io/component-base/metrics/prometheus/version"  // the version metric
	apiserver "k8s.io/kubernetes/cmd/kube-apiserver/app"
	controllermanager "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	scheduler "k8s.io/kubernetes/cmd/kube-scheduler/app"
)

var programs = map[string]func() int{
	"kube-apiserver":          func() int { return cli.Run(apiserver.NewAPIServerCommand()) },
	"kube-controller-manager": func() int { return cli.Run(controllermanager.NewControllerManagerCommand()) },
	"kube-scheduler":          func() int { return cli.Run(scheduler.NewSchedulerCommand()) },
}

func main() {
	if run, ok := programs[filepath.Base(os.Args[0])]; ok {
		os.Exit(run())
	}
	if len(os.Args) > 1 {
		if run, ok := programs[os.Args[1]]; ok {
			os.Args = os.Args[1:] // the program sees its own name as argv[0]
			os.Exit(run())
		}
	}
	names := make([]string, 0, len(programs))
	for name := range programs {
		names = append(names, name)
	}
	sort.Strings(names)
	fmt.Fprintf(os.Stderr, "usage: %s <program> [args...], or call it by a program's name; programs: %v\n",
		filepath.Base(os.Args[0]), names)
	os.Exit(2)
}
