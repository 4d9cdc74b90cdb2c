package probe

import (
	"errors"
	"io"
	"net"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tlsfloor/tlsfloor/platform"
)

// Probe connections live for one round trip: the default dialers set no
// TCP keep-alive options on them, on loopback or not.
func TestDefaultDialerNoKeepAlive(t *testing.T) {
	for _, ip := range []string{"192.0.2.1", "2001:db8::1", "127.0.0.1", "::1"} {
		switch d := defaultDialer(net.ParseIP(ip)).(type) {
		case *net.Dialer:
			if d.KeepAlive >= 0 {
				t.Errorf("%s: KeepAlive = %v, want negative (off)", ip, d.KeepAlive)
			}
		case interface{ keepAliveOption(*testing.T) int }: // loopbackDialer (Linux)
			if on := d.keepAliveOption(t); on != 0 {
				t.Errorf("%s: SO_KEEPALIVE = %d, want 0", ip, on)
			}
		default:
			t.Fatalf("%s: default dialer is %T", ip, d)
		}
	}
}

// After the server's answer the prober sends nothing more and resets the
// connection (SO_LINGER 0): the server reads ECONNRESET, not a FIN, and
// no TIME_WAIT is left on our side.
func TestProbeClosesWithReset(t *testing.T) {
	var mu sync.Mutex
	var ends []error
	var extra int
	addr := fakeServer(t, func(c net.Conn) {
		ch, err := readClientHello(c)
		if err != nil {
			return
		}
		if ch.sslv2 || ch.v13 || ch.version != 0x0303 {
			_, _ = c.Write(record(recAlert, []byte{2, 70}))
		} else {
			_, _ = c.Write(record(recHandshake, serverHelloMsg(0x0303, ch.suites[0], nil)))
		}
		n, err := io.Copy(io.Discard, c)
		mu.Lock()
		ends = append(ends, err)
		extra += int(n)
		mu.Unlock()
	})
	res := probeOK(t, platform.ProbeRequest{Address: addr, Timeout: 2 * time.Second})
	if !versionMap(res)[platform.VersionTLS12].Accepted {
		t.Fatalf("TLS 1.2 not accepted: %+v", res)
	}
	// Let the handlers see the close.
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		n := len(ends)
		mu.Unlock()
		if n >= len(res.Versions) || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(ends) != len(res.Versions) {
		t.Fatalf("server saw %d connections end, want %d", len(ends), len(res.Versions))
	}
	if extra != 0 {
		t.Errorf("prober sent %d bytes after its ClientHello", extra)
	}
	for i, err := range ends {
		if !errors.Is(err, syscall.ECONNRESET) {
			t.Errorf("connection %d ended with %v, want a reset", i, err)
		}
	}
}

// The offer order is ranked once and handed out as a copy: callers that
// delete from it (enumerate does) must not change what the next caller gets.
func TestOfferOrderIsACopy(t *testing.T) {
	for _, v := range platform.ProbeVersions() {
		if v == platform.VersionSSL20 {
			continue
		}
		want := rankSuites(v)
		got := offerOrder(v)
		if !slices.Equal(got, want) {
			t.Fatalf("%s: cached order differs from a fresh ranking", v)
		}
		if len(got) == 0 {
			t.Fatalf("%s: no suites to offer", v)
		}
		got[0] = 0xFFFF
		_ = slices.Delete(got, 0, 1)
		if again := offerOrder(v); !slices.Equal(again, want) {
			t.Errorf("%s: mutating one result changed the next", v)
		}
	}
	all := Suites()
	all[0].Name = "changed"
	if s, _ := LookupSuite(all[0].Code); s.Name == "changed" {
		t.Error("mutating Suites() changed LookupSuite")
	}
	if again := Suites(); again[0].Name == "changed" {
		t.Error("mutating Suites() changed the next Suites()")
	}
}

// A TLS 1.3-only server hides its certificate in the encrypted part of
// the handshake; with --ciphers the certificate handshake runs alongside
// the enumeration, and both results must be there.
func TestTLS13OnlyCertificateWithCiphers(t *testing.T) {
	addr := startSServer(t, "-tls1_3")
	res := probeOK(t, platform.ProbeRequest{Address: addr, Ciphers: true, Certificate: true})
	if res.Error != "" {
		t.Fatalf("target error: %s", res.Error)
	}
	if acc := res.Accepted(); !slices.Equal(acc, []platform.TLSVersion{platform.VersionTLS13}) {
		t.Fatalf("accepted %v, want TLS 1.3 only", acc)
	}
	if res.Certificate == nil || res.Certificate.Subject != "CN=localhost,O=tlsfloor test" {
		t.Errorf("certificate = %+v, want subject CN=localhost,O=tlsfloor test", res.Certificate)
	}
	n := 0
	for _, c := range res.Ciphers {
		if c.Version != platform.VersionTLS13 {
			t.Errorf("%s %s listed for a TLS 1.3-only server", c.Version, c.Name)
		}
		n++
	}
	if n < 3 {
		t.Errorf("%d TLS 1.3 suites, want OpenSSL's default 3", n)
	}
}

// The enumeration runs as many parallel chains as the hello size limit
// needs anyway, so the chains' final refusals cost no extra connection:
// each chain fits one hello, and the union is the whole offer.
func TestEnumChainsFitOneHelloEach(t *testing.T) {
	for n, want := range map[int]int{0: 1, 5: 1, 115: 1, chunkSize: 1, chunkSize + 1: 2, 317: 3} {
		if got := enumChains(n); got != want {
			t.Errorf("enumChains(%d) = %d, want %d", n, got, want)
		}
	}
	for _, v := range platform.ProbeVersions() {
		if v == platform.VersionSSL20 {
			continue
		}
		order := offerOrder(v)
		cs := chains(order, enumChains(len(order)))
		if len(cs) != max(1, (len(order)+chunkSize-1)/chunkSize) {
			t.Errorf("%s: %d suites in %d chains", v, len(order), len(cs))
		}
		var union []uint16
		for _, c := range cs {
			if len(c) > chunkSize {
				t.Errorf("%s: a chain of %d suites does not fit one hello", v, len(c))
			}
			union = append(union, c...)
		}
		slices.Sort(union)
		slices.Sort(order)
		if !slices.Equal(union, order) {
			t.Errorf("%s: chains do not partition the offer", v)
		}
	}
}

func TestOrderFromChain(t *testing.T) {
	chunk := []uint16{1, 2, 3, 4, 5} // the version probe's hello; the server took 2
	tests := []struct {
		name     string
		offers   []uint16 // the first chain's first hello, ending with known
		pick     uint16
		accepted []uint16
		want     string
	}{
		{"client: took the suite now first", []uint16{4, 5, 2}, 4, []uint16{2, 4}, "client"},
		{"server: took known although 4 came first", []uint16{4, 5, 2}, 2, []uint16{2, 4}, "server"},
		{"only known accepted in the hello", []uint16{4, 5, 2}, 2, []uint16{2, 3}, ""},
		{"pick came before known in the probe too", []uint16{1, 5, 2}, 1, []uint16{1, 2}, ""},
		{"pick not in the probe's hello", []uint16{7, 2}, 7, []uint16{2, 7}, ""},
		{"pick not found by the enumeration", []uint16{4, 5, 2}, 4, []uint16{2}, ""},
	}
	for _, tt := range tests {
		if got := orderFromChain(chunk, 2, tt.offers, tt.pick, tt.accepted); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}

// A server that follows the client's order shows it during the
// enumeration itself: the first chain's first hello also offers the
// version probe's pick, last, and the server takes another suite. No
// separate order handshake is made.
func TestOrderSeenDuringEnumeration(t *testing.T) {
	accept := offerOrder(platform.VersionTLS12)[:6]
	var mu sync.Mutex
	conns := 0
	addr := fakeServer(t, func(c net.Conn) {
		mu.Lock()
		conns++
		mu.Unlock()
		ch, err := readClientHello(c)
		if err != nil || ch.sslv2 || ch.v13 || ch.version != 0x0303 {
			_, _ = c.Write(record(recAlert, []byte{2, 70}))
			return
		}
		for _, s := range ch.suites { // client order
			if slices.Contains(accept, s) {
				_, _ = c.Write(record(recHandshake, serverHelloMsg(0x0303, s, nil)))
				return
			}
		}
		_, _ = c.Write(record(recAlert, []byte{2, 40}))
	})
	res := probeOK(t, platform.ProbeRequest{Address: addr, Timeout: 2 * time.Second, Ciphers: true})
	if o := versionMap(res)[platform.VersionTLS12].ServerOrder; o != "client" {
		t.Errorf("order %q, want client", o)
	}
	var got []uint16
	for _, c := range res.Ciphers {
		got = append(got, c.Code)
	}
	slices.Sort(got)
	want := slices.Clone(accept)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("suites %04X, want %04X", got, want)
	}
	// 6 version probes, 5 more accepted suites, one refusal per chain,
	// and the DHE check's two hellos (the pick and all DHE suites, with
	// checkProtocol; this server refuses the latter).
	mu.Lock()
	defer mu.Unlock()
	rest, _ := splitDHE(offerOrder(platform.VersionTLS12))
	if wantConns := 6 + 5 + enumChains(len(rest)-1) + 2; conns != wantConns {
		t.Errorf("%d connections, want %d (no separate order handshake)", conns, wantConns)
	}
}
