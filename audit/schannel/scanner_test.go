package schannel

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/tlsfloor/tlsfloor/audit"
	"github.com/tlsfloor/tlsfloor/audit/report"
	"github.com/tlsfloor/tlsfloor/platform"
)

func TestScannerReport(t *testing.T) {
	if _, err := (Scanner{}).Scan(context.Background(), &audit.Env{Policy: audit.DefaultPolicy()}); !errors.Is(err, platform.ErrUnsupportedPlatform) {
		t.Fatalf("without a registry: %v", err)
	}
	reg := windows(t, 17763, "Windows Server 2019 Datacenter", "Server")
	env := &audit.Env{Registry: reg, Policy: audit.DefaultPolicy()}
	rep, err := audit.Run(context.Background(), env, audit.Tool{Name: "tlsfloor", Version: "test"}, []audit.Scanner{Scanner{}})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := report.WriteJSON(&buf, rep); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Components []struct {
			Kind     string `json:"kind"`
			Contexts []struct {
				File   string `json:"file"`
				Line   int    `json:"line"`
				Source string `json:"source"`
			} `json:"contexts"`
		} `json:"components"`
		Findings []struct {
			ID   string `json:"id"`
			File string `json:"file"`
			Line int    `json:"line"`
		} `json:"findings"`
		Summary struct {
			Compliant bool `json:"compliant"`
		} `json:"summary"`
	}
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, c := range got.Components {
		kinds = append(kinds, c.Kind)
		for _, x := range c.Contexts {
			if x.Line != 0 || x.File == "" || (x.Source != "default" && x.Source != "directive") {
				t.Errorf("%s context %+v", c.Kind, x)
			}
		}
	}
	if want := []string{"schannel", "dotnet", "winhttp", "wininet"}; len(kinds) != 4 || kinds[0] != want[0] || kinds[1] != want[1] || kinds[2] != want[2] || kinds[3] != want[3] {
		t.Errorf("components %v, want %v", kinds, want)
	}
	if got.Summary.Compliant || len(got.Findings) == 0 {
		t.Errorf("untouched Server 2019 judged compliant")
	}
	for _, f := range got.Findings {
		if f.Line != 0 || len(f.File) < 5 || f.File[:5] != `HKLM\` && f.File[:5] != `HKCU\` {
			t.Errorf("finding %+v: want a registry key path and line 0", f)
		}
	}
}
