package probe

import (
	"bytes"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tlsfloor/tlsfloor/platform"
	"github.com/tlsfloor/tlsfloor/platform/probe/clienthello"
	"github.com/tlsfloor/tlsfloor/platform/probe/prestart"
)

// versionCheckHellos are the hellos cmd/probe/early starts for a target
// without SNI.
func versionCheckHellos() []clienthello.Hello {
	var hs []clienthello.Hello
	for _, v := range platform.ProbeVersions() {
		hs = append(hs, clienthello.VersionCheck(uint16(v), ""))
	}
	return hs
}

// countingFake is legacyFake behind a connection counter.
func countingFake(t *testing.T, listen string) (string, *atomic.Int32) {
	var n atomic.Int32
	addr := fakeServerOn(t, listen, func(c net.Conn) {
		n.Add(1)
		legacyFake(c)
	})
	return addr, &n
}

// TestPrestartedConnectionsAreTakenOver: the prober sends none of the
// versions check's hellos itself when prestart has sent them, answers as
// without prestart, and counts its elapsed time from the early start.
func TestPrestartedConnectionsAreTakenOver(t *testing.T) {
	for _, listen := range []string{"127.0.0.1:0", "[::1]:0"} {
		t.Run(listen, func(t *testing.T) {
			addr, conns := countingFake(t, listen)
			t.Cleanup(prestart.Discard)
			prestart.Start(addr, versionCheckHellos())
			if !prestart.Pending() {
				t.Fatal("nothing started")
			}
			const head = 30 * time.Millisecond
			time.Sleep(head)
			res := probeOK(t, platform.ProbeRequest{Address: addr, Timeout: 2 * time.Second})
			checkVersionsOfLegacyFake(t, res)
			if n := conns.Load(); n != int32(len(platform.ProbeVersions())) {
				t.Errorf("server saw %d connections, want one per version (%d): prestarted ones were not taken", n, len(platform.ProbeVersions()))
			}
			if prestart.Pending() {
				t.Error("connections left pending")
			}
			if res.Elapsed < head {
				t.Errorf("elapsed %v, want at least the %v since the early start", res.Elapsed, head)
			}
		})
	}
}

// TestPrestartedConnectionsForOtherHellos: a probe that asks other
// questions (here with SNI, or of another address) dials for itself, and
// Discard closes what nobody took.
func TestPrestartedConnectionsForOtherHellos(t *testing.T) {
	var withSNI, without, closed atomic.Int32
	addr := fakeServer(t, func(c net.Conn) {
		defer func() {
			// Wait for the client to close: a connection nobody took
			// stays open until Discard.
			_, _ = io.Copy(io.Discard, c)
			closed.Add(1)
		}()
		var buf [4096]byte
		n, _ := c.Read(buf[:])
		if bytes.Contains(buf[:n], []byte("www.example.com")) {
			withSNI.Add(1)
		} else {
			without.Add(1)
		}
		legacyFakeFrom(io.MultiReader(bytes.NewReader(buf[:n]), c), c)
	})
	other, otherConns := countingFake(t, "127.0.0.1:0")
	t.Cleanup(prestart.Discard)
	prestart.Start(addr, versionCheckHellos())
	versions := int32(len(platform.ProbeVersions()))

	res := probeOK(t, platform.ProbeRequest{Address: other, Timeout: 2 * time.Second})
	checkVersionsOfLegacyFake(t, res)
	if n := otherConns.Load(); n != versions {
		t.Errorf("other server saw %d connections, want %d", n, versions)
	}
	res = probeOK(t, platform.ProbeRequest{Address: addr, ServerName: "www.example.com", Timeout: 2 * time.Second})
	checkVersionsOfLegacyFake(t, res)
	// The SSLv2 and SSLv3 hellos carry no extensions, so no server_name:
	// they are the questions both probes share, and the probe takes those
	// two connections and sends the four TLS hellos itself.
	if n := withSNI.Load(); n != versions-2 {
		t.Errorf("server saw %d hellos with SNI, want %d", n, versions-2)
	}
	if !prestart.Pending() {
		t.Fatal("the hellos with SNI took connections prestarted without")
	}
	prestart.Discard()
	if prestart.Pending() {
		t.Error("Discard left connections pending")
	}
	deadline := time.Now().Add(2 * time.Second)
	for closed.Load() < withSNI.Load()+without.Load() && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if c, n := closed.Load(), withSNI.Load()+without.Load(); c != n || n != 2*versions-2 {
		t.Errorf("the client closed %d of %d connections, want all of %d", c, n, 2*versions-2)
	}
}

// TestPrestartRefusesOtherAddresses: only literal loopback addresses with
// a decimal port are started early.
func TestPrestartRefusesOtherAddresses(t *testing.T) {
	t.Cleanup(prestart.Discard)
	for _, a := range []string{"192.0.2.1:443", "localhost:443", "127.0.0.1:https", "127.0.0.1:0443", "127.0.0.1:0", "127.1:443", "[::2]:443", "[::ffff:127.0.0.1]:443", "127.0.0.1"} {
		prestart.Start(a, versionCheckHellos())
		if prestart.Pending() {
			t.Errorf("%s: started", a)
			prestart.Discard()
		}
	}
}

func checkVersionsOfLegacyFake(t *testing.T, res platform.ProbeResult) {
	t.Helper()
	if res.Error != "" || len(res.Versions) != len(platform.ProbeVersions()) {
		t.Fatalf("result %+v", res)
	}
	for _, v := range res.Versions {
		if !v.Accepted || v.Cipher == "" {
			t.Errorf("%s: accepted %v, cipher %q, error %q", v.Version, v.Accepted, v.Cipher, v.Error)
		}
	}
	if c := versionMap(res)[platform.VersionTLS12].Cipher; c != SuiteName(clienthello.OfferOrder(uint16(platform.VersionTLS12))[0]) {
		t.Errorf("TLS 1.2 picked %s, want the first offered suite", c)
	}
}
