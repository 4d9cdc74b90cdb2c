package remediate

import (
	"testing"

	"github.com/tlsfloor/tlsfloor/audit"
)

func TestAfter(t *testing.T) {
	src := []byte("0123456789")
	tests := []struct {
		name  string
		edits []Edit
		want  string
		err   bool
	}{
		{"none", nil, "0123456789", false},
		{"replace", []Edit{{Start: 2, End: 4, New: "ab"}}, "01ab456789", false},
		{"unsorted", []Edit{{Start: 8, End: 9, New: "X"}, {Start: 0, End: 1, New: "Y"}}, "Y1234567X9", false},
		{"same-offset inserts keep their order", []Edit{{Start: 5, End: 5, New: "a"}, {Start: 5, End: 5, New: "b"}}, "01234ab56789", false},
		{"insert then replace at the same offset", []Edit{{Start: 5, End: 5, New: "a"}, {Start: 5, End: 6, New: "b"}}, "01234ab6789", false},
		{"delete", []Edit{{Start: 0, End: 10}}, "", false},
		{"overlap", []Edit{{Start: 1, End: 4}, {Start: 3, End: 5}}, "", true},
		{"out of range", []Edit{{Start: 9, End: 11}}, "", true},
		{"negative", []Edit{{Start: -1, End: 1}}, "", true},
		{"end before start", []Edit{{Start: 4, End: 3}}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fc := NewFileChange("/f", "/f", src, 0o644)
			fc.Edits = tt.edits
			got, err := fc.After()
			if (err != nil) != tt.err {
				t.Fatalf("err = %v, want error %v", err, tt.err)
			}
			if !tt.err && string(got) != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestPolicyTarget(t *testing.T) {
	yes, no := Support{TLS13: true}, Support{Why: "old"}
	tests := []struct {
		pol  Policy
		s    Support
		want string
		note bool
		err  bool
	}{
		{DefaultPolicy(), yes, "TLSv1.2 TLSv1.3", false, false},
		{DefaultPolicy(), no, "TLSv1.2", true, false},
		{Policy{Min: audit.TLS12, TLS13: TLS13Off}, yes, "TLSv1.2", false, false},
		{Policy{Min: audit.TLS12, TLS13: TLS13On}, no, "TLSv1.2 TLSv1.3", true, false},
		{Policy{Min: audit.TLS13, TLS13: TLS13Auto}, yes, "TLSv1.3", false, false},
		{Policy{Min: audit.TLS13, TLS13: TLS13Auto}, no, "", false, true},
		{Policy{Min: audit.TLS13, TLS13: TLS13On}, no, "TLSv1.3", false, false},
	}
	for _, tt := range tests {
		set, note, err := tt.pol.Target(tt.s)
		if (err != nil) != tt.err || (!tt.err && set.String() != tt.want) || (note != "") != tt.note {
			t.Errorf("%+v %+v: %v %q %v", tt.pol, tt.s, set, note, err)
		}
	}
	set := audit.Set(audit.TLS12, audit.TLS13)
	if got := Join(ApacheArgs(set)); got != "-all +TLSv1.2 +TLSv1.3" {
		t.Errorf("Apache spelling %q", got)
	}
	if got := Join(NginxArgs(set)); got != "TLSv1.2 TLSv1.3" {
		t.Errorf("nginx spelling %q", got)
	}
}
