// for v1.13.9
// github.com/smira/containerd/v2 v2.2.3-0.20260521103442-e05d8ca25f89 (403; the tag's replace of
// containerd/v2): upstream containerd/v2 v2.2.4, the version the tag requires. The fork is the
// containerd 2.2 branch plus a dead-code-elimination fix (talos 2dce8f8d, upstream PR
// containerd#12175); talos dropped it in v1.14 (6b6f7978). talosctl imports only core/content and
// pkg/filters from it.
replace github.com/containerd/containerd/v2 => github.com/containerd/containerd/v2 v2.2.4
// github.com/siderolabs/go-kubernetes v0.2.38 (403): v0.2.39, the next served version. Its only
// change is kubernetes/ssa Apply (upgrade-k8s manifest sync): changes are reported in apply order,
// not map order. kubernetes/upgrade (the upgrade-k8s path check) is unchanged.
replace github.com/siderolabs/go-kubernetes => github.com/siderolabs/go-kubernetes v0.2.39
// go.etcd.io/etcd/etcdutl/v3 v3.6.12 (403; v3.6.13 too): v3.6.14, the next served version; its
// requirements raise the other go.etcd.io/etcd modules to v3.6.14 as well. talosctl uses only its
// snapshot package (`etcd snapshot` status of the downloaded file).
replace go.etcd.io/etcd/etcdutl/v3 => go.etcd.io/etcd/etcdutl/v3 v3.6.14
