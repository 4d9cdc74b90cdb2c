package audit

import (
	"strings"
	"testing"
)

func TestFinalizeSortsAndJudges(t *testing.T) {
	r := &Report{Findings: []Finding{
		NewFinding(RuleTLS13Available, KindNginx, Location{"/b.conf", 3}, Set(TLS13), "low one"),
		NewFinding(RuleLegacyEnabled, KindNginx, Location{"/a.conf", 9}, Set(TLS10), "high one"),
		NewFinding(RuleLegacyEnabled, KindNginx, Location{"/a.conf", 2}, Set(TLS11), "high two"),
	}}
	r.Finalize(DefaultPolicy())
	var order []string
	for _, f := range r.Findings {
		order = append(order, f.Message)
	}
	if got := strings.Join(order, ","); got != "high two,high one,low one" {
		t.Errorf("order = %s", got)
	}
	if r.Summary.Compliant {
		t.Error("high findings but compliant")
	}
	if r.Summary.Counts["high"] != 2 || r.Summary.Counts["low"] != 1 || r.Summary.Counts["critical"] != 0 {
		t.Errorf("counts = %v", r.Summary.Counts)
	}
	if r.SchemaVersion != 1 || r.Policy.Min != "TLSv1.2" {
		t.Errorf("schema/policy = %d %q", r.SchemaVersion, r.Policy.Min)
	}

	low := &Report{Findings: []Finding{NewFinding(RuleTLS13Available, KindNginx, Location{}, 0, "")}}
	low.Finalize(Policy{MinProtocol: TLS12, FailOn: Medium})
	if !low.Summary.Compliant {
		t.Error("only a low finding with fail-on medium should be compliant")
	}
	low.Finalize(Policy{MinProtocol: TLS12, FailOn: Low})
	if low.Summary.Compliant {
		t.Error("low finding with fail-on low should not be compliant")
	}
}

func TestEveryRuleHasRemediation(t *testing.T) {
	seen := map[RuleID]bool{}
	for _, r := range Rules() {
		if seen[r.ID] {
			t.Errorf("duplicate rule %s", r.ID)
		}
		seen[r.ID] = true
		if r.Remediation == "" || r.Title == "" {
			t.Errorf("rule %s lacks title or remediation", r.ID)
		}
	}
}

func TestServerVersion(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"1.22.1", "1.9.1", 1}, {"1.9.1", "1.9.1", 0}, {"1.23.3", "1.23.4", -1},
		{"2.4.62", "2.4.36", 1}, {"1.27", "1.27.0", 0}, {"1.22.1-9+deb12u11", "1.22.1", 0},
	}
	for _, tt := range tests {
		a, err := ParseServerVersion(tt.a)
		if err != nil {
			t.Fatal(err)
		}
		if got := a.Compare(MustServerVersion(tt.b)); got != tt.want {
			t.Errorf("%s vs %s = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
	if _, err := ParseServerVersion("nginx"); err == nil {
		t.Error("garbage version accepted")
	}
	if (ServerVersion{}).Known() {
		t.Error("zero version known")
	}
}

func TestConfigErrorFormat(t *testing.T) {
	if got := Errorf("/etc/nginx/nginx.conf", 12, "unexpected %q", "}").Error(); got != `/etc/nginx/nginx.conf:12: unexpected "}"` {
		t.Errorf("got %s", got)
	}
	if got := Errorf("/x", 0, "unreadable").Error(); got != "/x: unreadable" {
		t.Errorf("got %s", got)
	}
}

func TestSeverityParse(t *testing.T) {
	for _, n := range SeverityNames() {
		s, err := ParseSeverity(strings.ToUpper(n))
		if err != nil || s.String() != n {
			t.Errorf("%s: %v %v", n, s, err)
		}
	}
	if _, err := ParseSeverity("severe"); err == nil {
		t.Error("bad severity accepted")
	}
}
