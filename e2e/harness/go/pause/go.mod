// The pod sandbox's pause program for the local harness's kubelet nodes: a static binary that
// holds the pod's namespaces, reaps orphans and exits on SIGTERM or SIGINT.
module nacre.dev/e2e/harness/go/pause

go 1.26.0
