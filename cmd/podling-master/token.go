package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/podling/podling/internal/auth"
	"github.com/podling/podling/internal/flagenv"
)

// runToken handles `podling-master token create`: it mints a token from
// the secret file and prints it.
func runToken(args []string) error {
	if len(args) == 0 || args[0] != "create" {
		return errors.New("usage: podling-master token create --role admin|viewer|worker [--ttl 24h] [--subject NAME]")
	}
	fs := flag.NewFlagSet("podling-master token create", flag.ContinueOnError)
	secretFile := fs.String("jwt-secret-file", "", "file holding the HS256 secret the masters use (required)")
	role := fs.String("role", "", "role of the token: admin, viewer or worker (required)")
	ttl := fs.Duration("ttl", 24*time.Hour, "how long the token stays valid")
	subject := fs.String("subject", "", "who the token is for, recorded in its sub claim")
	audience := fs.String("jwt-audience", "", "audience the masters require, if any")
	fs.Usage = flagenv.Usage(fs, "podling-master token create mints a JWT from the masters' secret file and prints it.")
	if err := flagenv.Parse(fs, args[1:]); err != nil {
		return err
	}
	if *secretFile == "" || *role == "" {
		return errors.New("--jwt-secret-file and --role are required")
	}
	keys, err := auth.LoadKeys(*secretFile)
	if err != nil {
		return err
	}
	token, err := keys.Sign(auth.Role(*role), *subject, *audience, *ttl, time.Now())
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(os.Stdout, token)
	return err
}
