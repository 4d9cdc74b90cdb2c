package probe

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tlsfloor/tlsfloor/platform"
)

func probeOK(t *testing.T, req platform.ProbeRequest) platform.ProbeResult {
	t.Helper()
	if req.Timeout == 0 {
		req.Timeout = 5 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := New(Options{}).Probe(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func versionMap(res platform.ProbeResult) map[platform.TLSVersion]platform.VersionResult {
	m := map[platform.TLSVersion]platform.VersionResult{}
	for _, v := range res.Versions {
		m[v.Version] = v
	}
	return m
}

// TestAgainstSServer runs openssl s_server pinned to one version each and
// checks that our verdict for every version equals what openssl s_client
// (at SECLEVEL=0) sees against the same server.
func TestAgainstSServer(t *testing.T) {
	flags := []struct {
		flag string
		v    platform.TLSVersion
	}{
		{"-tls1", platform.VersionTLS10},
		{"-tls1_1", platform.VersionTLS11},
		{"-tls1_2", platform.VersionTLS12},
		{"-tls1_3", platform.VersionTLS13},
	}
	for _, srv := range flags {
		t.Run(srv.flag, func(t *testing.T) {
			t.Parallel()
			addr := startSServer(t, srv.flag, "-cipher", "DEFAULT:@SECLEVEL=0")
			res := probeOK(t, platform.ProbeRequest{Address: addr, Certificate: true})
			if res.Error != "" {
				t.Fatalf("target error: %s", res.Error)
			}
			got := versionMap(res)
			for _, cl := range flags {
				want, _ := sClientAccepts(t, addr, cl.flag)
				if want != (cl.v == srv.v) {
					t.Fatalf("s_client %s against s_server %s: accepted=%v; the fixture is wrong", cl.flag, srv.flag, want)
				}
				if g := got[cl.v]; g.Accepted != want {
					t.Errorf("%s: probe accepted=%v (%s), s_client accepted=%v", cl.v, g.Accepted, g.Error, want)
				}
			}
			for _, v := range []platform.TLSVersion{platform.VersionSSL20, platform.VersionSSL30} {
				if got[v].Accepted {
					t.Errorf("%s accepted by an OpenSSL 3 server", v)
				}
			}
			if acc := got[srv.v]; acc.Accepted && acc.Cipher == "" {
				t.Errorf("%s accepted without a cipher", srv.v)
			}
			if res.Certificate == nil || res.Certificate.Subject != "CN=localhost,O=tlsfloor test" {
				t.Errorf("certificate = %+v, want subject CN=localhost,O=tlsfloor test", res.Certificate)
			}
		})
	}
}

// An ECDSA certificate: only ECDHE_ECDSA suites (and TLS 1.3) can work, so
// the hello must offer them and the ECDSA signature schemes.
func TestSServerECDSA(t *testing.T) {
	addr := startSServerKey(t, true, "-cipher", "DEFAULT:@SECLEVEL=0")
	res := probeOK(t, platform.ProbeRequest{Address: addr, Ciphers: true})
	got := versionMap(res)
	for _, v := range []platform.TLSVersion{platform.VersionTLS10, platform.VersionTLS11, platform.VersionTLS12} {
		want, cipher := sClientAccepts(t, addr, versionFlags[v])
		if got[v].Accepted != want {
			t.Errorf("%s: probe %v (%s), s_client %v (%s)", v, got[v].Accepted, got[v].Error, want, cipher)
		}
		if got[v].Accepted && !strings.Contains(got[v].Cipher, "_ECDSA_") {
			t.Errorf("%s: cipher %s with an ECDSA certificate", v, got[v].Cipher)
		}
	}
	for _, c := range res.Ciphers {
		if c.Version != platform.VersionTLS13 && !strings.Contains(c.Name, "_ECDSA_") && !strings.Contains(c.Name, "_anon_") && !strings.Contains(c.Name, "PSK") {
			t.Errorf("%s %s accepted with an ECDSA certificate", c.Version, c.Name)
		}
	}
}
