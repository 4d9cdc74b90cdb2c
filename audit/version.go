package audit

import (
	"fmt"
	"strconv"
	"strings"
)

// ServerVersion is a dotted numeric version of a server such as nginx 1.22.1
// or httpd 2.4.62. The zero value means "unknown". OpenSSL versions, which
// carry letters, live in audit/openssl.
type ServerVersion struct {
	Parts []int
}

// ParseServerVersion reads "1.22.1" (a leading "v" and a trailing
// non-numeric tail such as "-9+deb12u11" are ignored).
func ParseServerVersion(s string) (ServerVersion, error) {
	t := strings.TrimPrefix(strings.TrimSpace(s), "v")
	end := 0
	for end < len(t) && (t[end] == '.' || (t[end] >= '0' && t[end] <= '9')) {
		end++
	}
	t = strings.TrimRight(t[:end], ".")
	if t == "" {
		return ServerVersion{}, fmt.Errorf("invalid version %q", s)
	}
	var v ServerVersion
	for _, f := range strings.Split(t, ".") {
		n, err := strconv.Atoi(f)
		if err != nil {
			return ServerVersion{}, fmt.Errorf("invalid version %q", s)
		}
		v.Parts = append(v.Parts, n)
	}
	return v, nil
}

// MustServerVersion is ParseServerVersion for constants in tables.
func MustServerVersion(s string) ServerVersion {
	v, err := ParseServerVersion(s)
	if err != nil {
		panic(err)
	}
	return v
}

// Known reports whether the version is set.
func (v ServerVersion) Known() bool { return len(v.Parts) > 0 }

// Compare returns -1, 0 or 1; missing parts count as 0.
func (v ServerVersion) Compare(o ServerVersion) int {
	n := max(len(v.Parts), len(o.Parts))
	for i := 0; i < n; i++ {
		a, b := 0, 0
		if i < len(v.Parts) {
			a = v.Parts[i]
		}
		if i < len(o.Parts) {
			b = o.Parts[i]
		}
		if a != b {
			if a < b {
				return -1
			}
			return 1
		}
	}
	return 0
}

// AtLeast reports v >= s, where s is a constant like "1.23.4".
func (v ServerVersion) AtLeast(s string) bool { return v.Compare(MustServerVersion(s)) >= 0 }

func (v ServerVersion) String() string {
	if !v.Known() {
		return "unknown"
	}
	parts := make([]string, len(v.Parts))
	for i, p := range v.Parts {
		parts[i] = strconv.Itoa(p)
	}
	return strings.Join(parts, ".")
}
