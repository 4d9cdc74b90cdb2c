package nginx

import (
	"context"

	"github.com/tlsfloor/tlsfloor/audit"
)

// Analyze finds nginx on the host described by env, parses its config and
// evaluates it. It returns Found=false (and a not-found component) when
// there is no nginx, and a *audit.ConfigError when the config cannot be
// read with certainty.
func Analyze(ctx context.Context, env *audit.Env) (*Analysis, error) {
	d, err := discover(ctx, env)
	if err != nil {
		return nil, err
	}
	if !d.found() {
		return notFound(d), nil
	}
	t, err := load(env.FS, d.conf)
	if err != nil {
		return nil, err
	}
	return evaluate(env, d, t)
}
