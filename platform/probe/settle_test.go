package probe

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/tlsfloor/tlsfloor/platform"
	"github.com/tlsfloor/tlsfloor/platform/platformtest"
)

func TestSettle(t *testing.T) {
	const addr = "127.0.0.1:443"
	old := platformtest.Accepting(addr, platform.VersionTLS10, platform.VersionTLS12)
	fixed := platformtest.Accepting(addr, platform.VersionTLS12, platform.VersionTLS13)
	tests := []struct {
		name    string
		seq     []platform.ProbeResult
		wantErr bool
		want    []platform.TLSVersion
		probes  int
	}{
		{"stable at once", []platform.ProbeResult{fixed}, false, []platform.TLSVersion{platform.VersionTLS12, platform.VersionTLS13}, 3},
		// An old worker answers between new ones: the streak restarts.
		{"old worker interleaved", []platform.ProbeResult{old, fixed, old, fixed}, false, []platform.TLSVersion{platform.VersionTLS12, platform.VersionTLS13}, 6},
		{"never settles", nil, true, nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.wantErr {
				// An endless flip-flop between old and new workers.
				for len(tt.seq) < 200 {
					tt.seq = append(tt.seq, old, fixed)
				}
			}
			fp := &platformtest.Prober{Script: map[string][]platform.ProbeResult{addr: tt.seq}}
			res, err := Settle(context.Background(), fp, platform.ProbeRequest{Address: addr},
				SettleOptions{Agree: 3, Interval: time.Millisecond, Timeout: 200 * time.Millisecond})
			if tt.wantErr {
				if !errors.Is(err, ErrNotSettled) {
					t.Fatalf("err = %v, want ErrNotSettled", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(res.Accepted(), tt.want) {
				t.Errorf("accepted %v, want %v", res.Accepted(), tt.want)
			}
			if len(fp.Requests) != tt.probes {
				t.Errorf("%d probes, want %d", len(fp.Requests), tt.probes)
			}
		})
	}
}
