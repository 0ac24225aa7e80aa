// for v1.14.1
// github.com/siderolabs/ethtool v0.6.0-sidero (403; the tag's replace of mdlayher/ethtool): upstream
// mdlayher/ethtool v0.6.1, the version the tag requires. The fork adds ethtool APIs that only the
// node's network controllers call; talosctl reaches ethtool only through pkg/machinery/nethelpers,
// which takes the kernel's constants (duplex, port, wake-on-LAN modes) for YAML enums.
replace github.com/mdlayher/ethtool => github.com/mdlayher/ethtool v0.6.1
// github.com/smira/siv-go v0.0.0-20260706144621-2093d2730928 (403; the tag's replace of
// secure-io/siv-go, a fork that disables its assembly implementation): upstream secure-io/siv-go
// at the version the tag requires. Only the node's NTS time sync uses it; talosctl does not.
replace github.com/secure-io/siv-go => github.com/secure-io/siv-go v0.0.0-20180922214919-5ff40651e2c4
// github.com/cosi-project/runtime v1.16.3 (403; v1.16.4 and v1.17.0 too): v1.16.2, the nearest
// served version below, which talos v1.14.0-beta.0 to v1.14.0-rc.1 required. What v1.16.3 changed
// could not be read (it is newer than the source mirror). CLIENT side: talosctl uses it for resource
// definitions and the COSI state gRPC client (`get`, `edit`, watching resources).
replace github.com/cosi-project/runtime => github.com/cosi-project/runtime v1.16.2
// github.com/jsimonetti/rtnetlink/v2 v2.2.1-0.20260802200809-43bafec815b3 (403; the code-identical
// v2.2.1-0.20260714114318-c87a4183a51a too): v2.3.0, the next served version. Against 43bafec it
// decodes a link's permanent address and changes the VLAN protocol constants and their byte order in
// its driver package, which talosctl does not import (it reads only operational-state constants).
// Its requirements raise golang.org/x/sync to v0.24.0 and golang.org/x/sys to v0.49.0.
replace github.com/jsimonetti/rtnetlink/v2 => github.com/jsimonetti/rtnetlink/v2 v2.3.0
