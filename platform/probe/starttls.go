package probe

import (
	"bufio"
	"fmt"
	"net"
	"strings"
)

// StartTLS protocols and the ports that imply them.
const (
	StartTLSSMTP = "smtp"
	StartTLSIMAP = "imap"
	StartTLSPOP3 = "pop3"
	StartTLSFTP  = "ftp"
)

// ValidStartTLS reports whether s names a supported STARTTLS protocol ("" is
// plain TLS).
func ValidStartTLS(s string) bool {
	switch s {
	case "", StartTLSSMTP, StartTLSIMAP, StartTLSPOP3, StartTLSFTP:
		return true
	}
	return false
}

// StartTLSForPort returns the STARTTLS protocol a well-known port implies:
// 25 and 587 speak SMTP with STARTTLS (RFC 3207), 143 IMAP and 110 POP3
// with STARTTLS/STLS (RFC 2595), 21 FTP with AUTH TLS (RFC 4217). 465, 993
// and 995 are implicit TLS (RFC 8314) and need none, like every other port.
func StartTLSForPort(port string) string {
	switch port {
	case "25", "587":
		return StartTLSSMTP
	case "143":
		return StartTLSIMAP
	case "110":
		return StartTLSPOP3
	case "21":
		return StartTLSFTP
	}
	return ""
}

// StartTLSError is a server that would not upgrade to TLS: it is reported
// apart from protocol verdicts because it says nothing about TLS versions.
type StartTLSError struct {
	Proto string
	Reply string
}

func (e *StartTLSError) Error() string {
	return fmt.Sprintf("STARTTLS unavailable (%s): %q", e.Proto, e.Reply)
}

const (
	maxLine  = 4096
	maxLines = 200
)

// readLine reads one CRLF- or LF-terminated line of at most maxLine bytes.
func readLine(r *bufio.Reader) (string, error) {
	var sb strings.Builder
	for {
		frag, err := r.ReadSlice('\n')
		sb.Write(frag)
		if sb.Len() > maxLine {
			return "", fmt.Errorf("line longer than %d bytes", maxLine)
		}
		if err == nil {
			return strings.TrimRight(sb.String(), "\r\n"), nil
		}
		if err != bufio.ErrBufferFull {
			return "", readErr(err)
		}
	}
}

// readReply reads a possibly multi-line reply in the SMTP/FTP style
// ("250-..." continues, "250 ..." ends) and returns its lines.
func readReply(r *bufio.Reader) ([]string, error) {
	var lines []string
	for range maxLines {
		l, err := readLine(r)
		if err != nil {
			return lines, err
		}
		lines = append(lines, l)
		if len(l) < 4 || l[3] != '-' {
			return lines, nil
		}
	}
	return lines, fmt.Errorf("reply longer than %d lines", maxLines)
}

func code(lines []string, want string) bool {
	return len(lines) > 0 && strings.HasPrefix(lines[len(lines)-1], want)
}

func last(lines []string) string {
	if len(lines) == 0 {
		return ""
	}
	return lines[len(lines)-1]
}

// startTLS runs the plain-text preamble of proto on conn, leaving the
// connection ready for a ClientHello. r must be the reader used afterwards,
// since it may hold buffered bytes.
func startTLS(conn net.Conn, r *bufio.Reader, proto string) error {
	send := func(s string) error {
		_, err := conn.Write([]byte(s + "\r\n"))
		return err
	}
	switch proto {
	case "":
		return nil
	case StartTLSSMTP:
		greet, err := readReply(r)
		if err != nil {
			return fmt.Errorf("smtp greeting: %w", err)
		}
		if !code(greet, "220") {
			return &StartTLSError{proto, last(greet)}
		}
		if err := send("EHLO " + ehloName(conn)); err != nil {
			return err
		}
		ehlo, err := readReply(r)
		if err != nil {
			return fmt.Errorf("smtp EHLO: %w", err)
		}
		if !code(ehlo, "250") {
			return &StartTLSError{proto, last(ehlo)}
		}
		// Send STARTTLS even if it is not advertised: the reply (454, 502)
		// is the clearest evidence.
		if err := send("STARTTLS"); err != nil {
			return err
		}
		rep, err := readReply(r)
		if err != nil {
			return fmt.Errorf("smtp STARTTLS: %w", err)
		}
		if !code(rep, "220") {
			return &StartTLSError{proto, last(rep)}
		}
	case StartTLSFTP:
		greet, err := readReply(r)
		if err != nil {
			return fmt.Errorf("ftp greeting: %w", err)
		}
		if !code(greet, "220") {
			return &StartTLSError{proto, last(greet)}
		}
		if err := send("AUTH TLS"); err != nil {
			return err
		}
		rep, err := readReply(r)
		if err != nil {
			return fmt.Errorf("ftp AUTH TLS: %w", err)
		}
		if !code(rep, "234") {
			return &StartTLSError{proto, last(rep)}
		}
	case StartTLSIMAP:
		greet, err := readLine(r)
		if err != nil {
			return fmt.Errorf("imap greeting: %w", err)
		}
		if !strings.HasPrefix(greet, "* OK") {
			return &StartTLSError{proto, greet}
		}
		if err := send("a001 STARTTLS"); err != nil {
			return err
		}
		for range maxLines {
			l, err := readLine(r)
			if err != nil {
				return fmt.Errorf("imap STARTTLS: %w", err)
			}
			if strings.HasPrefix(l, "a001 ") {
				if strings.HasPrefix(l, "a001 OK") {
					return nil
				}
				return &StartTLSError{proto, l}
			}
		}
		return &StartTLSError{proto, "no tagged reply"}
	case StartTLSPOP3:
		greet, err := readLine(r)
		if err != nil {
			return fmt.Errorf("pop3 greeting: %w", err)
		}
		if !strings.HasPrefix(greet, "+OK") {
			return &StartTLSError{proto, greet}
		}
		if err := send("STLS"); err != nil {
			return err
		}
		rep, err := readLine(r)
		if err != nil {
			return fmt.Errorf("pop3 STLS: %w", err)
		}
		if !strings.HasPrefix(rep, "+OK") {
			return &StartTLSError{proto, rep}
		}
	default:
		return fmt.Errorf("unknown STARTTLS protocol %q", proto)
	}
	return nil
}

// ehloName is our address literal (RFC 5321 §4.1.3): we have no name to
// claim and must not look one up.
func ehloName(conn net.Conn) string {
	if a, ok := conn.LocalAddr().(*net.TCPAddr); ok {
		if a.IP.To4() != nil {
			return "[" + a.IP.String() + "]"
		}
		return "[IPv6:" + a.IP.String() + "]"
	}
	return "[127.0.0.1]"
}
