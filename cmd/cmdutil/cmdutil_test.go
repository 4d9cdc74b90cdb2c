package cmdutil

import (
	"errors"
	"strings"
	"testing"
)

func TestColorEnabled(t *testing.T) {
	tests := []struct {
		name string
		tty  bool
		env  map[string]string
		want bool
	}{
		{"tty", true, nil, true},
		{"pipe", false, nil, false},
		{"NO_COLOR wins over tty", true, map[string]string{"NO_COLOR": "1"}, false},
		{"NO_COLOR wins over force", false, map[string]string{"NO_COLOR": "1", "CLICOLOR_FORCE": "1"}, false},
		{"CLICOLOR=0", true, map[string]string{"CLICOLOR": "0"}, false},
		{"CLICOLOR_FORCE on a pipe", false, map[string]string{"CLICOLOR_FORCE": "1"}, true},
		{"CLICOLOR_FORCE=0 is off", false, map[string]string{"CLICOLOR_FORCE": "0"}, false},
		{"dumb terminal", true, map[string]string{"TERM": "dumb"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			getenv := func(k string) string { return tt.env[k] }
			if got := ColorEnabled(tt.tty, getenv); got != tt.want {
				t.Errorf("ColorEnabled = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParseFormat(t *testing.T) {
	if f, err := ParseFormat("JSON"); err != nil || f != FormatJSON {
		t.Errorf("JSON: %v %v", f, err)
	}
	_, err := ParseFormat("xml")
	if !IsFlagError(err) {
		t.Errorf("xml: want a FlagError, got %v", err)
	}
}

func TestExitErrorUnwraps(t *testing.T) {
	base := errors.New("boom")
	err := Exit(ExitRolledBack, base)
	var ee *ExitError
	if !errors.As(err, &ee) || ee.Code != 5 || !errors.Is(err, base) {
		t.Errorf("Exit wrapping broken: %v", err)
	}
}

func TestParseComponents(t *testing.T) {
	allowed := []string{"nginx", "apache", "openssl"}
	c, err := ParseComponents(nil, allowed)
	if err != nil || c != nil || !c.Has("nginx") || !c.Has("anything") {
		t.Fatalf("no values: %v %v, want nil (everything)", c, err)
	}
	c, err = ParseComponents([]string{"nginx", " OpenSSL"}, allowed)
	if err != nil || !c.Has("nginx") || !c.Has("openssl") || c.Has("apache") {
		t.Fatalf("nginx,openssl: %v %v", c, err)
	}
	if _, err := ParseComponents([]string{"nginx", "iis"}, allowed); err == nil || !IsFlagError(err) ||
		!strings.Contains(err.Error(), `invalid --only "iis": want nginx, apache, openssl`) {
		t.Fatalf("iis: %v, want a usage error naming the choices", err)
	}
}
