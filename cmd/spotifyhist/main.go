// Command spotifyhist is the spotifyhist daemon and its administration tool.
//
// Run `spotifyhist help` for the commands, and see README.md for the
// configuration variables.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// The first signal starts a clean shutdown; a second one kills at once.
	context.AfterFunc(ctx, stop)
	err := run(ctx, os.Args, os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		var ue usageError
		if !errors.As(err, &ue) || ue.msg != "" {
			fmt.Fprintln(os.Stderr, "spotifyhist:", err)
		}
		os.Exit(exitCode(err))
	}
}
