// for v1.12.6
// github.com/siderolabs/go-blockdevice/v2 v2.0.26 (403): v2.0.27, the next served version. Same go.mod;
// it changes only LUKS header handling (blkid, encryption), which talosctl uses in `cluster create`.
replace github.com/siderolabs/go-blockdevice/v2 => github.com/siderolabs/go-blockdevice/v2 v2.0.27
