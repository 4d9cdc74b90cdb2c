package probe

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tlsfloor/tlsfloor/audit"
	"github.com/tlsfloor/tlsfloor/platform"
)

// SchemaVersion is the version of probe's JSON output.
const SchemaVersion = 1

type jsonDoc struct {
	SchemaVersion int          `json:"schema_version"`
	MinProtocol   string       `json:"min_protocol"`
	Targets       []jsonTarget `json:"targets"`
}

type jsonTarget struct {
	Target      string        `json:"target"`
	Address     string        `json:"address"`
	StartTLS    string        `json:"starttls"`
	SNI         string        `json:"sni"`
	Compliant   bool          `json:"compliant"`
	Reason      string        `json:"reason"`
	Error       string        `json:"error"`
	Versions    []jsonVersion `json:"versions"`
	Ciphers     []jsonCipher  `json:"ciphers"`
	Certificate *jsonCert     `json:"certificate"`
	ElapsedMS   int64         `json:"elapsed_ms"`
}

type jsonVersion struct {
	Protocol    string `json:"protocol"`
	Accepted    bool   `json:"accepted"`
	Cipher      string `json:"cipher"`
	Error       string `json:"error"`
	CipherOrder string `json:"cipher_order,omitempty"`
}

type jsonCipher struct {
	Protocol string `json:"protocol"`
	Name     string `json:"name"`
	Code     string `json:"code"`
	Grade    string `json:"grade"`
	Reason   string `json:"reason"`
}

type jsonCert struct {
	Subject  string `json:"subject"`
	NotAfter string `json:"not_after"`
}

// protoName is the audit report's spelling of a wire version.
func protoName(v platform.TLSVersion) string {
	if p, ok := audit.ParseProtocol(v.String()); ok {
		return p.String()
	}
	return v.String()
}

// WriteJSON renders the outcomes as the versioned JSON document.
func WriteJSON(w io.Writer, outs []Outcome, min audit.Protocol) error {
	doc := jsonDoc{SchemaVersion: SchemaVersion, MinProtocol: min.String(), Targets: []jsonTarget{}}
	for _, o := range outs {
		r := o.Result
		jt := jsonTarget{
			Target: o.Target.Arg, Address: r.Address, StartTLS: o.Target.StartTLS, SNI: o.Target.ServerName,
			Compliant: o.Compliant, Reason: o.Reason, Error: r.Error,
			Versions: []jsonVersion{}, Ciphers: []jsonCipher{}, ElapsedMS: r.Elapsed.Milliseconds(),
		}
		for _, v := range r.Versions {
			jt.Versions = append(jt.Versions, jsonVersion{Protocol: protoName(v.Version), Accepted: v.Accepted, Cipher: v.Cipher, Error: v.Error, CipherOrder: v.ServerOrder})
		}
		for _, c := range r.Ciphers {
			code := fmt.Sprintf("0x%04X", c.Code)
			if c.Version == platform.VersionSSL20 {
				code = fmt.Sprintf("0x%06X", c.Code)
			}
			jt.Ciphers = append(jt.Ciphers, jsonCipher{Protocol: protoName(c.Version), Name: c.Name, Code: code, Grade: c.Grade, Reason: c.Reason})
		}
		if c := r.Certificate; c != nil {
			jt.Certificate = &jsonCert{Subject: c.Subject, NotAfter: c.NotAfter.UTC().Format(time.RFC3339)}
		}
		doc.Targets = append(doc.Targets, jt)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}

// WriteText renders the outcomes for people.
func WriteText(w io.Writer, outs []Outcome, min audit.Protocol) error {
	var b strings.Builder
	for i, o := range outs {
		if i > 0 {
			b.WriteString("\n")
		}
		r := o.Result
		head := o.Target.Arg
		if r.Address != "" && r.Address != o.Target.Arg {
			head += " (" + r.Address + ")"
		}
		if o.Target.StartTLS != "" {
			head += ", STARTTLS " + o.Target.StartTLS
		}
		if o.Target.ServerName != "" {
			head += ", SNI " + o.Target.ServerName
		}
		fmt.Fprintf(&b, "%s\n", head)
		if !o.Reachable {
			fmt.Fprintf(&b, "  ERROR: %s\n", o.Reason)
			continue
		}
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		for _, v := range r.Versions {
			state, detail := "refused", v.Error
			if v.Accepted {
				state, detail = "accepted", v.Cipher
				if v.Version.Legacy() {
					state = "ACCEPTED"
				}
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", protoName(v.Version), state, detail)
		}
		_ = tw.Flush()
		if len(r.Ciphers) > 0 {
			order := map[platform.TLSVersion]string{}
			for _, v := range r.Versions {
				order[v.Version] = v.ServerOrder
			}
			var cur platform.TLSVersion = 0xFFFF
			tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
			for _, c := range r.Ciphers {
				if c.Version != cur {
					cur = c.Version
					_ = tw.Flush()
					note := ""
					if o := order[cur]; o != "" {
						note = " (" + o + " chooses the order)"
					}
					fmt.Fprintf(&b, "  %s cipher suites%s:\n", protoName(cur), note)
				}
				grade := c.Grade
				if c.Reason != "" {
					grade += ": " + c.Reason
				}
				fmt.Fprintf(tw, "    %s\t%s\n", c.Name, grade)
			}
			_ = tw.Flush()
		}
		if c := r.Certificate; c != nil {
			fmt.Fprintf(&b, "  certificate: %s, expires %s\n", c.Subject, c.NotAfter.UTC().Format("2006-01-02"))
		}
		if o.Compliant {
			fmt.Fprintf(&b, "  OK: meets the policy (%s or newer); probed in %d ms\n", min, r.Elapsed.Milliseconds())
		} else {
			fmt.Fprintf(&b, "  FAIL: %s; probed in %d ms\n", o.Reason, r.Elapsed.Milliseconds())
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
