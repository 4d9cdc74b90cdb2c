package probe

import (
	"bufio"
	"bytes"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"syscall"

	"github.com/tlsfloor/tlsfloor/platform"
)

// Size caps: a peer must not make us allocate without bound.
const (
	maxRecord    = 16384 + 2048 // TLSCiphertext.length limit (RFC 5246 §6.2.3)
	maxHandshake = 1 << 18      // a certificate chain rarely exceeds a few KiB; 256 KiB is generous
	maxRead      = 1 << 19      // total bytes read from one connection
	chunkSize    = 128          // suites per ClientHello; keeps hellos around 300-600 bytes
)

// Record and handshake types (RFC 8446 §5.1, §4).
const (
	recChangeCipherSpec = 20
	recAlert            = 21
	recHandshake        = 22
	recApplicationData  = 23

	hsServerHello     = 2
	hsCertificate     = 11
	hsServerHelloDone = 14
)

// helloRetryRandom is SHA-256("HelloRetryRequest") (RFC 8446 §4.1.3).
var helloRetryRandom = [32]byte{
	0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
	0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C,
}

// Named groups and signature schemes we claim to support. The list decides
// what a server may pick: without ECC groups no ECDHE suite is chosen, and
// without the SHA-1 schemes a SHA-1-only signer refuses TLS 1.2.
var (
	groups12 = [...]uint16{0x001D, 0x0017, 0x0018, 0x0019, 0x001E, 0x0016, 0x0015, 0x0013, 0x001A, 0x001B, 0x001C}
	groups13 = [...]uint16{0x001D, 0x0017, 0x0018, 0x0019, 0x001E, 0x0100, 0x0101, 0x0102, 0x0103, 0x0104}
	sigalgs  = [...]uint16{
		0x0403, 0x0503, 0x0603, 0x0807, 0x0808, 0x0804, 0x0805, 0x0806, 0x0809, 0x080A, 0x080B,
		0x0401, 0x0501, 0x0601, 0x0303, 0x0301, 0x0302, 0x0402, 0x0502, 0x0602, 0x0203, 0x0201, 0x0202,
	}
)

// keyShares are the public keys a TLS 1.3 hello offers. They are valid
// points so a server that picks them can proceed to its ServerHello; the
// private keys are thrown away because we never derive a secret.
type keyShares struct {
	x25519, p256 []byte
}

func newKeyShares() (keyShares, error) {
	x, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		return keyShares{}, fmt.Errorf("x25519 key: %w", err)
	}
	p, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		return keyShares{}, fmt.Errorf("p256 key: %w", err)
	}
	return keyShares{x25519: x.PublicKey().Bytes(), p256: p.PublicKey().Bytes()}, nil
}

// hello describes one ClientHello.
type hello struct {
	version    platform.TLSVersion
	suites     []uint16
	serverName string
	// shares, when non-nil, go into a TLS 1.3 key_share; nil sends an empty
	// key_share so the server answers with a HelloRetryRequest, which names
	// its suite at no cryptographic cost to either side.
	shares *keyShares
	// alpnCheck adds an ALPN extension naming only checkProtocol, for
	// the DHE check (dhecheck.go).
	alpnCheck bool
}

type builder struct{ b []byte }

func (w *builder) u8(v byte)    { w.b = append(w.b, v) }
func (w *builder) u16(v uint16) { w.b = binary.BigEndian.AppendUint16(w.b, v) }
func (w *builder) bytes(p []byte) {
	w.b = append(w.b, p...)
}

// vec writes a length-prefixed vector whose body f appends; n is the size
// of the length prefix in bytes (1, 2 or 3).
func (w *builder) vec(n int, f func()) {
	at := len(w.b)
	w.b = append(w.b, 0, 0, 0)[:at+n]
	f()
	l := len(w.b) - at - n
	for i := n - 1; i >= 0; i-- {
		w.b[at+i] = byte(l)
		l >>= 8
	}
}

// randomBytes fills ClientHello.random, the session id and the SSLv2
// challenge. They only have to differ between hellos: the prober never
// derives a key from them. math/rand/v2's generator (ChaCha8, seeded by
// the runtime from the OS) costs no system call, where crypto/rand's
// first use costs 40 us, a thirtieth of a versions probe.
func randomBytes(n int) []byte {
	b := make([]byte, (n+7)&^7)
	for i := 0; i < len(b); i += 8 {
		binary.LittleEndian.PutUint64(b[i:], mrand.Uint64())
	}
	return b[:n]
}

// marshal returns the complete record(s) to send.
func (h hello) marshal() []byte {
	if h.version == platform.VersionSSL20 {
		return h.marshalSSLv2()
	}
	legacy := h.version
	if legacy == platform.VersionTLS13 {
		legacy = platform.VersionTLS12
	}
	// Sized for the whole hello up front: growing three buffers append by
	// append was most of marshal's cost.
	size := 2*len(h.suites) + 600
	body := builder{b: make([]byte, 0, size)}
	body.u16(uint16(legacy))
	body.bytes(randomBytes(32))
	body.vec(1, func() {
		if h.version == platform.VersionTLS13 {
			body.bytes(randomBytes(32)) // middlebox-compatibility session id
		}
	})
	body.vec(2, func() {
		for _, s := range h.suites {
			body.u16(s)
		}
		if h.version != platform.VersionTLS13 {
			body.u16(0x00FF) // TLS_EMPTY_RENEGOTIATION_INFO_SCSV
		}
	})
	body.vec(1, func() { body.u8(0) }) // null compression only
	if h.version >= platform.VersionTLS10 {
		body.vec(2, func() { h.extensions(&body) })
	}
	hs := builder{b: make([]byte, 0, len(body.b)+4)}
	hs.u8(1) // client_hello
	hs.vec(3, func() { hs.bytes(body.b) })

	rec := builder{b: make([]byte, 0, len(hs.b)+5)}
	rec.u8(recHandshake)
	// Record version: 0x0300 for SSLv3, else 0x0301, which every server accepts.
	if h.version == platform.VersionSSL30 {
		rec.u16(0x0300)
	} else {
		rec.u16(0x0301)
	}
	rec.vec(2, func() { rec.bytes(hs.b) })
	return rec.b
}

func (h hello) extensions(w *builder) {
	ext := func(typ uint16, f func()) {
		w.u16(typ)
		w.vec(2, f)
	}
	if h.serverName != "" {
		ext(0, func() {
			w.vec(2, func() {
				w.u8(0)
				w.vec(2, func() { w.bytes([]byte(h.serverName)) })
			})
		})
	}
	groups := groups12[:]
	if h.version == platform.VersionTLS13 {
		groups = groups13[:]
	}
	ext(10, func() { // supported_groups
		w.vec(2, func() {
			for _, g := range groups {
				w.u16(g)
			}
		})
	})
	ext(11, func() { w.vec(1, func() { w.u8(0) }) }) // ec_point_formats: uncompressed
	if h.version >= platform.VersionTLS12 {
		ext(13, func() { // signature_algorithms
			w.vec(2, func() {
				for _, s := range sigalgs {
					w.u16(s)
				}
			})
		})
	}
	if h.alpnCheck {
		ext(16, func() { // application_layer_protocol_negotiation
			w.vec(2, func() { w.vec(1, func() { w.bytes([]byte(checkProtocol)) }) })
		})
	}
	if h.version == platform.VersionTLS13 {
		ext(43, func() { w.vec(1, func() { w.u16(uint16(platform.VersionTLS13)) }) }) // supported_versions
		ext(51, func() {                                                              // key_share
			w.vec(2, func() {
				if h.shares == nil {
					return
				}
				w.u16(0x001D)
				w.vec(2, func() { w.bytes(h.shares.x25519) })
				w.u16(0x0017)
				w.vec(2, func() { w.bytes(h.shares.p256) })
			})
		})
		ext(45, func() { w.vec(1, func() { w.u8(1) }) }) // psk_key_exchange_modes: psk_dhe_ke
	}
	// Some servers and middleboxes hang on hellos of 256-511 bytes (the F5
	// bug, RFC 7685 §1); pad those to 512 as browsers do. The handshake
	// header adds 4 bytes to the body written so far, the padding
	// extension's own header 4 more.
	if n := 4 + len(w.b); n >= 256 && n < 512 {
		pad := max(508-n, 0)
		ext(21, func() { w.bytes(make([]byte, pad)) })
	}
}

// marshalSSLv2 builds an SSLv2 CLIENT-HELLO with every SSLv2 cipher kind.
func (h hello) marshalSSLv2() []byte {
	var m builder
	m.u8(1)       // MSG-CLIENT-HELLO
	m.u16(0x0002) // CLIENT-VERSION
	m.u16(uint16(3 * len(sslv2Kinds)))
	m.u16(0)  // SESSION-ID-LENGTH
	m.u16(16) // CHALLENGE-LENGTH
	for _, k := range sslv2Kinds {
		m.u8(byte(k.code >> 16))
		m.u16(uint16(k.code))
	}
	m.bytes(randomBytes(16))
	return append([]byte{0x80 | byte(len(m.b)>>8), byte(len(m.b))}, m.b...)
}

// alertError is a TLS alert received from the server.
type alertError struct{ level, desc byte }

func (e alertError) Error() string { return "alert " + alertName(e.desc) }

func alertName(d byte) string {
	switch d {
	case 0:
		return "close_notify"
	case 10:
		return "unexpected_message"
	case 20:
		return "bad_record_mac"
	case 22:
		return "record_overflow"
	case 40:
		return "handshake_failure"
	case 42:
		return "bad_certificate"
	case 47:
		return "illegal_parameter"
	case 48:
		return "unknown_ca"
	case 50:
		return "decode_error"
	case 51:
		return "decrypt_error"
	case 70:
		return "protocol_version"
	case 71:
		return "insufficient_security"
	case 80:
		return "internal_error"
	case 86:
		return "inappropriate_fallback"
	case 90:
		return "user_canceled"
	case 109:
		return "missing_extension"
	case 110:
		return "unsupported_extension"
	case 112:
		return "unrecognized_name"
	case 120:
		return "no_application_protocol"
	}
	return fmt.Sprintf("alert_%d", d)
}

// notTLSError means the peer answered with something that is not TLS.
type notTLSError struct{ msg string }

func (e notTLSError) Error() string { return "not TLS: " + e.msg }

// errClosed is a peer that closed the connection without answering.
var errClosed = errors.New("connection closed without an answer")

// isClosed reports whether err is the peer closing or resetting the
// connection. A server that closes right after accepting, with our hello
// unread, makes the kernel send a reset instead of a FIN.
func isClosed(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// describeGarbage names what a non-TLS answer looks like.
func describeGarbage(p []byte) error {
	switch {
	case bytes.HasPrefix(p, []byte("HTTP/")):
		return notTLSError{"the server answered in plain HTTP"}
	case bytes.HasPrefix(p, []byte("220")) || bytes.HasPrefix(p, []byte("+OK")) || bytes.HasPrefix(p, []byte("* OK")):
		return notTLSError{fmt.Sprintf("the server sent a plain-text greeting %q (try --starttls)", firstLine(p))}
	}
	return notTLSError{fmt.Sprintf("unexpected bytes % x", p[:min(len(p), 8)])}
}

func firstLine(p []byte) string {
	if i := bytes.IndexAny(p, "\r\n"); i >= 0 {
		p = p[:i]
	}
	return string(p[:min(len(p), 60)])
}

// recordReader reads TLS records and reassembles handshake messages that
// are split across records or share one record.
type recordReader struct {
	r     *bufio.Reader
	read  int
	hs    []byte // buffered handshake bytes not yet returned
	first bool   // nothing read yet
}

func newRecordReader(r *bufio.Reader) *recordReader { return &recordReader{r: r, first: true} }

func (rr *recordReader) readFull(p []byte) error {
	if rr.read += len(p); rr.read > maxRead {
		return fmt.Errorf("server sent more than %d bytes before the handshake answer", maxRead)
	}
	_, err := io.ReadFull(rr.r, p)
	return err
}

// record returns the next record's type and body.
func (rr *recordReader) record() (byte, []byte, error) {
	var hdr [5]byte
	if err := rr.readFull(hdr[:]); err != nil {
		if rr.first && isClosed(err) {
			return 0, nil, errClosed
		}
		if rr.first && errors.Is(err, io.ErrUnexpectedEOF) {
			return 0, nil, describeGarbage(hdr[:])
		}
		return 0, nil, readErr(err)
	}
	wasFirst := rr.first
	rr.first = false
	typ := hdr[0]
	if typ < recChangeCipherSpec || typ > recApplicationData || hdr[1] != 3 {
		if wasFirst {
			// Show a little more of what came so the verdict is useful.
			more, _ := rr.r.Peek(min(rr.r.Buffered(), 60))
			return 0, nil, describeGarbage(append(hdr[:], more...))
		}
		return 0, nil, notTLSError{fmt.Sprintf("bad record header % x", hdr)}
	}
	n := int(binary.BigEndian.Uint16(hdr[3:]))
	if n > maxRecord {
		return 0, nil, fmt.Errorf("record of %d bytes exceeds the limit of %d", n, maxRecord)
	}
	body := make([]byte, n)
	if err := rr.readFull(body); err != nil {
		return 0, nil, readErr(err)
	}
	return typ, body, nil
}

func readErr(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errors.New("connection closed in the middle of a record")
	}
	return err
}

// handshake returns the next handshake message (type and body). An alert
// record is returned as an alertError.
func (rr *recordReader) handshake() (byte, []byte, error) {
	for {
		if len(rr.hs) >= 4 {
			n := int(rr.hs[1])<<16 | int(rr.hs[2])<<8 | int(rr.hs[3])
			if n > maxHandshake {
				return 0, nil, fmt.Errorf("handshake message of %d bytes exceeds the limit of %d", n, maxHandshake)
			}
			if len(rr.hs) >= 4+n {
				typ, body := rr.hs[0], rr.hs[4:4+n]
				rr.hs = rr.hs[4+n:]
				return typ, body, nil
			}
		}
		typ, body, err := rr.record()
		if err != nil {
			return 0, nil, err
		}
		switch typ {
		case recHandshake:
			rr.hs = append(rr.hs, body...)
		case recAlert:
			if len(body) < 2 {
				return 0, nil, notTLSError{"truncated alert"}
			}
			return 0, nil, alertError{body[0], body[1]}
		case recChangeCipherSpec:
			// TLS 1.3 middlebox compatibility: ignore.
		default:
			return 0, nil, fmt.Errorf("unexpected %d record during the handshake", typ)
		}
	}
}

// serverHello is the part of a ServerHello a prober needs.
type serverHello struct {
	legacyVersion uint16
	version       platform.TLSVersion // from supported_versions when present
	random        [32]byte
	suite         uint16
	retry         bool // HelloRetryRequest
}

// parseServerHello parses a ServerHello body (without the 4-byte handshake
// header). It never panics on malformed input.
func parseServerHello(b []byte) (serverHello, error) {
	var sh serverHello
	if len(b) < 2+32+1 {
		return sh, errors.New("ServerHello too short")
	}
	sh.legacyVersion = binary.BigEndian.Uint16(b)
	sh.version = platform.TLSVersion(sh.legacyVersion)
	copy(sh.random[:], b[2:34])
	sh.retry = sh.random == helloRetryRandom
	b = b[34:]
	sid := int(b[0])
	if sid > 32 || len(b) < 1+sid+3 {
		return sh, errors.New("ServerHello: bad session id")
	}
	b = b[1+sid:]
	sh.suite = binary.BigEndian.Uint16(b)
	b = b[3:] // suite and compression method
	if len(b) == 0 {
		return sh, nil // no extensions (SSLv3, or TLS without any)
	}
	if len(b) < 2 {
		return sh, errors.New("ServerHello: truncated extensions")
	}
	n := int(binary.BigEndian.Uint16(b))
	b = b[2:]
	if n != len(b) {
		return sh, fmt.Errorf("ServerHello: extensions length %d, have %d bytes", n, len(b))
	}
	for len(b) > 0 {
		if len(b) < 4 {
			return sh, errors.New("ServerHello: truncated extension")
		}
		typ, l := binary.BigEndian.Uint16(b), int(binary.BigEndian.Uint16(b[2:]))
		if len(b) < 4+l {
			return sh, errors.New("ServerHello: extension overruns the message")
		}
		if typ == 43 { // supported_versions: the selected version
			if l != 2 {
				return sh, errors.New("ServerHello: bad supported_versions")
			}
			sh.version = platform.TLSVersion(binary.BigEndian.Uint16(b[4:]))
		}
		b = b[4+l:]
	}
	return sh, nil
}

// parseCertificate returns the first certificate's DER from a Certificate
// message of TLS <= 1.2.
func parseCertificate(b []byte) ([]byte, error) {
	if len(b) < 3 {
		return nil, errors.New("Certificate too short")
	}
	total := int(b[0])<<16 | int(b[1])<<8 | int(b[2])
	b = b[3:]
	if total != len(b) || total < 3 {
		return nil, errors.New("Certificate: bad list length")
	}
	n := int(b[0])<<16 | int(b[1])<<8 | int(b[2])
	if n > len(b)-3 || n == 0 {
		return nil, errors.New("Certificate: bad certificate length")
	}
	return b[3 : 3+n], nil
}

// sslv2Reply is what an SSLv2 SERVER-HELLO says.
type sslv2Reply struct {
	kinds []uint32
	cert  []byte
}

// readSSLv2 reads the answer to an SSLv2 CLIENT-HELLO. A modern server
// answers with a TLS alert or closes; an SSLv2 server sends SERVER-HELLO.
func readSSLv2(r *bufio.Reader) (sslv2Reply, error) {
	head, err := r.Peek(2)
	if err != nil {
		if len(head) == 0 && isClosed(err) {
			return sslv2Reply{}, errClosed
		}
		return sslv2Reply{}, readErr(err)
	}
	if head[0] == recAlert || head[0] == recHandshake {
		rr := newRecordReader(r)
		typ, body, err := rr.handshake()
		if err != nil {
			return sslv2Reply{}, err
		}
		return sslv2Reply{}, fmt.Errorf("answered with a TLS handshake message %d (%d bytes)", typ, len(body))
	}
	if head[0]&0x80 == 0 {
		more, _ := r.Peek(min(r.Buffered(), 60))
		return sslv2Reply{}, describeGarbage(more)
	}
	n := int(head[0]&0x7f)<<8 | int(head[1])
	if _, err := r.Discard(2); err != nil {
		return sslv2Reply{}, readErr(err)
	}
	msg := make([]byte, n)
	if _, err := io.ReadFull(r, msg); err != nil {
		return sslv2Reply{}, readErr(err)
	}
	return parseSSLv2ServerHello(msg)
}

func parseSSLv2ServerHello(msg []byte) (sslv2Reply, error) {
	if len(msg) >= 3 && msg[0] == 0 { // MSG-ERROR
		return sslv2Reply{}, fmt.Errorf("SSLv2 error %d", binary.BigEndian.Uint16(msg[1:]))
	}
	if len(msg) < 11 || msg[0] != 4 {
		return sslv2Reply{}, notTLSError{"malformed SSLv2 SERVER-HELLO"}
	}
	ver := binary.BigEndian.Uint16(msg[3:])
	certLen := int(binary.BigEndian.Uint16(msg[5:]))
	specLen := int(binary.BigEndian.Uint16(msg[7:]))
	if ver != 0x0002 {
		return sslv2Reply{}, fmt.Errorf("SSLv2 SERVER-HELLO with version 0x%04x", ver)
	}
	rest := msg[11:]
	if certLen+specLen > len(rest) || specLen%3 != 0 {
		return sslv2Reply{}, notTLSError{"truncated SSLv2 SERVER-HELLO"}
	}
	rep := sslv2Reply{cert: rest[:certLen]}
	specs := rest[certLen : certLen+specLen]
	for i := 0; i+3 <= len(specs); i += 3 {
		rep.kinds = append(rep.kinds, uint32(specs[i])<<16|uint32(specs[i+1])<<8|uint32(specs[i+2]))
	}
	if len(rep.kinds) == 0 {
		return rep, errors.New("SSLv2 SERVER-HELLO with no common cipher")
	}
	return rep, nil
}

// checkProtocol is the ALPN protocol of the DHE check's hellos: a name no
// server implements, so a server that insists on a common protocol
// refuses the hello, after it has selected a suite (dhecheck.go).
const checkProtocol = "tlsfloor-check/0"
