package probe

import (
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tlsfloor/tlsfloor/platform"
)

// alpnMode is how a fake server treats a hello whose ALPN protocols it
// does not speak.
type alpnMode int

const (
	alpnAfterSuite alpnMode = iota // OpenSSL with nginx: suite selection first, then no_application_protocol
	alpnFirst                      // Go's crypto/tls: no_application_protocol before suite selection
	alpnIgnored                    // Postfix: no ALPN callback, a ServerHello as usual
	alpnRefused                    // a server that answers a mismatch with handshake_failure
)

// dheServer is a client-order server that accepts the suites in accept
// per client_version and counts the ServerHellos it sends for DHE suites,
// each of which would have cost a real server a signature.
type dheServer struct {
	mode   alpnMode
	accept map[uint16][]uint16
	mu     sync.Mutex
	signed map[uint16]int
}

func (s *dheServer) serve(c net.Conn) {
	ch, err := readClientHello(c)
	if err != nil {
		return
	}
	accept, ok := s.accept[ch.version]
	if ch.sslv2 || ch.v13 || !ok {
		_, _ = c.Write(record(recAlert, []byte{2, 70}))
		return
	}
	mismatch := len(ch.alpn) > 0 && !slices.Contains(ch.alpn, "http/1.1")
	if mismatch && s.mode == alpnFirst {
		_, _ = c.Write(record(recAlert, []byte{2, 120}))
		return
	}
	if mismatch && s.mode == alpnRefused {
		_, _ = c.Write(record(recAlert, []byte{2, 40}))
		return
	}
	for _, suite := range ch.suites {
		if !slices.Contains(accept, suite) {
			continue
		}
		if mismatch && s.mode == alpnAfterSuite {
			_, _ = c.Write(record(recAlert, []byte{2, 120}))
			return
		}
		if st, _ := LookupSuite(suite); st.Kx == "DHE" {
			s.mu.Lock()
			s.signed[suite]++
			s.mu.Unlock()
		}
		_, _ = c.Write(record(recHandshake, serverHelloMsg(ch.version, suite, nil)))
		return
	}
	_, _ = c.Write(record(recAlert, []byte{2, 40}))
}

// TestDHECheck: whatever a server does with an ALPN protocol it does not
// speak, the enumeration finds exactly the suites it accepts; only a
// server that selects the suite before it checks ALPN is spared the DHE
// signatures, except for a DHE suite whose cipher no other accepted suite
// has (it is found by offer-and-remove).
func TestDHECheck(t *testing.T) {
	accept := map[uint16][]uint16{
		0x0303: {
			0xC02F, 0xC030, 0xC013, 0xC014, // ECDHE_RSA AES-GCM and AES-CBC-SHA
			0x009C, 0x002F, // RSA key exchange
			0x009E, 0x0033, // DHE with the ciphers of accepted ECDHE suites (0x009F and 0x0039 are refused)
			0xC09E, // TLS_DHE_RSA_WITH_AES_128_CCM: no other accepted suite has its cipher
		},
		0x0301: {0xC013, 0xC014, 0x0033, 0x002F},
	}
	for _, tc := range []struct {
		name      string
		mode      alpnMode
		maxSigned int
	}{
		{"suite selection before ALPN", alpnAfterSuite, 1},
		{"ALPN before suite selection", alpnFirst, 4},
		{"ALPN ignored", alpnIgnored, 4},
		{"ALPN mismatch refused", alpnRefused, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &dheServer{mode: tc.mode, accept: accept, signed: map[uint16]int{}}
			addr := fakeServer(t, s.serve)
			res := probeOK(t, platform.ProbeRequest{Address: addr, Timeout: 2 * time.Second, Ciphers: true})
			got := map[uint16][]uint16{}
			for _, c := range res.Ciphers {
				got[uint16(c.Version)] = append(got[uint16(c.Version)], c.Code)
			}
			for v, want := range accept {
				g := slices.Sorted(slices.Values(got[v]))
				w := slices.Sorted(slices.Values(want))
				if !slices.Equal(g, w) {
					t.Errorf("version %04X: suites %04X, want %04X", v, g, w)
				}
			}
			if len(got) != len(accept) {
				t.Errorf("suites found for %d versions, want %d", len(got), len(accept))
			}
			s.mu.Lock()
			defer s.mu.Unlock()
			n := 0
			for _, k := range s.signed {
				n += k
			}
			// Each accepted DHE suite is picked at most once per version
			// (3 in all), and with the check only 0xC09E is.
			if n > tc.maxSigned {
				t.Errorf("%d DHE ServerHellos (%v), want at most %d", n, s.signed, tc.maxSigned)
			}
			if tc.mode == alpnAfterSuite && (s.signed[0xC09E] != 1 || n != 1) {
				t.Errorf("DHE ServerHellos %v, want only 0xC09E once", s.signed)
			}
		})
	}
}

// TestSplitDHE keeps both lists in order and puts aside every ephemeral
// finite-field DH suite (DHE_RSA, DH_anon, ...), nothing else.
func TestSplitDHE(t *testing.T) {
	rest, dhe := splitDHE([]uint16{0xC02F, 0x009E, 0x002F, 0x0033, 0x0034, 0x0035, 0xC013})
	if !slices.Equal(rest, []uint16{0xC02F, 0x002F, 0x0035, 0xC013}) || !slices.Equal(dhe, []uint16{0x009E, 0x0033, 0x0034}) {
		t.Errorf("rest %04X, dhe %04X", rest, dhe)
	}
}

// TestDHECheckServerChangesMidway: the hello with every DHE suite passes
// selection, but when the suites are then checked one by one the server
// refuses them all (a reload that dropped its DH parameters, say). The
// parts contradict the whole, so the check gives way to offer-and-remove,
// which reports what the server accepts now: no DHE suite.
func TestDHECheckServerChangesMidway(t *testing.T) {
	var dheOff atomic.Bool
	var plainAfter atomic.Int32 // hellos offering DHE without checkProtocol, after the switch
	addr := fakeServer(t, func(c net.Conn) {
		ch, err := readClientHello(c)
		if err != nil || ch.sslv2 || ch.v13 || ch.version != 0x0303 {
			_, _ = c.Write(record(recAlert, []byte{2, 70}))
			return
		}
		accept := []uint16{0xC02F, 0xC013}
		if !dheOff.Load() {
			accept = append(accept, 0x009E, 0x0033)
		}
		mismatch := len(ch.alpn) > 0
		if !mismatch && dheOff.Load() && slices.Contains(ch.suites, 0x009E) {
			plainAfter.Add(1)
		}
		if mismatch && len(ch.suites) > 2 && slices.Contains(ch.suites, 0x009E) {
			dheOff.Store(true) // after this answer
		}
		for _, s := range ch.suites {
			if slices.Contains(accept, s) {
				if mismatch {
					_, _ = c.Write(record(recAlert, []byte{2, 120}))
				} else {
					_, _ = c.Write(record(recHandshake, serverHelloMsg(0x0303, s, nil)))
				}
				return
			}
		}
		_, _ = c.Write(record(recAlert, []byte{2, 40}))
	})
	res := probeOK(t, platform.ProbeRequest{Address: addr, Timeout: 2 * time.Second, Ciphers: true})
	var got []uint16
	for _, c := range res.Ciphers {
		got = append(got, c.Code)
	}
	slices.Sort(got)
	if want := []uint16{0xC013, 0xC02F}; !slices.Equal(got, want) {
		t.Errorf("suites %04X, want %04X", got, want)
	}
	if !dheOff.Load() {
		t.Error("the DHE check never asked for every DHE suite at once: the test could not fail")
	}
	if plainAfter.Load() == 0 {
		t.Error("no offer-and-remove of the DHE suites after the contradiction")
	}
}
