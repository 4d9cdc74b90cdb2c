package probe

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/tlsfloor/tlsfloor/platform"
	"github.com/tlsfloor/tlsfloor/platform/platformtest"
)

const suiteTableFile = "suites_table.go"

// TestSuiteTableDerived checks the columns of suiteTable that come from
// the names (parseSuite) and the stored offer orders (rankSuites) against
// a fresh derivation. Both are stored rather than computed at run time so
// that a probe does not parse 323 names first. To add a suite, add a row
// with Code and Name only and run
//
//	go test ./platform/probe -run TestSuiteTableDerived -update
func TestSuiteTableDerived(t *testing.T) {
	src, err := os.ReadFile(suiteTableFile)
	if err != nil {
		t.Fatal(err)
	}
	want := renderSuiteTable(t, string(src))
	if string(src) == want {
		return
	}
	if *platformtest.Update {
		if err := os.WriteFile(suiteTableFile, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("%s is out of date with parseSuite/rankSuites; run go test ./platform/probe -run TestSuiteTableDerived -update", suiteTableFile)
	for i, s := range suiteTable {
		if d := parseSuite(s.Code, s.Name); d != s {
			t.Errorf("row %d: stored %+v, derived %+v", i, s, d)
		}
	}
	for _, v := range platform.ProbeVersions()[1:] {
		if got, want := offerOrder(v), rankSuites(v); !slices.Equal(got, want) {
			t.Errorf("%s offer order: stored %04X, ranked %04X", v, got, want)
		}
	}
}

// renderSuiteTable rewrites everything after the header comment of the
// table file: the rows, each with its derived columns, and the offer
// orders.
func renderSuiteTable(t *testing.T, src string) string {
	const start = "var suiteTable = [...]Suite{\n"
	i := strings.Index(src, start)
	if i < 0 {
		t.Fatalf("%s: no %q", suiteTableFile, start)
	}
	var b strings.Builder
	b.WriteString(src[:i+len(start)])
	derived := make([]Suite, 0, len(suiteTable))
	for _, s := range suiteTable {
		d := parseSuite(s.Code, s.Name)
		derived = append(derived, d)
		fmt.Fprintf(&b, "\t{Code: 0x%04X, Name: %q, Kx: %q, Auth: %q, Enc: %q, MAC: %q", d.Code, d.Name, d.Kx, d.Auth, d.Enc, d.MAC)
		if d.Export {
			b.WriteString(", Export: true")
		}
		fmt.Fprintf(&b, ", MinVersion: %s", versionConst(t, d.MinVersion))
		if d.TLS13 {
			b.WriteString(", TLS13: true")
		}
		fmt.Fprintf(&b, ", Grade: %s", gradeConst(t, d.Grade))
		if d.Reason != "" {
			fmt.Fprintf(&b, ", Reason: %q", d.Reason)
		}
		b.WriteString("},\n")
	}
	b.WriteString("}\n\n")
	b.WriteString("// Offer orders per version, from rankSuites (see offerOrder).\nvar (\n")
	for _, v := range platform.ProbeVersions()[1:] {
		fmt.Fprintf(&b, "\toffer%s = [...]uint16{", strings.TrimPrefix(versionConst(t, v), "platform.Version"))
		for j, c := range rankSuitesFrom(derived, v) {
			if j%12 == 0 {
				b.WriteString("\n\t\t")
			} else {
				b.WriteString(" ")
			}
			fmt.Fprintf(&b, "0x%04X,", c)
		}
		b.WriteString("\n\t}\n")
	}
	b.WriteString(")\n")
	return b.String()
}

func versionConst(t *testing.T, v platform.TLSVersion) string {
	switch v {
	case platform.VersionSSL30:
		return "platform.VersionSSL30"
	case platform.VersionTLS10:
		return "platform.VersionTLS10"
	case platform.VersionTLS11:
		return "platform.VersionTLS11"
	case platform.VersionTLS12:
		return "platform.VersionTLS12"
	case platform.VersionTLS13:
		return "platform.VersionTLS13"
	}
	t.Fatalf("no constant for version %v", v)
	return ""
}

func gradeConst(t *testing.T, g string) string {
	switch g {
	case GradeStrong:
		return "GradeStrong"
	case GradeWeak:
		return "GradeWeak"
	case GradeInsecure:
		return "GradeInsecure"
	}
	t.Fatalf("no constant for grade %q", g)
	return ""
}
