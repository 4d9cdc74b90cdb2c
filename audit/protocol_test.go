package audit

import (
	"encoding/json"
	"testing"
)

func TestParseProtocolSpellings(t *testing.T) {
	tests := []struct {
		in   string
		want Protocol
	}{
		{"SSLv2", SSLv2}, {"sslv3", SSLv3}, {"SSL 3.0", SSLv3},
		{"TLSv1", TLS10}, {"TLSv1.0", TLS10}, {"TLS 1.0", TLS10}, {"tls1", TLS10},
		{"TLSv1.1", TLS11}, {"TLS 1.1", TLS11}, {"1.1", TLS11},
		{"tlsv1.2", TLS12}, {"tls1_2", TLS12}, {"1.2", TLS12},
		{"TLSv1.3", TLS13}, {"TLS 1.3", TLS13},
		{" TLSv1.2\n", TLS12}, {"TLS-1.2", TLS12}, {"TLS1_3", TLS13}, {"TLSV1.1", TLS11},
	}
	for _, tt := range tests {
		got, ok := ParseProtocol(tt.in)
		if !ok || got != tt.want {
			t.Errorf("ParseProtocol(%q) = %v, %v; want %v", tt.in, got, ok, tt.want)
		}
	}
	for _, bad := range []string{"", "TLSv1.4", "all", "+TLSv1.2", "SSLv4", "TLSv1.2x", "TLSv1.2+"} {
		if p, ok := ParseProtocol(bad); ok {
			t.Errorf("ParseProtocol(%q) = %v, want failure", bad, p)
		}
	}
}

func TestProtocolSetAlgebra(t *testing.T) {
	all := Set(SSLv2, SSLv3, TLS10, TLS11, TLS12, TLS13)
	if got := all.Below(TLS12); got != Legacy {
		t.Errorf("Below(TLS12) = %v, want %v", got, Legacy)
	}
	if got := all.AtLeast(TLS12); got != Set(TLS12, TLS13) {
		t.Errorf("AtLeast(TLS12) = %v", got)
	}
	s := Set(TLS10, TLS12)
	if mn, _ := s.Min(); mn != TLS10 {
		t.Errorf("Min = %v", mn)
	}
	if mx, _ := s.Max(); mx != TLS12 {
		t.Errorf("Max = %v", mx)
	}
	if _, ok := ProtocolSet(0).Min(); ok {
		t.Error("Min of empty set reported ok")
	}
	if got := s.Without(TLS10).With(TLS13); got != Set(TLS12, TLS13) {
		t.Errorf("Without/With = %v", got)
	}
	if s.Has(TLS11) || !s.Has(TLS12) {
		t.Error("Has wrong")
	}
	if got := s.String(); got != "TLSv1.0 TLSv1.2" {
		t.Errorf("String = %q", got)
	}
	if got := ProtocolSet(0).String(); got != "none" {
		t.Errorf("empty String = %q", got)
	}
	if s.Len() != 2 || all.Len() != 6 {
		t.Error("Len wrong")
	}
	if TLS10.NginxName() != "TLSv1" || TLS12.NginxName() != "TLSv1.2" {
		t.Error("NginxName wrong")
	}
}

func TestProtocolSetJSONRoundTrip(t *testing.T) {
	for set := ProtocolSet(0); set < 1<<6; set++ {
		b, err := json.Marshal(set)
		if err != nil {
			t.Fatal(err)
		}
		var back ProtocolSet
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		if back != set {
			t.Fatalf("round trip %v -> %s -> %v", set, b, back)
		}
	}
	b, _ := json.Marshal(ProtocolSet(0))
	if string(b) != "[]" {
		t.Errorf("empty set JSON = %s, want []", b)
	}
	var s ProtocolSet
	if err := json.Unmarshal([]byte(`["TLSv5"]`), &s); err == nil {
		t.Error("unknown protocol accepted")
	}
}

func FuzzProtocolSetString(f *testing.F) {
	f.Add("TLSv1 TLSv1.2")
	f.Add("SSLv3,TLSv1.3")
	f.Fuzz(func(t *testing.T, s string) {
		set, err := ParseProtocolSet(s)
		if err != nil {
			return
		}
		if set.Empty() {
			return
		}
		back, err := ParseProtocolSet(set.String())
		if err != nil || back != set {
			t.Fatalf("%q -> %v -> %q -> %v, %v", s, set, set.String(), back, err)
		}
	})
}
