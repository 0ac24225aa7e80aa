// etcd v3.6.17 for the end-to-end tier's control plane. The etcd server's main package lives in
// the repository's root module (go.etcd.io/etcd/v3), which the Go module proxy refuses (403); its
// whole body is a call of etcdmain.Main, the entry point the server module exports, made here.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
