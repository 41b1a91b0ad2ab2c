// Command pause is the pod sandbox's first process, as Kubernetes' own pause image has: it
// holds the pod's namespaces, reaps the orphans re-parented to it, and exits on SIGINT/SIGTERM.
// Built here because no registry (registry.k8s.io/pause) can be reached.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	signals := make(chan os.Signal, 8)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for s := range signals {
		if s != syscall.SIGCHLD {
			os.Exit(0)
		}
		for {
			pid, err := syscall.Wait4(-1, nil, syscall.WNOHANG, nil)
			if pid <= 0 || err != nil {
				break
			}
		}
	}
}
