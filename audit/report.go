package audit

import "sort"

// SchemaVersion is the version of the JSON report. Bump it only for changes
// that break readers; adding fields does not.
const SchemaVersion = 1

// ComponentKind names what a component is.
type ComponentKind string

// Component kinds.
const (
	KindNginx        ComponentKind = "nginx"
	KindApache       ComponentKind = "apache"
	KindOpenSSL      ComponentKind = "openssl"
	KindSystemPolicy ComponentKind = "system-policy"
	KindSChannel     ComponentKind = "schannel"
	KindDotNet       ComponentKind = "dotnet"
	KindWinHTTP      ComponentKind = "winhttp"
	KindWinINet      ComponentKind = "wininet"
	KindLive         ComponentKind = "live"
)

// ComponentStatus says whether a component was found and evaluated.
type ComponentStatus string

// Component statuses.
const (
	StatusOK       ComponentStatus = "ok"
	StatusNotFound ComponentStatus = "not-found"
	StatusError    ComponentStatus = "error"
)

// Source says where a context's protocol set comes from.
type Source string

// Sources of an effective protocol set.
const (
	SourceDirective Source = "directive"
	SourceInherited Source = "inherited"
	SourceDefault   Source = "default"
)

// Location is a place in a file (Line > 0) or a registry key (Line == 0).
type Location struct {
	File string `json:"file"`
	Line int    `json:"line"`
}

// Context is one TLS-serving (or TLS-originating) place in a configuration:
// an nginx server block, an Apache virtual host, a proxy setting, a registry
// protocol key.
type Context struct {
	File      string      `json:"file"`
	Line      int         `json:"line"`
	Kind      string      `json:"kind"`
	Name      string      `json:"name"`
	Listen    []string    `json:"listen"`
	Protocols ProtocolSet `json:"protocols"`
	Source    Source      `json:"source"`
	From      *Location   `json:"from,omitempty"`
	Note      string      `json:"note,omitempty"`
}

// Component is one thing on the host that decides TLS versions.
type Component struct {
	Kind     ComponentKind   `json:"kind"`
	Path     string          `json:"path"`
	Version  string          `json:"version"`
	Status   ComponentStatus `json:"status"`
	Error    string          `json:"error,omitempty"`
	Notes    []string        `json:"notes,omitempty"`
	Contexts []Context       `json:"contexts"`
}

// Affect is a context that a finding's directive reaches.
type Affect struct {
	File string `json:"file"`
	Line int    `json:"line"`
	Name string `json:"name"`
}

// Finding is one evaluated problem. It is a fresh value per evaluation.
type Finding struct {
	ID          RuleID        `json:"id"`
	Severity    Severity      `json:"severity"`
	Component   ComponentKind `json:"component"`
	File        string        `json:"file"`
	Line        int           `json:"line"`
	Protocols   ProtocolSet   `json:"protocols"`
	Message     string        `json:"message"`
	Remediation string        `json:"remediation"`
	Fixable     bool          `json:"fixable"`
	Affects     []Affect      `json:"affects"`
}

// NewFinding fills severity and remediation from the catalog. Callers set the
// rest, and may override the severity with a reason in the message.
func NewFinding(id RuleID, component ComponentKind, loc Location, protocols ProtocolSet, message string) Finding {
	r, _ := LookupRule(id)
	return Finding{
		ID: id, Severity: r.Severity, Component: component,
		File: loc.File, Line: loc.Line, Protocols: protocols,
		Message: message, Remediation: r.Remediation, Affects: []Affect{},
	}
}

// Tool identifies the program that wrote a report.
type Tool struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// PolicyInfo is the policy the report was judged against.
type PolicyInfo struct {
	MinProtocol Protocol `json:"-"`
	Min         string   `json:"min_protocol"`
}

// Summary counts findings by severity.
type Summary struct {
	Compliant bool           `json:"compliant"`
	FailOn    string         `json:"fail_on"`
	Counts    map[string]int `json:"counts"`
}

// Report is the whole result of an audit. Its JSON form is the contract.
type Report struct {
	SchemaVersion int  `json:"schema_version"`
	Tool          Tool `json:"tool"`
	// Host says which machine ran the audit and which tree it read, and
	// GeneratedAt when (UTC, RFC 3339): reports collected from a fleet
	// must say where they come from. The command fills both; they are
	// left out when unknown.
	Host        *HostInfo   `json:"host,omitempty"`
	GeneratedAt string      `json:"generated_at,omitempty"`
	Policy      PolicyInfo  `json:"policy"`
	Components  []Component `json:"components"`
	Findings    []Finding   `json:"findings"`
	Summary     Summary     `json:"summary"`
}

// HostInfo identifies the audited host.
type HostInfo struct {
	Name string `json:"name"`           // os.Hostname of the machine that ran the audit
	OS   string `json:"os"`             // runtime.GOOS
	Root string `json:"root,omitempty"` // --root, "/" for the machine itself (Linux)
}

// Policy is what the audit judges against.
type Policy struct {
	// MinProtocol is the oldest protocol allowed: TLS12 (default) or TLS13.
	MinProtocol Protocol
	// FailOn is the least severity that makes the host non-compliant.
	FailOn Severity
}

// DefaultPolicy is TLS 1.2 or newer, failing on medium and above.
func DefaultPolicy() Policy { return Policy{MinProtocol: TLS12, FailOn: Medium} }

// Finalize sorts findings (most severe first, then by file and line), fills
// nil slices so JSON shows [] and computes the summary.
func (r *Report) Finalize(p Policy) {
	r.SchemaVersion = SchemaVersion
	r.Policy = PolicyInfo{MinProtocol: p.MinProtocol, Min: p.MinProtocol.String()}
	if r.Components == nil {
		r.Components = []Component{}
	}
	for i := range r.Components {
		if r.Components[i].Contexts == nil {
			r.Components[i].Contexts = []Context{}
		}
		for j := range r.Components[i].Contexts {
			if r.Components[i].Contexts[j].Listen == nil {
				r.Components[i].Contexts[j].Listen = []string{}
			}
		}
	}
	if r.Findings == nil {
		r.Findings = []Finding{}
	}
	for i := range r.Findings {
		if r.Findings[i].Affects == nil {
			r.Findings[i].Affects = []Affect{}
		}
	}
	sort.SliceStable(r.Findings, func(i, j int) bool {
		a, b := r.Findings[i], r.Findings[j]
		if a.Severity != b.Severity {
			return a.Severity > b.Severity
		}
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.ID < b.ID
	})
	counts := map[string]int{}
	for _, n := range severityNames {
		counts[n] = 0
	}
	compliant := true
	for _, f := range r.Findings {
		counts[f.Severity.String()]++
		if f.Severity >= p.FailOn {
			compliant = false
		}
	}
	r.Summary = Summary{Compliant: compliant, FailOn: p.FailOn.String(), Counts: counts}
}
