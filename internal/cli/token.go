package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/podling/podling/internal/auth"
)

func (a *app) tokenCommand() *cobra.Command {
	return groupCommand("token", "Mint tokens for the cluster's API", a.tokenCreateCommand())
}

func (a *app) tokenCreateCommand() *cobra.Command {
	var secretFile, role, subject, audience string
	var ttl time.Duration
	cmd := &cobra.Command{
		Use:   "create --role ROLE --jwt-secret-file FILE",
		Short: "Sign a token locally with the masters' secret and print it",
		Long: `Sign a JWT with the first secret of the masters' secret file and print
it. Nothing is sent to the cluster. Roles: admin may make every call,
viewer may only read, worker may make the calls a worker makes.`,
		Example: "  podling token create --role viewer --ttl 8h --subject alice --jwt-secret-file jwt.secret",
		Args:    exactArgs(0),
		RunE: a.local(func(_ context.Context, _ []string) error {
			keys, err := auth.LoadKeys(secretFile)
			if err != nil {
				return err
			}
			token, err := keys.Sign(auth.Role(role), subject, audience, ttl, a.now())
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(a.out(), token)
			return err
		}),
	}
	flags := cmd.Flags()
	flags.StringVar(&secretFile, "jwt-secret-file", "", "the masters' HS256 secret file, one secret per line (required)")
	flags.StringVar(&role, "role", "", "role of the token: admin, viewer or worker (required)")
	flags.DurationVar(&ttl, "ttl", 24*time.Hour, "how long the token stays valid, as a duration such as 8h")
	flags.StringVar(&subject, "subject", "", "who the token is for, recorded in its sub claim")
	flags.StringVar(&audience, "jwt-audience", "", "audience the masters require with -jwt-audience, if any")
	_ = cmd.MarkFlagRequired("jwt-secret-file")
	_ = cmd.MarkFlagRequired("role")
	return cmd
}
