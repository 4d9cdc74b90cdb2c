package probe

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/tlsfloor/tlsfloor/platform"
)

func TestParseServerHello(t *testing.T) {
	sv := func(v uint16) []byte {
		var e builder
		e.u16(43)
		e.vec(2, func() { e.u16(v) })
		return e.b
	}
	hrr := func() []byte {
		m := serverHelloMsg(0x0303, 0x1302, sv(0x0304))
		copy(m[4+2:], helloRetryRandom[:])
		return m
	}()
	tests := []struct {
		name    string
		msg     []byte
		version platform.TLSVersion
		suite   uint16
		retry   bool
		err     bool
	}{
		{"TLS 1.2 without extensions", serverHelloMsg(0x0303, 0xC02F, nil), platform.VersionTLS12, 0xC02F, false, false},
		{"SSLv3", serverHelloMsg(0x0300, 0x000A, nil), platform.VersionSSL30, 0x000A, false, false},
		{"TLS 1.3 via supported_versions", serverHelloMsg(0x0303, 0x1301, sv(0x0304)), platform.VersionTLS13, 0x1301, false, false},
		{"HelloRetryRequest", hrr, platform.VersionTLS13, 0x1302, true, false},
		{"bad supported_versions length", serverHelloMsg(0x0303, 0x1301, []byte{0, 43, 0, 1, 3}), 0, 0, false, true},
		{"extension overrun", serverHelloMsg(0x0303, 0x1301, []byte{0, 43, 0, 9, 3, 4}), 0, 0, false, true},
		{"too short", []byte{2, 0, 0, 3, 3, 3, 1}, 0, 0, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sh, err := parseServerHello(tt.msg[4:])
			if (err != nil) != tt.err {
				t.Fatalf("err = %v, want error %v", err, tt.err)
			}
			if err == nil && (sh.version != tt.version || sh.suite != tt.suite || sh.retry != tt.retry) {
				t.Errorf("got %s 0x%04X retry=%v", sh.version, sh.suite, sh.retry)
			}
		})
	}
}

// A ServerHello and an alert share one record stream, with the hello split
// across records: the reader returns the hello, then the alert.
func TestRecordReaderReassembly(t *testing.T) {
	msg := serverHelloMsg(0x0303, 0x009C, nil)
	var stream []byte
	stream = append(stream, record(recHandshake, msg[:3])...)
	stream = append(stream, record(recChangeCipherSpec, []byte{1})...)
	stream = append(stream, record(recHandshake, msg[3:])...)
	stream = append(stream, record(recAlert, []byte{2, 40})...)
	rr := newRecordReader(bufio.NewReader(bytes.NewReader(stream)))
	typ, body, err := rr.handshake()
	if err != nil || typ != hsServerHello || !bytes.Equal(body, msg[4:]) {
		t.Fatalf("handshake() = %d, %x, %v", typ, body, err)
	}
	_, _, err = rr.handshake()
	var ae alertError
	if !errors.As(err, &ae) || ae.Error() != "alert handshake_failure" {
		t.Fatalf("second read: %v, want alert handshake_failure", err)
	}
}

func TestClientHelloShape(t *testing.T) {
	for _, v := range platform.ProbeVersions() {
		h := hello{version: v, suites: []uint16{0xC02F, 0x1301}, serverName: "example.test"}
		if v == platform.VersionTLS13 {
			h.shares = &keyShares{X25519: make([]byte, 32), P256: make([]byte, 65)}
		}
		b := h.marshal()
		if v == platform.VersionSSL20 {
			if b[0]&0x80 == 0 || int(b[0]&0x7f)<<8|int(b[1]) != len(b)-2 || b[2] != 1 {
				t.Errorf("SSLv2 hello header % x", b[:3])
			}
			continue
		}
		if b[0] != recHandshake || int(binary.BigEndian.Uint16(b[3:])) != len(b)-5 || b[5] != 1 {
			t.Errorf("%s: bad record or handshake header % x", v, b[:6])
		}
		n := len(b) - 5
		if n >= 256 && n < 512 {
			t.Errorf("%s: hello of %d bytes is in the 256-511 range some servers hang on", v, n)
		}
		legacy := binary.BigEndian.Uint16(b[9:])
		want := uint16(v)
		if v == platform.VersionTLS13 {
			want = 0x0303
		}
		if legacy != want {
			t.Errorf("%s: client_version 0x%04x, want 0x%04x", v, legacy, want)
		}
		hasSNI := bytes.Contains(b, []byte("example.test"))
		if hasSNI != (v >= platform.VersionTLS10) {
			t.Errorf("%s: SNI present = %v", v, hasSNI)
		}
	}
}

func FuzzParseServerHello(f *testing.F) {
	f.Add(serverHelloMsg(0x0303, 0xC02F, nil)[4:])
	f.Add(serverHelloMsg(0x0303, 0x1301, []byte{0, 43, 0, 2, 3, 4})[4:])
	f.Add(serverHelloMsg(0x0300, 0x000A, []byte{})[4:])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		sh, err := parseServerHello(b)
		if err == nil && len(b) < 38 {
			t.Fatalf("accepted a %d-byte ServerHello: %+v", len(b), sh)
		}
		// The same bytes behind a record and handshake header must give the
		// same answer through the reader, whatever the record split.
		var w builder
		w.u8(hsServerHello)
		w.vec(3, func() { w.bytes(b) })
		var stream []byte
		for m := w.b; len(m) > 0; {
			n := min(len(m), 7)
			stream = append(stream, record(recHandshake, m[:n])...)
			m = m[n:]
		}
		rr := newRecordReader(bufio.NewReader(bytes.NewReader(stream)))
		typ, body, rerr := rr.handshake()
		if rerr != nil || typ != hsServerHello || !bytes.Equal(body, b) {
			t.Fatalf("reassembly: %d %v", typ, rerr)
		}
		_, _ = parseSSLv2ServerHello(b)
		_, _ = parseCertificate(b)
	})
}
