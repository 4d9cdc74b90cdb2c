package probe

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tlsfloor/tlsfloor/platform"
)

// ErrNotSettled means the answers kept changing until the deadline.
var ErrNotSettled = errors.New("probe answers did not settle")

// SettleOptions tune Settle. Zero values take the defaults.
type SettleOptions struct {
	// Agree is how many consecutive identical answers count as settled
	// (default 3).
	Agree int
	// Interval is the pause between probes (default 100 ms): an nginx
	// reload takes about 100 ms to reach every worker, Postfix about 1 s.
	Interval time.Duration
	// Timeout bounds the whole wait when ctx has no earlier deadline
	// (default 10 s).
	Timeout time.Duration
}

func (o SettleOptions) withDefaults() SettleOptions {
	if o.Agree <= 0 {
		o.Agree = 3
	}
	if o.Interval <= 0 {
		o.Interval = 100 * time.Millisecond
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	return o
}

// Settle probes req until opts.Agree consecutive answers accept the same
// versions, and returns the last of them. After a reload old workers keep
// answering for a while, so the first probe cannot be trusted. If the
// deadline passes first it returns the last answer and an error wrapping
// ErrNotSettled.
func Settle(ctx context.Context, p platform.Prober, req platform.ProbeRequest, opts SettleOptions) (platform.ProbeResult, error) {
	opts = opts.withDefaults()
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	var last platform.ProbeResult
	var key string
	streak := 0
	for {
		res, err := p.Probe(ctx, req)
		if err != nil {
			return res, err
		}
		if ctx.Err() != nil && streak > 0 {
			break // a probe cut short by the deadline is no evidence
		}
		k := settleKey(res)
		if k == key {
			streak++
		} else {
			key, streak = k, 1
		}
		last = res
		if streak >= opts.Agree {
			return last, nil
		}
		if !sleep(ctx, opts.Interval) {
			break
		}
	}
	return last, fmt.Errorf("%s: %w after %d matching answers (need %d)", req.Address, ErrNotSettled, streak, opts.Agree)
}

// settleKey is what two answers must share to agree: the accepted
// versions, and whether the target answered at all.
func settleKey(r platform.ProbeResult) string {
	acc := r.Accepted()
	slices.Sort(acc)
	return fmt.Sprint(acc, r.Error != "")
}

// ErrVerifyFailed means a settled probe after a change shows a legacy
// version still accepted, or a modern version lost.
var ErrVerifyFailed = errors.New("live verification failed")

// Problems compares the answers for one address before and after a change
// that should drop SSLv2/SSLv3/TLS 1.0/TLS 1.1: every legacy version still
// accepted is a problem, and so is TLS 1.2 or TLS 1.3 refused where it was
// accepted before. before may be the zero value (not probed): then only
// the legacy check applies, plus "nothing modern accepted".
func Problems(before, after platform.ProbeResult) []string {
	var out []string
	if after.Error != "" {
		return []string{"no TLS answer: " + after.Error}
	}
	acc := after.Accepted()
	for _, v := range acc {
		if v.Legacy() {
			out = append(out, fmt.Sprintf("%s still accepted", v))
		}
	}
	had := before.Accepted()
	for _, v := range []platform.TLSVersion{platform.VersionTLS12, platform.VersionTLS13} {
		if slices.Contains(had, v) && !slices.Contains(acc, v) {
			out = append(out, fmt.Sprintf("%s refused, but was accepted before the change", v))
		}
	}
	if len(had) == 0 && !slices.Contains(acc, platform.VersionTLS12) && !slices.Contains(acc, platform.VersionTLS13) {
		out = append(out, "neither TLSv1.2 nor TLSv1.3 accepted")
	}
	return out
}

// Verify is what `fix --verify` runs after a reload for one address. It
// probes until opts.Agree consecutive answers show no Problems against the
// answer from before the change, and fails only when the deadline passes
// first. Mere agreement is not enough here: right after a reload the old
// workers can give several identical legacy answers in a row. A change
// that did not work therefore costs the whole opts.Timeout before the
// error, which wraps ErrVerifyFailed and lists the last answer's problems.
func Verify(ctx context.Context, p platform.Prober, req platform.ProbeRequest, before platform.ProbeResult, opts SettleOptions) (platform.ProbeResult, error) {
	opts = opts.withDefaults()
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	var last platform.ProbeResult
	var probs []string
	streak := 0
	for {
		res, err := p.Probe(ctx, req)
		if err != nil {
			return res, err
		}
		if ctx.Err() != nil && len(probs) > 0 {
			break // an answer cut short by the deadline is no evidence
		}
		last = res
		if probs = Problems(before, res); len(probs) == 0 {
			if streak++; streak >= opts.Agree {
				return last, nil
			}
		} else {
			streak = 0
		}
		if !sleep(ctx, opts.Interval) {
			break
		}
	}
	if len(probs) == 0 {
		probs = []string{fmt.Sprintf("only %d good answers in a row before the deadline (need %d)", streak, opts.Agree)}
	}
	return last, fmt.Errorf("%s: %w: %s", req.Address, ErrVerifyFailed, strings.Join(probs, "; "))
}

// sleep waits d, or less if ctx ends; it reports whether ctx is still live.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
