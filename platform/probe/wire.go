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
	"syscall"

	"github.com/tlsfloor/tlsfloor/platform"
	"github.com/tlsfloor/tlsfloor/platform/probe/clienthello"
)

// Size caps: a peer must not make us allocate without bound.
const (
	maxRecord    = 16384 + 2048 // TLSCiphertext.length limit (RFC 5246 §6.2.3)
	maxHandshake = 1 << 18      // a certificate chain rarely exceeds a few KiB; 256 KiB is generous
	maxRead      = 1 << 19      // total bytes read from one connection
	chunkSize    = clienthello.ChunkSize
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

// keyShares are the public keys a TLS 1.3 hello offers (see
// clienthello.KeyShares).
type keyShares = clienthello.KeyShares

func newKeyShares() (keyShares, error) {
	x, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		return keyShares{}, fmt.Errorf("x25519 key: %w", err)
	}
	p, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		return keyShares{}, fmt.Errorf("p256 key: %w", err)
	}
	return keyShares{X25519: x.PublicKey().Bytes(), P256: p.PublicKey().Bytes()}, nil
}

// hello describes one ClientHello; clienthello builds its bytes.
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

// wire is h in clienthello's terms.
func (h hello) wire() clienthello.Hello {
	w := clienthello.Hello{Version: uint16(h.version), Suites: h.suites, ServerName: h.serverName, Shares: h.shares}
	if h.alpnCheck {
		w.ALPN = checkProtocol
	}
	return w
}

// marshal returns the complete record(s) to send.
func (h hello) marshal() []byte { return h.wire().Marshal() }

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
