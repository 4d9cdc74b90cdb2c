package probe

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tlsfloor/tlsfloor/platform"
)

// fakeServer serves every connection on a loopback port with handle.
func fakeServer(t *testing.T, handle func(c net.Conn)) string {
	t.Helper()
	return fakeServerOn(t, "127.0.0.1:0", handle)
}

func fakeServerOn(t *testing.T, listen string, handle func(c net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		if strings.HasPrefix(listen, "[::1]") {
			t.Skipf("no IPv6 loopback: %v", err)
		}
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		_ = ln.Close()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(10 * time.Second))
				handle(c)
			})
		}
	})
	return ln.Addr().String()
}

// clientHello is what a fake server needs from our hello.
type clientHello struct {
	sslv2   bool
	version uint16 // client_version
	suites  []uint16
	v13     bool // supported_versions offers TLS 1.3
	alpn    []string
}

func readClientHello(c io.Reader) (clientHello, error) {
	var hdr [5]byte
	if _, err := io.ReadFull(c, hdr[:2]); err != nil {
		return clientHello{}, err
	}
	if hdr[0]&0x80 != 0 {
		n := int(hdr[0]&0x7f)<<8 | int(hdr[1])
		_, err := io.CopyN(io.Discard, c, int64(n))
		return clientHello{sslv2: true}, err
	}
	if _, err := io.ReadFull(c, hdr[2:]); err != nil {
		return clientHello{}, err
	}
	body := make([]byte, binary.BigEndian.Uint16(hdr[3:]))
	if _, err := io.ReadFull(c, body); err != nil {
		return clientHello{}, err
	}
	ch := clientHello{version: binary.BigEndian.Uint16(body[4:])}
	b := body[4+2+32:]
	b = b[1+int(b[0]):]
	n := int(binary.BigEndian.Uint16(b))
	for i := 0; i < n; i += 2 {
		ch.suites = append(ch.suites, binary.BigEndian.Uint16(b[2+i:]))
	}
	b = b[2+n:]
	b = b[1+int(b[0]):]
	if len(b) >= 2 {
		b = b[2:]
		for len(b) >= 4 {
			typ, l := binary.BigEndian.Uint16(b), int(binary.BigEndian.Uint16(b[2:]))
			if typ == 43 && bytes.Contains(b[4:4+l], []byte{3, 4}) {
				ch.v13 = true
			}
			if typ == 16 && l >= 2 {
				for p := b[6 : 4+l]; len(p) > 0 && len(p) > int(p[0]); p = p[1+int(p[0]):] {
					ch.alpn = append(ch.alpn, string(p[1:1+int(p[0])]))
				}
			}
			b = b[4+l:]
		}
	}
	return ch, nil
}

// serverHelloRecord builds a ServerHello handshake message (with header).
func serverHelloMsg(version uint16, suite uint16, exts []byte) []byte {
	var w builder
	w.u8(hsServerHello)
	w.vec(3, func() {
		w.u16(version)
		w.bytes(bytes.Repeat([]byte{7}, 32))
		w.vec(1, func() {})
		w.u16(suite)
		w.u8(0)
		if exts != nil {
			w.vec(2, func() { w.bytes(exts) })
		}
	})
	return w.b
}

func record(typ byte, body []byte) []byte {
	var w builder
	w.u8(typ)
	w.u16(0x0303)
	w.vec(2, func() { w.bytes(body) })
	return w.b
}

func probeFast(t *testing.T, addr string) platform.ProbeResult {
	t.Helper()
	return probeOK(t, platform.ProbeRequest{Address: addr, Timeout: 500 * time.Millisecond})
}

func TestBadPeers(t *testing.T) {
	tests := []struct {
		name    string
		handle  func(c net.Conn)
		wantErr string // in ProbeResult.Error
	}{
		{"closes at once", func(c net.Conn) {}, "closed every connection"},
		{"garbage", func(c net.Conn) {
			_, _ = readClientHello(c)
			_, _ = c.Write([]byte{0x00, 0xff, 0x13, 0x37, 0x42, 0x42, 0x42, 0x42, 0x42})
		}, "not TLS: unexpected bytes 00 ff 13 37"},
		{"plain HTTP", func(c net.Conn) {
			_, _ = readClientHello(c)
			_, _ = io.WriteString(c, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
		}, "plain HTTP"},
		{"SMTP greeting without --starttls", func(c net.Conn) {
			_, _ = io.WriteString(c, "220 mail.example ESMTP\r\n")
			_, _ = readClientHello(c)
		}, "try --starttls"},
		{"stalls", func(c net.Conn) {
			_, _ = readClientHello(c)
			_, _ = io.Copy(io.Discard, c)
		}, "timeout after 500ms"},
		{"oversized handshake message", func(c net.Conn) {
			_, _ = readClientHello(c)
			_, _ = c.Write(record(recHandshake, []byte{hsServerHello, 0xff, 0xff, 0xff}))
		}, "exceeds the limit"},
		{"oversized record", func(c net.Conn) {
			_, _ = readClientHello(c)
			_, _ = c.Write([]byte{recHandshake, 3, 3, 0xff, 0xff})
		}, "exceeds the limit"},
		{"truncated record then close", func(c net.Conn) {
			_, _ = readClientHello(c)
			_, _ = c.Write([]byte{recHandshake, 3, 3, 0x00, 0x40, 2, 0})
		}, "closed in the middle of a record"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			addr := fakeServer(t, tt.handle)
			res := probeFast(t, addr)
			if !strings.Contains(res.Error, tt.wantErr) {
				t.Errorf("Error = %q, want it to contain %q", res.Error, tt.wantErr)
			}
			if len(res.Accepted()) != 0 {
				t.Errorf("accepted %v from a bad peer", res.Accepted())
			}
			for _, v := range res.Versions {
				if v.Error == "" {
					t.Errorf("%s: no error text", v.Version)
				}
			}
		})
	}
}

// TestSplitServerHello answers with a TLS 1.2 ServerHello cut into 1-byte
// records, each written separately, followed by a Certificate split over
// two records: the reassembler must put both back together.
func TestSplitServerHello(t *testing.T) {
	dir := t.TempDir()
	certPath, _ := writeCert(t, dir, true)
	der := mustDER(t, certPath)
	addr := fakeServer(t, func(c net.Conn) {
		ch, err := readClientHello(c)
		if err != nil || ch.sslv2 {
			return
		}
		msg := serverHelloMsg(0x0303, ch.suites[0], nil)
		for _, b := range msg {
			if _, err := c.Write(record(recHandshake, []byte{b})); err != nil {
				return
			}
		}
		var w builder
		w.u8(hsCertificate)
		w.vec(3, func() { w.vec(3, func() { w.vec(3, func() { w.bytes(der) }) }) })
		half := len(w.b) / 2
		_, _ = c.Write(record(recHandshake, w.b[:half]))
		_, _ = c.Write(record(recHandshake, w.b[half:]))
	})
	res := probeOK(t, platform.ProbeRequest{Address: addr, Timeout: 2 * time.Second, Certificate: true})
	got := versionMap(res)
	if !got[platform.VersionTLS12].Accepted {
		t.Fatalf("TLS 1.2 not accepted: %+v", got[platform.VersionTLS12])
	}
	for _, v := range []platform.TLSVersion{platform.VersionTLS10, platform.VersionTLS11, platform.VersionTLS13} {
		if got[v].Accepted || !strings.Contains(got[v].Error, "answered with TLSv1.2") {
			t.Errorf("%s: %+v, want refused because the server answered with TLSv1.2", v, got[v])
		}
	}
	if res.Certificate == nil || res.Certificate.Subject != "CN=localhost,O=tlsfloor test" {
		t.Errorf("certificate %+v", res.Certificate)
	}
}

// TestLegacyFake is a server that accepts whatever version the client
// offers, including SSLv3 and SSLv2, which no real server on this machine
// can: it checks the positive verdicts for those versions.
func TestLegacyFake(t *testing.T) {
	addr := fakeServer(t, legacyFake)
	res := probeOK(t, platform.ProbeRequest{Address: addr, Timeout: 2 * time.Second, Ciphers: true})
	checkLegacyFake(t, res)
}

// TestIPv6 probes the same fake on [::1].
func TestIPv6(t *testing.T) {
	addr := fakeServerOn(t, "[::1]:0", legacyFake)
	if !strings.HasPrefix(addr, "[::1]:") {
		t.Fatalf("listener address %s", addr)
	}
	res := probeOK(t, platform.ProbeRequest{Address: addr, Timeout: 2 * time.Second, Ciphers: true})
	if res.Address != addr {
		t.Errorf("probed %s, want %s", res.Address, addr)
	}
	checkLegacyFake(t, res)
}

// legacyFake accepts whatever version the client offers, picking the
// first offered suite.
func legacyFake(c net.Conn) { legacyFakeFrom(c, c) }

// legacyFakeFrom is legacyFake reading the hello from r.
func legacyFakeFrom(r io.Reader, c io.Writer) {
	ch, err := readClientHello(r)
	if err != nil {
		return
	}
	if ch.sslv2 {
		var m builder
		m.u8(4)
		m.u8(0)
		m.u8(1)
		m.u16(0x0002)
		m.u16(0)
		m.u16(6)
		m.u16(16)
		m.bytes([]byte{0x01, 0x00, 0x80, 0x07, 0x00, 0xC0})
		m.bytes(make([]byte, 16))
		_, _ = c.Write(append([]byte{0x80 | byte(len(m.b)>>8), byte(len(m.b))}, m.b...))
		return
	}
	if ch.v13 {
		var ext builder
		ext.u16(43)
		ext.vec(2, func() { ext.u16(0x0304) })
		_, _ = c.Write(record(recHandshake, serverHelloMsg(0x0303, ch.suites[0], ext.b)))
		return
	}
	_, _ = c.Write(record(recHandshake, serverHelloMsg(ch.version, ch.suites[0], nil)))

}

func checkLegacyFake(t *testing.T, res platform.ProbeResult) {
	t.Helper()
	for _, v := range res.Versions {
		if !v.Accepted {
			t.Errorf("%s not accepted: %s", v.Version, v.Error)
		}
	}
	got := versionMap(res)
	if c := got[platform.VersionSSL20].Cipher; c != "SSL_CK_RC4_128_WITH_MD5" {
		t.Errorf("SSLv2 cipher %q", c)
	}
	// The fake picks the first offered suite, so it follows the client: a
	// server-order check must say "client" and enumeration must find all
	// suites offered for TLS 1.3.
	if o := got[platform.VersionTLS12].ServerOrder; o != "client" {
		t.Errorf("TLS 1.2 order %q, want client", o)
	}
	n13, n2 := 0, 0
	for _, c := range res.Ciphers {
		switch c.Version {
		case platform.VersionTLS13:
			n13++
		case platform.VersionSSL20:
			n2++
			if c.Grade != GradeInsecure {
				t.Errorf("SSLv2 %s graded %s", c.Name, c.Grade)
			}
		}
	}
	if n13 != 5 || n2 != 2 {
		t.Errorf("found %d TLS 1.3 suites (want 5) and %d SSLv2 kinds (want 2)", n13, n2)
	}
}

// TestServerPreference: a fake that always picks the offered suite with
// the highest code point imposes its order; the suites must come out in
// that order and the version marked "server".
func TestServerPreference(t *testing.T) {
	addr := fakeServer(t, func(c net.Conn) {
		ch, err := readClientHello(c)
		if err != nil || ch.sslv2 || ch.v13 || ch.version != 0x0303 {
			_, _ = c.Write(record(recAlert, []byte{2, 70}))
			return
		}
		// Accept only a few suites, so the list is short and known.
		accept := []uint16{0x009C, 0xC02F, 0xC030, 0xCCA8, 0x0035}
		best := -1
		for _, s := range ch.suites {
			if slices.Contains(accept, s) && int(s) > best {
				best = int(s)
			}
		}
		if best < 0 {
			_, _ = c.Write(record(recAlert, []byte{2, 40}))
			return
		}
		_, _ = c.Write(record(recHandshake, serverHelloMsg(0x0303, uint16(best), nil)))
	})
	res := probeOK(t, platform.ProbeRequest{Address: addr, Timeout: 2 * time.Second, Ciphers: true})
	if o := versionMap(res)[platform.VersionTLS12].ServerOrder; o != "server" {
		t.Errorf("order %q, want server", o)
	}
	var got []uint16
	for _, c := range res.Ciphers {
		got = append(got, c.Code)
	}
	if want := []uint16{0xCCA8, 0xC030, 0xC02F, 0x009C, 0x0035}; !slices.Equal(got, want) {
		t.Errorf("suites %04X, want %04X", got, want)
	}
}

// A cancelled context ends a probe of a stalling server at once, long
// before the per-connection timeout; nothing is left reading.
func TestCancelStopsProbe(t *testing.T) {
	addr := fakeServer(t, func(c net.Conn) {
		_, _ = io.Copy(io.Discard, c)
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan platform.ProbeResult, 1)
	go func() {
		res, _ := New(Options{}).Probe(ctx, platform.ProbeRequest{Address: addr, Timeout: time.Hour, Ciphers: true})
		done <- res
	}()
	time.Sleep(50 * time.Millisecond)
	cancel()
	select {
	case res := <-done:
		if len(res.Accepted()) != 0 || res.Error == "" {
			t.Errorf("cancelled probe: %+v", res)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("probe still running 30s after cancel (per-connection timeout is 1h)")
	}
}
