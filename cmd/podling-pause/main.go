// Command podling-pause keeps a pod's network namespace alive. The worker starts
// it first in every pod, attached to the pod network, and the pod's other
// containers join its namespace, so they share its IP and reach each other
// on localhost.
//
// It does nothing but wait: on SIGTERM or SIGINT it exits with code 0. As
// PID 1 in a container a process gets no default signal handling, so the
// signals are handled here for "docker stop" to end it at once.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	sig := <-signals
	fmt.Fprintf(os.Stderr, "podling-pause: received %s, exiting\n", sig)
}
