package probe

import (
	"context"
	"slices"
	"sync"

	"github.com/tlsfloor/tlsfloor/platform"
)

// Finding the DHE suites without making the server sign.
//
// Offer-and-remove learns a suite only from a ServerHello, and OpenSSL
// builds the whole flight (ServerHello, Certificate, the signed
// ServerKeyExchange) before it sends any of it. Each DHE pick therefore
// costs the server a DH key generation and an RSA signature: 0.54 ms of
// CPU on the nginx fixture against 0.32 ms for ECDHE and 0.04 ms for a
// refusal (BenchmarkHandshakeCost). On a server with DH parameters the
// DHE picks were half of the server's work in an enumeration.
//
// A server that requires a common ALPN protocol gives a cheaper answer.
// OpenSSL (1.1.1 and later; statem_srvr.c: "Has to be done after SNI and
// cipher negotiation (HTTP/2 restricts permitted ciphers)") selects the
// cipher suite first and calls the ALPN callback afterwards, and nginx's
// callback (since 1.21.4, against the ALPACA attack; testssl/testssl.sh
// issue 2410) rejects a hello whose protocols it does not speak. So a
// hello that offers one suite and only the protocol checkProtocol gets
// either a refusal of the suite (handshake_failure) or
// no_application_protocol, which means the suite passed selection: the
// server would have chosen it. That answer costs the server 0.05-0.06 ms.
//
// The answer means this only where the server behaves in that order, so
// it is believed only after the server has shown, in the same version,
// both halves of it:
//   - a refusal with checkProtocol, so ALPN is not checked before the
//     suites (Go's crypto/tls, for one, answers no_application_protocol
//     first, whatever is offered);
//   - and, if every DHE suite is refused, no refusal of a suite it
//     accepts (the version probe's pick) with checkProtocol, so a refusal
//     is about the suites and not the protocol.
//
// A server that ignores ALPN (Postfix, Apache with its fallback protocol)
// simply answers with a ServerHello, which is an answer too. Whatever
// is not settled this way is enumerated by offer-and-remove, so the lists
// never depend on the shortcut working; only the server's CPU does.
//
// Which DHE suites are checked one by one is guessed from the suites the
// chains found: a server that accepts ECDHE or RSA key exchange with a
// bulk cipher usually accepts DHE with the same cipher and authentication.
// The rest are asked in one hello, and offered to a chain only if that
// hello passes selection.

// checkable reports whether v's hellos carry extensions, and so ALPN.
func checkable(v platform.TLSVersion) bool {
	return v >= platform.VersionTLS10 && v <= platform.VersionTLS12
}

// splitDHE takes the ephemeral finite-field DH suites out of order,
// keeping both lists in order.
func splitDHE(order []uint16) (rest, dhe []uint16) {
	for _, c := range order {
		if s, ok := LookupSuite(c); ok && s.Kx == "DHE" {
			dhe = append(dhe, c)
		} else {
			rest = append(rest, c)
		}
	}
	return rest, dhe
}

// selected reports whether o shows that the server selected one of the
// offered suites: a ServerHello with one of them, or, in a hello that
// offered checkProtocol, no_application_protocol.
func selected(o outcome, v platform.TLSVersion, offered []uint16) bool {
	if o.accepted {
		return o.version == v && slices.Contains(offered, o.suite)
	}
	return isAlert(o.err, 120)
}

// refused reports whether o is the server turning down the offered suites:
// handshake_failure or insufficient_security, the alerts OpenSSL sends
// when no offered suite is acceptable.
func refused(o outcome) bool {
	return !o.accepted && (isAlert(o.err, 40) || isAlert(o.err, 71))
}

// dheCheck is a version's question about its DHE suites, asked while the
// chains run.
type dheCheck struct {
	suites []uint16
	wg     sync.WaitGroup
	// pending is set when the one hello with every DHE suite got
	// no_application_protocol: the answer needs the chains' results.
	// Otherwise found is the answer.
	pending bool
	found   []uint16
}

// startDHECheck offers every DHE suite with checkProtocol, alongside the
// chains: on a server without DH parameters this one refused hello is
// all the DHE suites cost. Where the answer settles the question, or
// shows that the check does not work here, the rest is done at once, in
// parallel with the chains.
func (t *target) startDHECheck(ctx context.Context, v platform.TLSVersion, known uint16, dhe []uint16) *dheCheck {
	d := &dheCheck{suites: dhe}
	d.wg.Go(func() {
		all := t.check(ctx, v, dhe)
		switch {
		case refused(all):
			// No DHE suite passed selection, unless the server refuses
			// checkProtocol itself: then it refuses a suite it accepts too.
			if !selected(t.check(ctx, v, []uint16{known}), v, []uint16{known}) {
				d.found = t.offerAndRemove(ctx, v, dhe)
			}
		case all.accepted && selected(all, v, dhe):
			// The server ignores ALPN and picked a suite: go on from
			// there the usual way.
			i := slices.Index(dhe, all.suite)
			d.found = append([]uint16{all.suite}, t.offerAndRemove(ctx, v, slices.Delete(slices.Clone(dhe), i, i+1))...)
		case isAlert(all.err, 120):
			d.pending = true
		default:
			d.found = t.offerAndRemove(ctx, v, dhe) // an odd answer
		}
	})
	return d
}

// check offers suites with checkProtocol.
func (t *target) check(ctx context.Context, v platform.TLSVersion, suites []uint16) outcome {
	return t.handshake(ctx, hello{version: v, suites: suites, serverName: t.serverName, alpnCheck: true}, false)
}

// finish returns the accepted DHE suites, given everything else the
// version accepts and a list it refused (nil if none is known).
func (d *dheCheck) finish(ctx context.Context, t *target, v platform.TLSVersion, accepted, refusedOffer []uint16) []uint16 {
	d.wg.Wait()
	if !d.pending {
		return d.found
	}

	// no_application_protocol: some DHE suite passed selection, if the
	// server selects first. Check the likely ones one by one and the rest
	// together, all at once.
	var likely, rest []uint16
	for _, c := range d.suites {
		if sameCipherAs(c, accepted) {
			likely = append(likely, c)
		} else {
			rest = append(rest, c)
		}
	}
	answers := make([]outcome, len(likely))
	var restOut outcome
	var wg sync.WaitGroup
	if len(rest) > 0 {
		wg.Go(func() { restOut = t.check(ctx, v, rest) })
	}
	for i, c := range likely {
		wg.Go(func() { answers[i] = t.check(ctx, v, []uint16{c}) })
	}
	wg.Wait()
	// The refused rest shows that the server selects before it checks
	// ALPN; failing that, a list it refused must stay refused.
	calibrated := len(rest) > 0 && refused(restOut)
	if !calibrated && refusedOffer != nil {
		calibrated = refused(t.check(ctx, v, refusedOffer))
	}
	if !calibrated {
		return t.offerAndRemove(ctx, v, d.suites)
	}
	var found, unsure []uint16
	for i, c := range likely {
		switch {
		case selected(answers[i], v, []uint16{c}):
			found = append(found, c)
		case !refused(answers[i]):
			unsure = append(unsure, c)
		}
	}
	if len(rest) > 0 && !refused(restOut) {
		unsure = append(unsure, rest...)
	}
	if len(found) == 0 && len(unsure) == 0 {
		// Each part refused although the whole passed selection: this
		// server does not behave as assumed.
		return t.offerAndRemove(ctx, v, d.suites)
	}
	if len(unsure) > 0 {
		found = append(found, t.offerAndRemove(ctx, v, unsure)...)
	}
	return found
}

// sameCipherAs reports whether an accepted suite has c's bulk cipher and
// authentication.
func sameCipherAs(c uint16, accepted []uint16) bool {
	s, ok := LookupSuite(c)
	if !ok {
		return false
	}
	return slices.ContainsFunc(accepted, func(a uint16) bool {
		as, ok := LookupSuite(a)
		return ok && as.Enc == s.Enc && as.Auth == s.Auth
	})
}

// offerAndRemove is the plain enumeration of suites: offer them all,
// remove the pick, repeat until the server refuses.
func (t *target) offerAndRemove(ctx context.Context, v platform.TLSVersion, suites []uint16) []uint16 {
	var found []uint16
	for _, c := range chunks(slices.Clone(suites)) {
		left := slices.Clone(c)
		for len(left) > 0 && ctx.Err() == nil {
			o := t.handshake(ctx, hello{version: v, suites: left, serverName: t.serverName}, false)
			j := -1
			if o.accepted && o.version == v {
				j = slices.Index(left, o.suite)
			}
			if j < 0 {
				break
			}
			found = append(found, o.suite)
			left = slices.Delete(left, j, j+1)
		}
	}
	return found
}
