package probe

import (
	"context"
	"errors"
	"slices"
	"strings"
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

func TestVerify(t *testing.T) {
	const addr = "127.0.0.1:443"
	v10, v11, v12, v13 := platform.VersionTLS10, platform.VersionTLS11, platform.VersionTLS12, platform.VersionTLS13
	legacy := platformtest.Accepting(addr, v10, v11, v12, v13)
	fixed := platformtest.Accepting(addr, v12, v13)
	only12 := platformtest.Accepting(addr, v12)
	tests := []struct {
		name    string
		before  platform.ProbeResult
		seq     []platform.ProbeResult
		wantErr error
		want    string
	}{
		{"fixed after a slow reload", legacy, []platform.ProbeResult{legacy, fixed, fixed, fixed}, nil, ""},
		// Three identical legacy answers from old workers are agreement,
		// not success: Verify keeps going until the new ones answer.
		{"old workers agree first", legacy, []platform.ProbeResult{legacy, legacy, legacy, legacy, fixed, legacy, fixed, fixed, fixed}, nil, ""},
		{"still legacy", legacy, []platform.ProbeResult{legacy}, ErrVerifyFailed, "TLSv1.0 still accepted; TLSv1.1 still accepted"},
		{"lost TLS 1.3", legacy, []platform.ProbeResult{only12}, ErrVerifyFailed, "TLSv1.3 refused, but was accepted before the change"},
		{"down after reload", legacy, []platform.ProbeResult{{Address: addr, Error: "connection refused"}}, ErrVerifyFailed, "no TLS answer"},
		{"not probed before", platform.ProbeResult{}, []platform.ProbeResult{only12}, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fp := &platformtest.Prober{Script: map[string][]platform.ProbeResult{addr: tt.seq}}
			_, err := Verify(context.Background(), fp, platform.ProbeRequest{Address: addr}, tt.before,
				SettleOptions{Interval: time.Millisecond, Timeout: 200 * time.Millisecond})
			if !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if tt.want != "" && !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}
