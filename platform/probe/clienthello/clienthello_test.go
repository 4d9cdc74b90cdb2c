package clienthello

import (
	"bytes"
	"encoding/binary"
	"slices"
	"testing"
)

func TestKeyIgnoresOnlyTheRandomBytes(t *testing.T) {
	for _, v := range []uint16{SSL20, SSL30, TLS10, TLS11, TLS12, TLS13} {
		h := VersionCheck(v, "")
		a, b := h.Marshal(), h.Marshal()
		if bytes.Equal(a, b) {
			t.Errorf("%04x: two hellos with the same random bytes", v)
		}
		if len(a) != len(b) || len(h.Key()) != len(a) {
			t.Errorf("%04x: lengths %d, %d, key %d", v, len(a), len(b), len(h.Key()))
		}
		if h.Key() != VersionCheck(v, "").Key() {
			t.Errorf("%04x: equal hellos have different keys", v)
		}
	}
	base := VersionCheck(TLS12, "")
	variants := map[string]Hello{
		"sni":     VersionCheck(TLS12, "example.com"),
		"alpn":    {Version: TLS12, Suites: base.Suites, ALPN: "tlsfloor-check/0"},
		"suites":  {Version: TLS12, Suites: base.Suites[1:]},
		"version": {Version: TLS11, Suites: base.Suites},
	}
	for name, h := range variants {
		if h.Key() == base.Key() {
			t.Errorf("%s: the key does not change", name)
		}
	}
	shares := Hello{Version: TLS13, Suites: VersionCheck(TLS13, "").Suites, Shares: &KeyShares{X25519: make([]byte, 32), P256: make([]byte, 65)}}
	if shares.Key() == VersionCheck(TLS13, "").Key() {
		t.Error("key shares do not change the key")
	}
}

func TestVersionCheckIsTheFirstChunk(t *testing.T) {
	if h := VersionCheck(SSL20, ""); h.Suites != nil || h.Version != SSL20 {
		t.Errorf("SSLv2: %+v", h)
	}
	for _, v := range []uint16{SSL30, TLS10, TLS11, TLS12, TLS13} {
		order := OfferOrder(v)
		want := order[:min(len(order), ChunkSize)]
		if got := VersionCheck(v, "").Suites; !slices.Equal(got, want) {
			t.Errorf("%04x: %d suites, want the first %d of the offer order", v, len(got), len(want))
		}
	}
	if len(OfferOrder(TLS12)) <= ChunkSize {
		t.Fatalf("TLS 1.2 offers %d suites; the test wants more than one chunk", len(OfferOrder(TLS12)))
	}
	order := OfferOrder(TLS12)
	order[0] = 0
	if OfferOrder(TLS12)[0] == 0 {
		t.Error("OfferOrder returns the stored array, not a copy")
	}
}

func TestMarshalTLS13(t *testing.T) {
	rec := VersionCheck(TLS13, "").Marshal()
	if rec[0] != 22 || binary.BigEndian.Uint16(rec[1:]) != 0x0301 || int(binary.BigEndian.Uint16(rec[3:])) != len(rec)-5 {
		t.Fatalf("record header % x", rec[:5])
	}
	hs := rec[5:]
	if hs[0] != 1 || int(hs[1])<<16|int(hs[2])<<8|int(hs[3]) != len(hs)-4 {
		t.Fatalf("handshake header % x", hs[:4])
	}
	if v := binary.BigEndian.Uint16(hs[4:]); v != TLS12 {
		t.Errorf("legacy_version %04x, want 0303", v)
	}
	// supported_versions naming only TLS 1.3, and an empty key_share.
	if !bytes.Contains(hs, []byte{0, 43, 0, 3, 2, 3, 4}) || !bytes.Contains(hs, []byte{0, 51, 0, 2, 0, 0}) {
		t.Errorf("no supported_versions 1.3 or empty key_share in % x", hs)
	}
}

func TestMarshalSSLv2(t *testing.T) {
	m := VersionCheck(SSL20, "").Marshal()
	if m[0]&0x80 == 0 || int(m[0]&0x7f)<<8|int(m[1]) != len(m)-2 {
		t.Fatalf("SSLv2 header % x", m[:2])
	}
	if m[2] != 1 || binary.BigEndian.Uint16(m[3:]) != 2 || int(binary.BigEndian.Uint16(m[5:])) != 3*len(SSLv2CipherKinds) {
		t.Errorf("CLIENT-HELLO % x", m[:11])
	}
}
