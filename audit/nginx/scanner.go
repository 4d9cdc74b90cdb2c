package nginx

import (
	"context"

	"github.com/tlsfloor/tlsfloor/audit"
)

// Scanner is the nginx audit.Scanner.
type Scanner struct{}

// NewScanner returns the nginx scanner.
func NewScanner() audit.Scanner { return Scanner{} }

// Name implements audit.Scanner.
func (Scanner) Name() string { return "nginx" }

// Scan implements audit.Scanner: the nginx component (status not-found when
// there is no nginx), its findings, and the OpenSSL library nginx uses.
func (Scanner) Scan(ctx context.Context, env *audit.Env) (audit.Result, error) {
	a, err := Analyze(ctx, env)
	if err != nil {
		return audit.Result{}, err
	}
	return audit.ServerResult(a.Component, a.Findings, a.LibraryComponent, a.LibraryFindings), nil
}
