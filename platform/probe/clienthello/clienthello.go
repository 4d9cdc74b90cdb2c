// Package clienthello builds the ClientHello messages of tlsfloor's prober:
// TLS 1.0-1.3 hellos (TLS 1.3 through supported_versions), the SSLv3 hello
// and the SSLv2 CLIENT-HELLO, and the order in which each version offers
// its cipher suites.
//
// It imports nothing beyond the lowest layers of the standard library
// (math/rand/v2; not even strings or encoding/binary, which bring unicode
// and reflect) on purpose: Go initialises a package as soon as its imports
// are, so this one, and prestart on top of it, are ready a few hundred
// microseconds into a run of tlsfloor, long before net, crypto/x509 or
// the command tree. That lets `tlsfloor probe` send
// its first hellos while the rest of the program still initialises (see
// package prestart). cmd/probe/early's TestLightDependencies keeps it that way.
package clienthello

import mrand "math/rand/v2"

// Protocol versions as they appear on the wire (platform.TLSVersion has
// the same values).
const (
	SSL20 uint16 = 0x0002
	SSL30 uint16 = 0x0300
	TLS10 uint16 = 0x0301
	TLS11 uint16 = 0x0302
	TLS12 uint16 = 0x0303
	TLS13 uint16 = 0x0304
)

// ChunkSize is the most suites one ClientHello offers; it keeps hellos
// around 300-600 bytes, which old servers and middleboxes accept.
const ChunkSize = 128

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

// SSLv2CipherKinds are the SSLv2 CIPHER-KINDs (3 bytes each, RFC draft
// "The SSL Protocol" 1995, appendix A) that the SSLv2 hello offers.
var SSLv2CipherKinds = [...]uint32{0x010080, 0x020080, 0x030080, 0x040080, 0x050080, 0x060040, 0x0700C0}

// KeyShares are the public keys a TLS 1.3 hello offers. They are valid
// points so a server that picks them can proceed to its ServerHello; the
// private keys are thrown away because the prober never derives a secret.
type KeyShares struct {
	X25519, P256 []byte
}

// Hello describes one ClientHello.
type Hello struct {
	Version    uint16
	Suites     []uint16
	ServerName string
	// Shares, when non-nil, go into a TLS 1.3 key_share; nil sends an empty
	// key_share so the server answers with a HelloRetryRequest, which names
	// its suite at no cryptographic cost to either side.
	Shares *KeyShares
	// ALPN, when set, is the one protocol the hello offers in an
	// application_layer_protocol_negotiation extension.
	ALPN string
}

// VersionCheck is the first hello of the versions check for v: every
// suite of v's offer order up to ChunkSize (none for SSLv2), and an empty
// key_share for TLS 1.3.
func VersionCheck(v uint16, serverName string) Hello {
	h := Hello{Version: v, ServerName: serverName}
	if c := Chunks(OfferOrder(v)); len(c) > 0 {
		h.Suites = c[0]
	}
	return h
}

// Chunks splits codes into hellos of at most ChunkSize suites.
func Chunks(codes []uint16) [][]uint16 {
	var out [][]uint16
	for len(codes) > 0 {
		n := min(ChunkSize, len(codes))
		out = append(out, codes[:n])
		codes = codes[n:]
	}
	return out
}

// OfferOrder returns a copy of the order in which version v offers its
// suites (stored in offer_table.go), or nil for SSLv2 and unknown versions.
func OfferOrder(v uint16) []uint16 {
	var order []uint16
	switch v {
	case SSL30:
		order = offerSSL30[:]
	case TLS10:
		order = offerTLS10[:]
	case TLS11:
		order = offerTLS11[:]
	case TLS12:
		order = offerTLS12[:]
	case TLS13:
		order = offerTLS13[:]
	default:
		return nil
	}
	return append([]uint16(nil), order...)
}

// Marshal returns the complete record(s) to send, with fresh random bytes.
func (h Hello) Marshal() []byte { return h.marshal(randomBytes) }

// Key identifies the hello by every byte it sends except the random ones:
// two hellos with equal keys are the same question to a server.
func (h Hello) Key() string { return string(h.marshal(func(n int) []byte { return make([]byte, n) })) }

type builder struct{ b []byte }

func (w *builder) u8(v byte)    { w.b = append(w.b, v) }
func (w *builder) u16(v uint16) { w.b = append(w.b, byte(v>>8), byte(v)) }
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
	b := make([]byte, n)
	var r uint64
	for i := range b {
		if i%8 == 0 {
			r = mrand.Uint64()
		}
		b[i] = byte(r)
		r >>= 8
	}
	return b
}

func (h Hello) marshal(random func(int) []byte) []byte {
	if h.Version == SSL20 {
		return h.marshalSSLv2(random)
	}
	legacy := h.Version
	if legacy == TLS13 {
		legacy = TLS12
	}
	// Sized for the whole hello up front: growing three buffers append by
	// append was most of marshal's cost.
	size := 2*len(h.Suites) + 600
	body := builder{b: make([]byte, 0, size)}
	body.u16(legacy)
	body.bytes(random(32))
	body.vec(1, func() {
		if h.Version == TLS13 {
			body.bytes(random(32)) // middlebox-compatibility session id
		}
	})
	body.vec(2, func() {
		for _, s := range h.Suites {
			body.u16(s)
		}
		if h.Version != TLS13 {
			body.u16(0x00FF) // TLS_EMPTY_RENEGOTIATION_INFO_SCSV
		}
	})
	body.vec(1, func() { body.u8(0) }) // null compression only
	if h.Version >= TLS10 {
		body.vec(2, func() { h.extensions(&body) })
	}
	hs := builder{b: make([]byte, 0, len(body.b)+4)}
	hs.u8(1) // client_hello
	hs.vec(3, func() { hs.bytes(body.b) })

	rec := builder{b: make([]byte, 0, len(hs.b)+5)}
	rec.u8(22) // handshake
	// Record version: 0x0300 for SSLv3, else 0x0301, which every server accepts.
	if h.Version == SSL30 {
		rec.u16(0x0300)
	} else {
		rec.u16(0x0301)
	}
	rec.vec(2, func() { rec.bytes(hs.b) })
	return rec.b
}

func (h Hello) extensions(w *builder) {
	ext := func(typ uint16, f func()) {
		w.u16(typ)
		w.vec(2, f)
	}
	if h.ServerName != "" {
		ext(0, func() {
			w.vec(2, func() {
				w.u8(0)
				w.vec(2, func() { w.bytes([]byte(h.ServerName)) })
			})
		})
	}
	groups := groups12[:]
	if h.Version == TLS13 {
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
	if h.Version >= TLS12 {
		ext(13, func() { // signature_algorithms
			w.vec(2, func() {
				for _, s := range sigalgs {
					w.u16(s)
				}
			})
		})
	}
	if h.ALPN != "" {
		ext(16, func() { // application_layer_protocol_negotiation
			w.vec(2, func() { w.vec(1, func() { w.bytes([]byte(h.ALPN)) }) })
		})
	}
	if h.Version == TLS13 {
		ext(43, func() { w.vec(1, func() { w.u16(TLS13) }) }) // supported_versions
		ext(51, func() {                                      // key_share
			w.vec(2, func() {
				if h.Shares == nil {
					return
				}
				w.u16(0x001D)
				w.vec(2, func() { w.bytes(h.Shares.X25519) })
				w.u16(0x0017)
				w.vec(2, func() { w.bytes(h.Shares.P256) })
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
func (h Hello) marshalSSLv2(random func(int) []byte) []byte {
	var m builder
	m.u8(1)       // MSG-CLIENT-HELLO
	m.u16(0x0002) // CLIENT-VERSION
	m.u16(uint16(3 * len(SSLv2CipherKinds)))
	m.u16(0)  // SESSION-ID-LENGTH
	m.u16(16) // CHALLENGE-LENGTH
	for _, k := range SSLv2CipherKinds {
		m.u8(byte(k >> 16))
		m.u16(uint16(k))
	}
	m.bytes(random(16))
	return append([]byte{0x80 | byte(len(m.b)>>8), byte(len(m.b))}, m.b...)
}
